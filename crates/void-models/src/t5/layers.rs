//! The pieces of one T5 encoder block (transformers 4.57.1 `models/t5/modeling_t5.py`):
//! `T5LayerNorm`, `T5Attention` with the relative position bias, the (gated) feed-forward, and
//! `T5Block`. Every dtype cast is the one PyTorch makes, so bf16 rounds where transformers does.

use candle_core::{D, DType, Device, Module, Result, Tensor};
use candle_nn::{Embedding, Linear, VarBuilder, embedding, linear_no_bias};

use super::config::{Activation, T5Config};

/// The bucket of `relative_position` (key position − query position) in a bidirectional
/// (encoder) T5 attention: `T5Attention._relative_position_bucket(..., bidirectional=True)`.
///
/// Half the buckets are for keys after the query. Within each half, distances below a quarter of
/// `num_buckets` get a bucket each; larger ones share logarithmically wider buckets up to
/// `max_distance`, beyond which all fall in the last. The logarithm is evaluated in f32 and
/// truncated exactly as PyTorch does, so the buckets at exact powers (16, 32, 64) agree.
pub fn relative_position_bucket(
    relative_position: i64,
    num_buckets: usize,
    max_distance: usize,
) -> usize {
    let half = num_buckets / 2;
    let offset = if relative_position > 0 { half } else { 0 };
    let n = relative_position.unsigned_abs() as usize;
    let max_exact = half / 2;
    if n < max_exact {
        return offset + n;
    }
    // torch: log(n.float() / max_exact) / math.log(max_distance / max_exact) * (half - max_exact)
    let log_ratio = ((max_distance as f64) / (max_exact as f64)).ln() as f32;
    let large = (n as f32 / max_exact as f32).ln() / log_ratio * (half - max_exact) as f32;
    offset + (max_exact + large as usize).min(half - 1)
}

/// `T5LayerNorm`: RMSNorm without mean or bias. The variance is taken in f32 and the input
/// scaled in f32; the result is cast to the weight's dtype before the weight multiplies it.
#[derive(Clone, Debug)]
pub(super) struct T5LayerNorm {
    weight: Tensor,
    eps: f64,
}

impl T5LayerNorm {
    pub(super) fn new(size: usize, eps: f64, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            weight: vb.get(size, "weight")?,
            eps,
        })
    }

    pub(super) fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let x32 = x.to_dtype(DType::F32)?;
        let variance = x32.sqr()?.mean_keepdim(D::Minus1)?;
        let normed = x32.broadcast_mul(&(variance + self.eps)?.sqrt()?.recip()?)?;
        normed
            .to_dtype(self.weight.dtype())?
            .broadcast_mul(&self.weight)
    }
}

/// `T5Attention` (self-attention, no mask): `softmax(q kᵀ + bias) v`, no 1/√d_kv scaling (T5
/// folds it into the initialisation of `q`). Scores and bias are summed in the model dtype,
/// softmax runs in f32 and is cast back, as transformers does.
#[derive(Clone, Debug)]
pub(super) struct T5Attention {
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    relative_attention_bias: Option<Embedding>,
    num_heads: usize,
    d_kv: usize,
    num_buckets: usize,
    max_distance: usize,
}

impl T5Attention {
    pub(super) fn new(cfg: &T5Config, has_relative_bias: bool, vb: VarBuilder) -> Result<Self> {
        let (d, inner) = (cfg.d_model, cfg.inner_dim());
        let relative_attention_bias = if has_relative_bias {
            Some(embedding(
                cfg.relative_attention_num_buckets,
                cfg.num_heads,
                vb.pp("relative_attention_bias"),
            )?)
        } else {
            None
        };
        Ok(Self {
            q: linear_no_bias(d, inner, vb.pp("q"))?,
            k: linear_no_bias(d, inner, vb.pp("k"))?,
            v: linear_no_bias(d, inner, vb.pp("v"))?,
            o: linear_no_bias(inner, d, vb.pp("o"))?,
            relative_attention_bias,
            num_heads: cfg.num_heads,
            d_kv: cfg.d_kv,
            num_buckets: cfg.relative_attention_num_buckets,
            max_distance: cfg.relative_attention_max_distance,
        })
    }

    /// The position bias `(1, heads, len, len)` in the model dtype (`T5Attention.compute_bias`),
    /// or `None` for a layer without `relative_attention_bias`.
    pub(super) fn compute_bias(&self, len: usize, device: &Device) -> Result<Option<Tensor>> {
        let Some(table) = &self.relative_attention_bias else {
            return Ok(None);
        };
        // One bucket per relative position -(len-1)..=(len-1), then the (query, key) grid.
        // Index i holds relative position i - (len - 1); key k of query q is at k + len - 1 - q.
        let by_offset: Vec<u32> = (0..(2 * len).saturating_sub(1))
            .map(|i| {
                let relative = i as i64 - (len as i64 - 1);
                relative_position_bucket(relative, self.num_buckets, self.max_distance) as u32
            })
            .collect();
        let by_offset = &by_offset;
        let buckets: Vec<u32> = (0..len)
            .flat_map(|q| (0..len).map(move |k| by_offset[k + len - 1 - q]))
            .collect();
        let buckets = Tensor::from_vec(buckets, (len, len), device)?;
        // (len, len, heads) -> (1, heads, len, len)
        let bias = table
            .forward(&buckets)?
            .permute((2, 0, 1))?
            .unsqueeze(0)?
            .contiguous()?;
        Ok(Some(bias))
    }

    /// `x (b, l, d_model)`, `bias (1, heads, l, l)` -> `(b, l, d_model)`.
    pub(super) fn forward(&self, x: &Tensor, bias: &Tensor) -> Result<Tensor> {
        let (b, l, _) = x.dims3()?;
        let heads = |proj: &Linear| -> Result<Tensor> {
            proj.forward(x)?
                .reshape((b, l, self.num_heads, self.d_kv))?
                .transpose(1, 2)?
                .contiguous()
        };
        let (q, k, v) = (heads(&self.q)?, heads(&self.k)?, heads(&self.v)?);
        // (b, heads, l, l), in the model dtype, then + bias in the model dtype.
        let scores = q.matmul(&k.t()?.contiguous()?)?.broadcast_add(bias)?;
        let probs =
            candle_nn::ops::softmax_last_dim(&scores.to_dtype(DType::F32)?)?.to_dtype(x.dtype())?;
        let out = probs
            .matmul(&v)?
            .transpose(1, 2)?
            .reshape((b, l, self.num_heads * self.d_kv))?;
        self.o.forward(&out)
    }
}

/// `act(x)` with transformers' arithmetic in x's dtype.
fn activate(act: Activation, x: &Tensor) -> Result<Tensor> {
    let dtype = x.dtype();
    match act {
        Activation::Relu => x.relu(),
        // PyTorch's fused kernels compute in f32 and round once.
        Activation::GeluPytorchTanh => x.to_dtype(DType::F32)?.gelu()?.to_dtype(dtype),
        Activation::Gelu => x.to_dtype(DType::F32)?.gelu_erf()?.to_dtype(dtype),
        Activation::Silu => x.to_dtype(DType::F32)?.silu()?.to_dtype(dtype),
        Activation::GeluNew => gelu_new(x),
    }
}

/// transformers' `NewGELUActivation`,
/// `0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * pow(x, 3))))`, one PyTorch op at a time:
/// each op computes in f32 and rounds to x's dtype (`pow(x, 3)` is `x*x*x`, rounded twice).
/// In bf16 this reproduces PyTorch's CPU result bit for bit; in f32 the roundings are no-ops.
fn gelu_new(x: &Tensor) -> Result<Tensor> {
    let dtype = x.dtype();
    let round = |t: Tensor| t.to_dtype(dtype)?.to_dtype(DType::F32);
    let x32 = x.to_dtype(DType::F32)?;
    let cube = round((round(x32.sqr()?)? * &x32)?)?;
    let inner = round((&x32 + round((cube * 0.044715)?)?)?)?;
    let tanh = round(round((inner * (2.0 / std::f64::consts::PI).sqrt())?)?.tanh()?)?;
    let half = round((&x32 * 0.5)?)?;
    (half * round((tanh + 1.0)?)?)?.to_dtype(dtype)
}

/// `DenseReluDense`: `wo(act(wi_0 x) ⊙ wi_1 x)` (gated, `T5DenseGatedActDense`) or
/// `wo(act(wi x))` (`T5DenseActDense`). `wo` runs in the model dtype (transformers keeps it in
/// f32 only for f16 models).
#[derive(Clone, Debug)]
pub(super) enum DenseReluDense {
    /// `wi_0`, `wi_1`, `wo`.
    Gated {
        wi_0: Linear,
        wi_1: Linear,
        wo: Linear,
        act: Activation,
    },
    /// `wi`, `wo`.
    Plain {
        wi: Linear,
        wo: Linear,
        act: Activation,
    },
}

impl DenseReluDense {
    fn new(cfg: &T5Config, vb: VarBuilder) -> crate::Result<Self> {
        let (d, ff, act) = (cfg.d_model, cfg.d_ff, cfg.activation()?);
        Ok(if cfg.is_gated()? {
            Self::Gated {
                wi_0: linear_no_bias(d, ff, vb.pp("wi_0"))?,
                wi_1: linear_no_bias(d, ff, vb.pp("wi_1"))?,
                wo: linear_no_bias(ff, d, vb.pp("wo"))?,
                act,
            }
        } else {
            Self::Plain {
                wi: linear_no_bias(d, ff, vb.pp("wi"))?,
                wo: linear_no_bias(ff, d, vb.pp("wo"))?,
                act,
            }
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            Self::Gated {
                wi_0,
                wi_1,
                wo,
                act,
            } => {
                let gate = activate(*act, &wi_0.forward(x)?)?;
                wo.forward(&(gate * wi_1.forward(x)?)?)
            }
            Self::Plain { wi, wo, act } => wo.forward(&activate(*act, &wi.forward(x)?)?),
        }
    }
}

/// One encoder block (`encoder.block.{i}`): `layer.0` self-attention, `layer.1` feed-forward,
/// each pre-normed with a residual.
#[derive(Clone, Debug)]
pub(super) struct T5Block {
    attention: T5Attention,
    attention_norm: T5LayerNorm,
    ff: DenseReluDense,
    ff_norm: T5LayerNorm,
}

impl T5Block {
    /// Loads `encoder.block.{i}.*`; only block 0 holds `relative_attention_bias`.
    pub(super) fn new(cfg: &T5Config, first: bool, vb: VarBuilder) -> crate::Result<Self> {
        let (attn, ff) = (vb.pp("layer").pp("0"), vb.pp("layer").pp("1"));
        let eps = cfg.layer_norm_epsilon;
        Ok(Self {
            attention: T5Attention::new(cfg, first, attn.pp("SelfAttention"))?,
            attention_norm: T5LayerNorm::new(cfg.d_model, eps, attn.pp("layer_norm"))?,
            ff: DenseReluDense::new(cfg, ff.pp("DenseReluDense"))?,
            ff_norm: T5LayerNorm::new(cfg.d_model, eps, ff.pp("layer_norm"))?,
        })
    }

    /// The block's attention (block 0's computes the position bias all blocks share).
    pub(super) fn attention(&self) -> &T5Attention {
        &self.attention
    }

    /// `x (b, l, d_model)`, `bias (1, heads, l, l)` -> `(b, l, d_model)`.
    pub(super) fn forward(&self, x: &Tensor, bias: &Tensor) -> Result<Tensor> {
        let x = (x + self
            .attention
            .forward(&self.attention_norm.forward(x)?, bias)?)?;
        &x + self.ff.forward(&self.ff_norm.forward(&x)?)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_of_the_t5_defaults() {
        // 32 buckets, max distance 128: 16 per direction, 0..8 exact, then log-spaced.
        let b = |r| relative_position_bucket(r, 32, 128);
        assert_eq!([b(0), b(-1), b(-7), b(1), b(7)], [0, 1, 7, 17, 23]);
        // Exact powers of the log base land on their bucket, not one below (f32 as in torch).
        assert_eq!([b(-16), b(-32), b(-64), b(-128)], [10, 12, 14, 15]);
        assert_eq!([b(16), b(32), b(64), b(1000)], [26, 28, 30, 31]);
    }

    #[test]
    fn gelu_new_in_f32_is_the_tanh_gelu() -> Result<()> {
        let x = Tensor::randn(0f32, 3., 4096, &Device::Cpu)?;
        let diff = (gelu_new(&x)? - x.gelu()?)?
            .abs()?
            .max_all()?
            .to_scalar::<f32>()?;
        assert!(diff < 1e-5, "{diff}");
        Ok(())
    }
}

//! Small pieces SAM2's heads share: the `MLP` class (ReLU between layers, `layers.{i}` keys)
//! and `LayerNorm2d` (per-pixel LayerNorm over channels).

use candle_core::{Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder, linear};

/// `sam2_utils.MLP`: `num_layers` linear layers, ReLU after all but the last, an optional
/// sigmoid at the end.
#[derive(Clone, Debug)]
pub struct Mlp {
    layers: Vec<Linear>,
    sigmoid: bool,
}

impl Mlp {
    /// Loads `layers.{0..num_layers}` from `vb`.
    pub fn new(
        input: usize,
        hidden: usize,
        output: usize,
        num_layers: usize,
        sigmoid: bool,
        vb: VarBuilder,
    ) -> Result<Self> {
        let layers = (0..num_layers)
            .map(|i| {
                let n_in = if i == 0 { input } else { hidden };
                let n_out = if i + 1 == num_layers { output } else { hidden };
                linear(n_in, n_out, vb.pp("layers").pp(i))
            })
            .collect::<Result<_>>()?;
        Ok(Self { layers, sigmoid })
    }
}

impl Module for Mlp {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut x = x.clone();
        for (i, layer) in self.layers.iter().enumerate() {
            x = layer.forward(&x)?;
            if i + 1 < self.layers.len() {
                x = x.relu()?;
            }
        }
        if self.sigmoid {
            x = candle_nn::ops::sigmoid(&x)?;
        }
        Ok(x)
    }
}

/// `LayerNorm2d`: `w[c]·(x − mean_c)/sqrt(var_c + eps) + b[c]`, statistics over the channels
/// of each pixel of a `(b, c, h, w)` map.
#[derive(Clone, Debug)]
pub struct LayerNorm2d {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl LayerNorm2d {
    /// Loads `weight` and `bias` `(channels)` from `vb`.
    pub fn new(channels: usize, eps: f64, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            weight: vb.get(channels, "weight")?.reshape((1, channels, 1, 1))?,
            bias: vb.get(channels, "bias")?.reshape((1, channels, 1, 1))?,
            eps,
        })
    }
}

impl Module for LayerNorm2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mean = x.mean_keepdim(1)?;
        let centred = x.broadcast_sub(&mean)?;
        let var = centred.sqr()?.mean_keepdim(1)?;
        centred
            .broadcast_div(&(var + self.eps)?.sqrt()?)?
            .broadcast_mul(&self.weight)?
            .broadcast_add(&self.bias)
    }
}

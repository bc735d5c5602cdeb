//! SAM2's prompt encoder (`sam/prompt_encoder.py`): points (boxes arrive as two corner points
//! labelled 2 and 3) to sparse tokens through random Fourier features, and the dense
//! "no mask" embedding with its grid position encoding.

use candle_core::{D, DType, Result, Tensor};
use candle_nn::VarBuilder;

/// `PositionEmbeddingRandom` and the point and "no mask" embeddings.
#[derive(Clone, Debug)]
pub struct PromptEncoder {
    /// `(2, E/2)`: row 0 multiplies x, row 1 y.
    gaussian: Tensor,
    /// Labels 0 (negative), 1 (positive), 2 (box top-left), 3 (box bottom-right), each `(1, E)`.
    point_embeddings: Vec<Tensor>,
    not_a_point: Tensor,
    no_mask: Tensor,
    image_size: usize,
    grid: usize,
}

impl PromptEncoder {
    /// Loads `sam_prompt_encoder.*` (the point and mask embeddings, the Fourier matrix) from
    /// `vb` for images of `image_size` and an embedding grid of `image_size / 16`.
    pub fn new(embed_dim: usize, image_size: usize, vb: VarBuilder) -> Result<Self> {
        let point_embeddings = (0..4)
            .map(|i| {
                vb.pp("point_embeddings")
                    .pp(i)
                    .get((1, embed_dim), "weight")
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            gaussian: vb
                .pp("pe_layer")
                .get((2, embed_dim / 2), "positional_encoding_gaussian_matrix")?,
            point_embeddings,
            not_a_point: vb.pp("not_a_point_embed").get((1, embed_dim), "weight")?,
            no_mask: vb.pp("no_mask_embed").get((1, embed_dim), "weight")?,
            image_size,
            grid: image_size / 16,
        })
    }

    /// `[sin, cos](2π · (2c − 1) · G)` of coordinates `(..., 2)` normalised to [0, 1].
    fn fourier(&self, coords: &Tensor) -> Result<Tensor> {
        let c = ((coords * 2.0)? - 1.0)?;
        let c = (c.broadcast_matmul(&self.gaussian)? * (2.0 * std::f64::consts::PI))?;
        Tensor::cat(&[c.sin()?, c.cos()?], D::Minus1)
    }

    /// The position encoding of the embedding grid's cell centres, `(1, E, g, g)`.
    pub fn dense_pe(&self) -> Result<Tensor> {
        let g = self.grid;
        let device = self.gaussian.device();
        let centres = (Tensor::arange(1f32, g as f32 + 1.0, device)? - 0.5)? / g as f64;
        let centres = centres?;
        let x = centres.reshape((1, g))?.broadcast_as((g, g))?;
        let y = centres.reshape((g, 1))?.broadcast_as((g, g))?;
        self.fourier(&Tensor::stack(&[x, y], D::Minus1)?)?
            .permute((2, 0, 1))?
            .unsqueeze(0)
    }

    /// Sparse tokens `(b, n + 1, E)` of `coords (b, n, 2)` in model pixels (x, y) and their
    /// `labels (b, n)`: a padding point (label −1) is appended, as SAM2 always does.
    pub fn embed_points(&self, coords: &Tensor, labels: &Tensor) -> Result<Tensor> {
        let (b, _, _) = coords.dims3()?;
        let device = coords.device();
        let coords = Tensor::cat(
            &[
                (coords.to_dtype(DType::F32)? + 0.5)?,
                Tensor::zeros((b, 1, 2), DType::F32, device)?,
            ],
            1,
        )?;
        let labels = Tensor::cat(
            &[
                labels.to_dtype(DType::F32)?,
                Tensor::full(-1f32, (b, 1), device)?,
            ],
            1,
        )?
        .unsqueeze(D::Minus1)?;
        let size = self.image_size as f64;
        let pe = self.fourier(&(coords / size)?)?;
        let is = |v: f64| labels.eq(v)?.to_dtype(DType::F32);
        let mut tokens = pe.broadcast_mul(&(1.0 - is(-1.0)?)?)?;
        tokens = tokens.broadcast_add(&is(-1.0)?.broadcast_mul(&self.not_a_point)?)?;
        for (k, embedding) in self.point_embeddings.iter().enumerate() {
            tokens = tokens.broadcast_add(&is(k as f64)?.broadcast_mul(embedding)?)?;
        }
        Ok(tokens)
    }

    /// The dense embedding without a mask prompt: `no_mask_embed` on every cell, `(b, E, g, g)`.
    pub fn no_mask_dense(&self, b: usize) -> Result<Tensor> {
        let e = self.no_mask.dim(1)?;
        self.no_mask
            .reshape((1, e, 1, 1))?
            .broadcast_as((b, e, self.grid, self.grid))?
            .contiguous()
    }
}

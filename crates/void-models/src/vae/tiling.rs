//! Spatially tiled coding (VOID's / diffusers' `tiled_encode` and `tiled_decode`): the frame is
//! cut into overlapping tiles that are coded one by one, and the overlaps are cross-faded, so
//! peak memory follows the tile instead of the frame. Tiles see only their own pixels (and
//! GroupNorm statistics per tile), so the result differs slightly from untiled coding.

use candle_core::{DType, Tensor};

use super::config::VaeConfig;
use crate::{Error, Result};

/// Tile size and overlap, in video pixels.
#[derive(Clone, Debug, PartialEq)]
pub struct Tiling {
    /// Tile height in pixels (diffusers: `sample_height / 2`, 240).
    pub tile_height: usize,
    /// Tile width in pixels (diffusers: `sample_width / 2`, 360).
    pub tile_width: usize,
    /// Fraction of a tile's height shared with the next tile down (1/6).
    pub overlap_height: f64,
    /// Fraction of a tile's width shared with the next tile right (1/5).
    pub overlap_width: f64,
}

impl Tiling {
    /// The reference's tiling for this VAE: half the training size, overlaps 1/6 and 1/5.
    pub fn for_config(config: &VaeConfig) -> Self {
        Self {
            tile_height: config.sample_height / 2,
            tile_width: config.sample_width / 2,
            overlap_height: 1.0 / 6.0,
            overlap_width: 1.0 / 5.0,
        }
    }

    /// Codes `x` tile by tile with `code` and blends the results; `factor` is pixels per latent
    /// pixel, `encode` says whether `x` is video (else latents). Falls back to one call of
    /// `code` when `x` fits in one tile.
    pub(super) fn run(
        &self,
        x: &Tensor,
        factor: usize,
        encode: bool,
        progress: &mut dyn FnMut(usize, usize),
        mut code: impl FnMut(&Tensor) -> Result<Tensor>,
    ) -> Result<Tensor> {
        let (_, _, _, h, w) = x.dims5()?;
        let sample = (self.tile_height, self.tile_width);
        let latent = (self.tile_height / factor, self.tile_width / factor);
        // Input-side tile and stride, output-side blend width and kept size (Python's int()).
        let (tile, out_tile) = if encode {
            (sample, latent)
        } else {
            (latent, sample)
        };
        let step = (
            (tile.0 as f64 * (1.0 - self.overlap_height)) as usize,
            (tile.1 as f64 * (1.0 - self.overlap_width)) as usize,
        );
        let blend = (
            (out_tile.0 as f64 * self.overlap_height) as usize,
            (out_tile.1 as f64 * self.overlap_width) as usize,
        );
        let keep = (out_tile.0 - blend.0, out_tile.1 - blend.1);
        if h <= tile.0 && w <= tile.1 {
            progress(1, 1);
            return code(x);
        }
        self.check(factor, tile, step, encode)?;
        let starts_h: Vec<usize> = (0..h).step_by(step.0).collect();
        let starts_w: Vec<usize> = (0..w).step_by(step.1).collect();
        let total = starts_h.len() * starts_w.len();
        let mut rows: Vec<Vec<Tensor>> = Vec::with_capacity(starts_h.len());
        for &i in &starts_h {
            let mut row = Vec::with_capacity(starts_w.len());
            for &j in &starts_w {
                let t = x
                    .narrow(3, i, tile.0.min(h - i))?
                    .narrow(4, j, tile.1.min(w - j))?;
                row.push(code(&t)?);
                progress(rows.len() * starts_w.len() + row.len(), total);
            }
            rows.push(row);
        }
        // Blend in place like the reference: a tile is faded with its (already blended)
        // upper and left neighbours, then cropped.
        let mut out_rows = Vec::with_capacity(rows.len());
        for i in 0..rows.len() {
            let mut pieces = Vec::with_capacity(rows[i].len());
            for j in 0..rows[i].len() {
                let mut t = rows[i][j].clone();
                if i > 0 {
                    t = fade(&rows[i - 1][j], &t, blend.0, 3)?;
                }
                if j > 0 {
                    t = fade(&rows[i][j - 1], &t, blend.1, 4)?;
                }
                let (th, tw) = (t.dim(3)?, t.dim(4)?);
                pieces.push(
                    t.narrow(3, 0, keep.0.min(th))?
                        .narrow(4, 0, keep.1.min(tw))?,
                );
                rows[i][j] = t;
            }
            out_rows.push(Tensor::cat(&pieces, 4)?);
        }
        Ok(Tensor::cat(&out_rows, 3)?)
    }

    /// Tile strides must land on whole latent pixels.
    fn check(
        &self,
        factor: usize,
        tile: (usize, usize),
        step: (usize, usize),
        encode: bool,
    ) -> Result<()> {
        let unit = if encode { factor } else { 1 };
        let bad = tile.0 == 0
            || tile.1 == 0
            || step.0 == 0
            || step.1 == 0
            || !self.tile_height.is_multiple_of(factor)
            || !self.tile_width.is_multiple_of(factor)
            || !step.0.is_multiple_of(unit)
            || !step.1.is_multiple_of(unit);
        if bad {
            return Err(Error::Unsupported(format!(
                "VAE tiles of {}x{} px with overlaps {:.3}/{:.3}: tiles and their strides must be \
                 whole multiples of {factor} px",
                self.tile_height, self.tile_width, self.overlap_height, self.overlap_width
            )));
        }
        Ok(())
    }
}

/// `blend_v` / `blend_h`: the first `extent` rows (dim 3) or columns (dim 4) of `b` become
/// `a`'s last ones weighted `1 - k/extent` plus `b`'s weighted `k/extent`; computed in f32.
fn fade(a: &Tensor, b: &Tensor, extent: usize, dim: usize) -> Result<Tensor> {
    let extent = extent.min(a.dim(dim)?).min(b.dim(dim)?);
    if extent == 0 {
        return Ok(b.clone());
    }
    let mut shape = vec![1; 5];
    shape[dim] = extent;
    let ramp: Vec<f32> = (0..extent)
        .map(|k| (k as f64 / extent as f64) as f32)
        .collect();
    let keep: Vec<f32> = (0..extent)
        .map(|k| (1.0 - k as f64 / extent as f64) as f32)
        .collect();
    let ramp = Tensor::from_vec(ramp, shape.clone(), b.device())?;
    let keep = Tensor::from_vec(keep, shape, b.device())?;
    let a_end = a
        .narrow(dim, a.dim(dim)? - extent, extent)?
        .to_dtype(DType::F32)?;
    let b_start = b.narrow(dim, 0, extent)?.to_dtype(DType::F32)?;
    let head = a_end
        .broadcast_mul(&keep)?
        .add(&b_start.broadcast_mul(&ramp)?)?
        .to_dtype(b.dtype())?;
    let rest = b.narrow(dim, extent, b.dim(dim)? - extent)?;
    Ok(Tensor::cat(&[&head, &rest], dim)?)
}

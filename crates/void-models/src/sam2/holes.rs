//! `fill_holes_in_mask_scores` of the SAM2 video predictor: background components (score ≤ 0,
//! 8-connected, touching the border or not) of at most `max_area` pixels get the score 0.1.
//! The reference does this with a CUDA extension and silently skips it where the extension is
//! missing (CPU installs); here it always runs when `max_area > 0`.

use candle_core::{DType, Device, Result, Tensor};

/// The score given to filled holes.
const HOLE_SCORE: f32 = 0.1;

/// Fills the small background components of each `(h, w)` map of `masks (b, 1, h, w)`.
pub fn fill_holes(masks: &Tensor, max_area: usize) -> Result<Tensor> {
    if max_area == 0 {
        return Ok(masks.clone());
    }
    let (b, c, h, w) = masks.dims4()?;
    let mut values = masks
        .to_dtype(DType::F32)?
        .flatten_all()?
        .to_vec1::<f32>()?;
    for map in values.chunks_mut(h * w) {
        let areas = background_areas(map, h, w);
        for (v, area) in map.iter_mut().zip(areas) {
            if area > 0 && area <= max_area {
                *v = HOLE_SCORE;
            }
        }
    }
    Tensor::from_vec(values, (b, c, h, w), &Device::Cpu)?
        .to_dtype(masks.dtype())?
        .to_device(masks.device())
}

/// For every pixel of a `h x w` map: the pixel count of its 8-connected component of
/// background (score ≤ 0), or 0 for foreground pixels.
pub fn background_areas(map: &[f32], h: usize, w: usize) -> Vec<usize> {
    let mut label = vec![usize::MAX; h * w];
    let mut sizes = Vec::new();
    let mut stack = Vec::new();
    for start in 0..h * w {
        if map[start] > 0.0 || label[start] != usize::MAX {
            continue;
        }
        let id = sizes.len();
        let mut size = 0;
        label[start] = id;
        stack.push(start);
        while let Some(p) = stack.pop() {
            size += 1;
            let (y, x) = ((p / w) as i64, (p % w) as i64);
            for dy in -1..=1 {
                for dx in -1..=1 {
                    let (ny, nx) = (y + dy, x + dx);
                    if ny < 0 || nx < 0 || ny >= h as i64 || nx >= w as i64 {
                        continue;
                    }
                    let q = ny as usize * w + nx as usize;
                    if map[q] <= 0.0 && label[q] == usize::MAX {
                        label[q] = id;
                        stack.push(q);
                    }
                }
            }
        }
        sizes.push(size);
    }
    label
        .into_iter()
        .map(|l| if l == usize::MAX { 0 } else { sizes[l] })
        .collect()
}

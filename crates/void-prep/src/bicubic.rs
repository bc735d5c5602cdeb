//! Pillow's `Image.resize(size)` with its default filter for RGB images, BICUBIC (a = −0.5),
//! bit for bit: what SAM2's video predictor applies to every frame (`_load_img_as_tensor`).
//!
//! Pillow resamples separably, horizontal pass first into an 8-bit image, then vertical; each
//! output pixel is a weighted sum over a support widened by the scale when downsampling
//! (antialiasing), weights normalised and converted to 22-bit fixed point, sums rounded and
//! clipped to 0..=255 (`libImaging/Resample.c`).
//!
//! Pillow 13 sometimes runs the vertical pass first (seen for portrait frames, e.g. 1080x1920
//! to 1024x1024, and for mixed up/down scaling; the rule is not documented). Landscape frames
//! downscaled to a square, SAM2's case, keep the horizontal-first order in every Pillow
//! version; elsewhere the two orders differ by a rounding step on some pixels.

/// Fixed-point precision of Pillow's 8-bit resampling (`PRECISION_BITS = 32 − 8 − 2`).
const PRECISION_BITS: u32 = 22;

/// Pillow's bicubic kernel with a = −0.5.
fn bicubic(x: f64) -> f64 {
    const A: f64 = -0.5;
    let x = x.abs();
    if x < 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        (((x - 5.0) * x + 8.0) * x - 4.0) * A
    } else {
        0.0
    }
}

/// For each output index: the first input index and the fixed-point weights
/// (`precompute_coeffs` + `normalize_coeffs_8bpc`).
fn coefficients(input: usize, output: usize) -> Vec<(usize, Vec<i32>)> {
    let scale = input as f64 / output as f64;
    let filter_scale = scale.max(1.0);
    let support = 2.0 * filter_scale;
    (0..output)
        .map(|o| {
            let center = (o as f64 + 0.5) * scale;
            let ss = 1.0 / filter_scale;
            let xmin = ((center - support + 0.5) as i64).max(0) as usize;
            let xmax = ((center + support + 0.5) as i64).min(input as i64) as usize;
            let weights: Vec<f64> = (xmin..xmax)
                .map(|x| bicubic((x as f64 - center + 0.5) * ss))
                .collect();
            let total: f64 = weights.iter().sum();
            let fixed = weights
                .iter()
                .map(|w| {
                    let v = w / total * f64::from(1u32 << PRECISION_BITS);
                    (if v < 0.0 { v - 0.5 } else { v + 0.5 }) as i32
                })
                .collect();
            (xmin, fixed)
        })
        .collect()
}

/// A fixed-point sum back to 8 bits, rounded (the sum starts at one half) and clipped.
fn clip8(sum: i64) -> u8 {
    (sum >> PRECISION_BITS).clamp(0, 255) as u8
}

/// Resizes an `h x w` image of `channels` interleaved 8-bit channels to `out_h x out_w`.
pub fn resize_bicubic(
    pixels: &[u8],
    w: usize,
    h: usize,
    channels: usize,
    out_w: usize,
    out_h: usize,
) -> Vec<u8> {
    let round = 1i64 << (PRECISION_BITS - 1);
    // Horizontal pass: h x out_w.
    let horizontal = if out_w == w {
        pixels.to_vec()
    } else {
        let coeffs = coefficients(w, out_w);
        let mut out = vec![0u8; h * out_w * channels];
        for y in 0..h {
            for (x, (start, k)) in coeffs.iter().enumerate() {
                for c in 0..channels {
                    let sum = k.iter().enumerate().fold(round, |acc, (i, &kk)| {
                        acc + i64::from(pixels[(y * w + start + i) * channels + c]) * i64::from(kk)
                    });
                    out[(y * out_w + x) * channels + c] = clip8(sum);
                }
            }
        }
        out
    };
    if out_h == h {
        return horizontal;
    }
    // Vertical pass: out_h x out_w.
    let coeffs = coefficients(h, out_h);
    let mut out = vec![0u8; out_h * out_w * channels];
    for (y, (start, k)) in coeffs.iter().enumerate() {
        for x in 0..out_w {
            for c in 0..channels {
                let sum = k.iter().enumerate().fold(round, |acc, (i, &kk)| {
                    acc + i64::from(horizontal[((start + i) * out_w + x) * channels + c])
                        * i64::from(kk)
                });
                out[(y * out_w + x) * channels + c] = clip8(sum);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A constant image stays constant (weights sum to one), up- and downsampling.
    #[test]
    fn constant_images_stay_constant() {
        let img = vec![77u8; 13 * 9 * 3];
        for (ow, oh) in [(26, 18), (5, 4), (13, 30)] {
            assert!(
                resize_bicubic(&img, 13, 9, 3, ow, oh)
                    .iter()
                    .all(|&v| v == 77)
            );
        }
    }
}

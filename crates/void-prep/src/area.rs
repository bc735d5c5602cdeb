//! PyTorch's `F.interpolate(mode="area")`, i.e. `adaptive_avg_pool2d`, on 8-bit frames.
//!
//! Output pixel `(i, j)` is the mean of input rows `[floor(i·h/H), ceil((i+1)·h/H))` and columns
//! `[floor(j·w/W), ceil((j+1)·w/W))`. For non-integer ratios neighbouring windows overlap; this is
//! **not** OpenCV's `INTER_AREA`, which weights partial pixels.
//!
//! Sums are taken over the integer pixel values, which is exact. For masks the reference pools
//! the raw 0..255 values and divides the (exact) float sum by the window height, then by its
//! width ([`AreaResize::resize_gray`] repeats those two f32 divisions, so it is bit-exact). For
//! video the reference pools `u8 / 255` in f32; [`AreaResize::resize_rgb_unit`] divides the exact
//! integer sum once in f64, which differs from torch's f32 accumulation only by its rounding
//! (relative error around 1e-7).

use crate::SampleSize;

/// A resize from one input size to one output size, with its windows precomputed.
#[derive(Clone, Debug)]
pub struct AreaResize {
    in_width: usize,
    rows: Vec<(usize, usize)>,
    cols: Vec<(usize, usize)>,
}

/// ATen's `start_index`/`end_index` for every output position along one axis.
fn windows(input: usize, output: usize) -> Vec<(usize, usize)> {
    (0..output)
        .map(|i| (i * input / output, 1 + ((i + 1) * input - 1) / output))
        .collect()
}

impl AreaResize {
    /// A resize of `in_width`x`in_height` frames to `out`.
    ///
    /// Window sums are kept in `u32`, which is exact while a window holds fewer than 2^24
    /// pixels (an input over 4096 times larger than the output in both directions).
    pub fn new(in_width: u32, in_height: u32, out: SampleSize) -> Self {
        let (in_width, in_height) = (in_width as usize, in_height as usize);
        Self {
            in_width,
            rows: windows(in_height, out.height as usize),
            cols: windows(in_width, out.width as usize),
        }
    }

    /// Output pixels per channel.
    pub fn out_pixels(&self) -> usize {
        self.rows.len() * self.cols.len()
    }

    /// Resizes an interleaved RGB8 frame (`in_height × in_width × 3`) into planar values in
    /// [0, 1] (`3 × out_height × out_width`): the reference's `area(u8 / 255)`.
    pub fn resize_rgb_unit(&self, src: &[u8], dst: &mut [f32]) {
        let plane = self.out_pixels();
        let sums = self.window_sums::<3>(src);
        for (i, px) in sums.chunks_exact(3).enumerate() {
            let count = self.window_pixels(i);
            for (c, &sum) in px.iter().enumerate() {
                dst[c * plane + i] = (f64::from(sum) / (255.0 * count)) as f32;
            }
        }
    }

    /// Resizes a one-channel 8-bit frame (`in_height × in_width`) into values on 0..255
    /// (`out_height × out_width`), bit-exact with torch's f32 `area` of the same values.
    pub fn resize_gray(&self, src: &[u8], dst: &mut [f32]) {
        let ncols = self.cols.len();
        for (i, (out, &sum)) in dst.iter_mut().zip(&self.window_sums::<1>(src)).enumerate() {
            let (h0, h1) = self.rows[i / ncols];
            let (w0, w1) = self.cols[i % ncols];
            // ATen: `sum / kh / kw` with a float sum, exact while sum < 2^24.
            *out = sum as f32 / (h1 - h0) as f32 / (w1 - w0) as f32;
        }
    }

    /// Pixels in the window of output pixel `i` (row-major).
    fn window_pixels(&self, i: usize) -> f64 {
        let ncols = self.cols.len();
        let (h0, h1) = self.rows[i / ncols];
        let (w0, w1) = self.cols[i % ncols];
        ((h1 - h0) * (w1 - w0)) as f64
    }

    /// Integer window sums, `out_height × out_width × C`: the input rows of each output row's
    /// window are added column by column (vectorisable), then summed across column windows.
    fn window_sums<const C: usize>(&self, src: &[u8]) -> Vec<u32> {
        let row_len = self.in_width * C;
        debug_assert!(
            src.len() >= row_len * self.rows.last().map_or(0, |r| r.1),
            "frame too small"
        );
        let out_row = self.cols.len() * C;
        let mut out = vec![0u32; self.rows.len() * out_row];
        let mut column_sums = vec![0u32; row_len];
        for (&(h0, h1), out_row) in self.rows.iter().zip(out.chunks_exact_mut(out_row)) {
            column_sums.fill(0);
            for row in src[h0 * row_len..h1 * row_len].chunks_exact(row_len) {
                for (a, &v) in column_sums.iter_mut().zip(row) {
                    *a += u32::from(v);
                }
            }
            for (sums, &(w0, w1)) in out_row.chunks_exact_mut(C).zip(&self.cols) {
                for px in column_sums[w0 * C..w1 * C].chunks_exact(C) {
                    for c in 0..C {
                        sums[c] += px[c];
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_follow_aten() {
        // 5 -> 3: [0,2) [1,4) [3,5): overlapping, unlike INTER_AREA.
        assert_eq!(windows(5, 3), vec![(0, 2), (1, 4), (3, 5)]);
        // Upsampling repeats or pairs inputs.
        assert_eq!(windows(2, 4), vec![(0, 1), (0, 1), (1, 2), (1, 2)]);
        assert_eq!(windows(2160, 384)[0], (0, 6));
        assert_eq!(windows(2160, 384)[1], (5, 12));
    }

    #[test]
    fn gray_means_and_rgb_planes() {
        let size = SampleSize {
            height: 16,
            width: 16,
        };
        // 32x32 -> 16x16: plain 2x2 means.
        let src: Vec<u8> = (0..32 * 32).map(|i| (i % 7 * 30) as u8).collect();
        let mut out = vec![0f32; 256];
        AreaResize::new(32, 32, size).resize_gray(&src, &mut out);
        let expect = |y: usize, x: usize| {
            let p = |yy: usize, xx: usize| f32::from(src[yy * 32 + xx]);
            (p(2 * y, 2 * x) + p(2 * y, 2 * x + 1) + p(2 * y + 1, 2 * x) + p(2 * y + 1, 2 * x + 1))
                / 4.0
        };
        for y in 0..16 {
            for x in 0..16 {
                assert_eq!(out[y * 16 + x], expect(y, x));
            }
        }
        // RGB goes planar and to [0, 1].
        let rgb: Vec<u8> = (0..16 * 16).flat_map(|_| [255u8, 0, 51]).collect();
        let mut planes = vec![0f32; 3 * 256];
        AreaResize::new(16, 16, size).resize_rgb_unit(&rgb, &mut planes);
        assert!(planes[..256].iter().all(|&v| v == 1.0));
        assert!(planes[256..512].iter().all(|&v| v == 0.0));
        assert!(planes[512..].iter().all(|&v| v == 0.2));
    }
}

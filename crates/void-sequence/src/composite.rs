//! Putting the result back into the original: the generated frames resized to the input's
//! native size (bilinear) and blended with the original pixels where the quadmask says keep.
//!
//! The keep region (quadmask level 255) is eroded by the feather radius and then box-blurred
//! by it, so the blend weight is exactly 0 everywhere the mask says remove, overlap or affected
//! (nothing of the removed object leaks back), rises to 1 over `feather` pixels inside the
//! keep region, and is 1 beyond: original pixels there are returned unchanged.

use std::path::Path;

use void_prep::mask::quantize;
use void_video::decode::Pixels;
use void_video::{DecodeOptions, Encoding, Ffmpeg, Frame, FrameReader, PixelFormat, VideoWriter};

use crate::{Pass1Inputs, Result};

/// Writes `<frames>` (`f x 3 x h x w` planar f32 in [0, 1], the padded clip at the model's
/// size) composited into the original video at its native size, frame rate and frame count,
/// to `path` (through a temporary file). `feather` is the seam's width in native pixels.
///
/// # Errors
/// Decoding or encoding errors naming the file.
pub fn write_composite(
    ffmpeg: &Ffmpeg,
    inputs: &Pass1Inputs,
    frames: &[f32],
    path: &Path,
    feather: usize,
    crf: u8,
) -> Result<()> {
    let (h, w) = (
        inputs.sample_size.height as usize,
        inputs.sample_size.width as usize,
    );
    let video_info = &inputs.source.video;
    let mask_info = &inputs.source.mask;
    let (nw, nh) = (video_info.width as usize, video_info.height as usize);
    let count = inputs.source.video_frames.min(inputs.padded_frames());
    let limit = |n| DecodeOptions {
        pixels: n,
        max_frames: Some(count),
    };
    let mut video = FrameReader::open(ffmpeg, video_info, limit(Pixels::Rgb))?;
    let mut mask = FrameReader::open(ffmpeg, mask_info, limit(Pixels::Red))?;
    let mut writer = VideoWriter::create(
        ffmpeg,
        path,
        nw as u32,
        nh as u32,
        video_info.fps,
        Encoding::H264 { crf },
    )?;
    let mut last_mask: Option<Vec<f32>> = None;
    for i in 0..count {
        let Some(original) = video.next().transpose()? else {
            break;
        };
        // A mask shorter than the video keeps its last frame (as the padding would).
        if let Some(m) = mask.next().transpose()? {
            let keep = keep_mask(&m, nw, nh);
            last_mask = Some(feathered(&keep, nw, nh, feather));
            mask.recycle(m);
        }
        let alpha = last_mask.as_deref().unwrap_or(&[]);
        let out = &frames[i * 3 * h * w..(i + 1) * 3 * h * w];
        let mut data = Vec::with_capacity(nw * nh * 3);
        for y in 0..nh {
            for x in 0..nw {
                let p = y * nw + x;
                let a = alpha.get(p).copied().unwrap_or(0.0);
                for c in 0..3 {
                    let generated = bilinear(&out[c * h * w..(c + 1) * h * w], w, h, x, y, nw, nh);
                    let orig = f32::from(original.data[p * 3 + c]) / 255.0;
                    let v = a * orig + (1.0 - a) * generated;
                    data.push((v.clamp(0.0, 1.0) * 255.0 + 0.5) as u8);
                }
            }
        }
        video.recycle(original);
        writer.write(&Frame {
            width: nw as u32,
            height: nh as u32,
            format: PixelFormat::Rgb24,
            data,
        })?;
    }
    writer.finish()?;
    Ok(())
}

/// 1 where the mask frame (red channel, any size) quantises to keep (255), at `nw x nh`
/// (nearest neighbour when the mask's size differs from the video's).
fn keep_mask(mask: &Frame, nw: usize, nh: usize) -> Vec<u8> {
    let (mw, mh) = (mask.width as usize, mask.height as usize);
    let mut keep = Vec::with_capacity(nw * nh);
    for y in 0..nh {
        let my = (y * mh / nh).min(mh - 1);
        for x in 0..nw {
            let mx = (x * mw / nw).min(mw - 1);
            keep.push(u8::from(
                quantize(f32::from(mask.data[my * mw + mx])) == 255,
            ));
        }
    }
    keep
}

/// The blend weight: `keep` eroded by `r` (a pixel stays only if its whole (2r+1)² square is
/// keep), then averaged over the same square. 0 outside `keep`, 1 deeper than 2r inside.
fn feathered(keep: &[u8], w: usize, h: usize, r: usize) -> Vec<f32> {
    if r == 0 {
        return keep.iter().map(|&k| f32::from(k)).collect();
    }
    let full = ((2 * r + 1) * (2 * r + 1)) as u32;
    let eroded: Vec<u32> = box_sum(
        &keep.iter().map(|&k| u32::from(k)).collect::<Vec<_>>(),
        w,
        h,
        r,
    )
    .into_iter()
    .map(|s| u32::from(s == full))
    .collect();
    box_sum(&eroded, w, h, r)
        .into_iter()
        .map(|s| s as f32 / full as f32)
        .collect()
}

/// Sum over the `(2r+1)²` square around each pixel, the frame extended by repeating its edge
/// pixels (so the frame's border is not a seam).
fn box_sum(v: &[u32], w: usize, h: usize, r: usize) -> Vec<u32> {
    let run = |get: &dyn Fn(usize) -> u32, n: usize, out: &mut dyn FnMut(usize, u32)| {
        let mut prefix = vec![0u32; n + 1];
        for i in 0..n {
            prefix[i + 1] = prefix[i] + get(i);
        }
        for i in 0..n {
            let lo = i.saturating_sub(r);
            let hi = (i + r + 1).min(n);
            let below = (r - (i - lo)) as u32 * get(0);
            let above = (i + r + 1 - hi) as u32 * get(n - 1);
            out(i, prefix[hi] - prefix[lo] + below + above);
        }
    };
    let mut rows = vec![0u32; w * h];
    for y in 0..h {
        run(&|x| v[y * w + x], w, &mut |x, s| rows[y * w + x] = s);
    }
    let mut out = vec![0u32; w * h];
    for x in 0..w {
        run(&|y| rows[y * w + x], h, &mut |y, s| out[y * w + x] = s);
    }
    out
}

/// Bilinear sample of plane `src` (`w x h`) at the centre of output pixel (x, y) of an
/// `nw x nh` image (half-pixel centres, edges clamped: `align_corners=False`).
fn bilinear(src: &[f32], w: usize, h: usize, x: usize, y: usize, nw: usize, nh: usize) -> f32 {
    let sx = ((x as f32 + 0.5) * w as f32 / nw as f32 - 0.5).clamp(0.0, (w - 1) as f32);
    let sy = ((y as f32 + 0.5) * h as f32 / nh as f32 - 0.5).clamp(0.0, (h - 1) as f32);
    let (x0, y0) = (sx.floor() as usize, sy.floor() as usize);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
    let top = src[y0 * w + x0] * (1.0 - fx) + src[y0 * w + x1] * fx;
    let bottom = src[y1 * w + x0] * (1.0 - fx) + src[y1 * w + x1] * fx;
    top * (1.0 - fy) + bottom * fy
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feather_is_zero_outside_keep_and_one_deep_inside() {
        let (w, h, r) = (20, 3, 2);
        // Keep the right half.
        let keep: Vec<u8> = (0..w * h).map(|p| u8::from(p % w >= 10)).collect();
        let a = feathered(&keep, w, h, r);
        let row: Vec<f32> = a[w..2 * w].to_vec();
        assert!(row[..10].iter().all(|&v| v == 0.0), "{row:?}");
        assert!(row[10] > 0.0 && row[10] < 1.0);
        assert!(row[10..].windows(2).all(|p| p[0] <= p[1]), "{row:?}");
        // The frame's edges are not seams: deep inside (and at the right edge) the weight is 1.
        assert_eq!(row[10 + 2 * r..], vec![1.0; 10 - 2 * r]);
        assert!(
            a[..w].iter().zip(&row).all(|(a, b)| a == b),
            "top row as the middle one"
        );
        assert_eq!(feathered(&keep, w, h, 0)[15], 1.0);
    }

    #[test]
    fn bilinear_keeps_constants_and_doubles_exactly_at_centres() {
        let src = vec![0.25f32; 6];
        assert_eq!(bilinear(&src, 3, 2, 5, 3, 6, 4), 0.25);
        let ramp = [0.0f32, 1.0];
        // 2 -> 4: output centres at source 0.25-0.5=-0.25 (clamped 0), 0.25, 0.75, 1.25 (clamped 1).
        let got: Vec<f32> = (0..4).map(|x| bilinear(&ramp, 2, 1, x, 0, 4, 1)).collect();
        assert_eq!(got, [0.0, 0.25, 0.75, 1.0]);
    }

    #[test]
    fn box_sums_count_the_square() {
        let v = vec![1u32; 25];
        let s = box_sum(&v, 5, 5, 1);
        assert_eq!(s[12], 9);
        assert_eq!(s[0], 9, "edges repeat");
        let mut one = vec![0u32; 25];
        one[12] = 1;
        let s = box_sum(&one, 5, 5, 1);
        assert_eq!(s.iter().sum::<u32>(), 9);
    }
}

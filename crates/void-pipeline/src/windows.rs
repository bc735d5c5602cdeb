//! Temporal multidiffusion (void-inference-spec §6): overlapping windows of latent frames,
//! each denoised on its own, cross-faded linearly over their overlap.

use std::ops::Range;

/// Latent frames of a window of `frames` video frames: `(frames - 1) / 4 + 1`, made even
/// (the reference drops one latent, 4 video frames, when it is odd).
pub fn window_latents(frames: usize) -> usize {
    let latents = (frames.saturating_sub(1)) / 4 + 1;
    if latents % 2 == 1 {
        latents - 1
    } else {
        latents
    }
}

/// The windows over `latents` latent frames: `[b, min(b + window, latents))` with
/// `b = 0, end - stride, …`, stopping after the window that reaches the end. One window when
/// everything fits.
pub fn windows(latents: usize, window: usize, stride: usize) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut begin = 0;
    while begin < latents {
        let end = (begin + window).min(latents);
        out.push(begin..end);
        if end >= latents || end <= stride {
            break;
        }
        begin = end - stride;
    }
    out
}

/// The cross-fade weights of `range` among `latents` frames: 1, except the first `stride` of a
/// window that does not start at 0 (`linspace(0, 1, stride + 2)[1:-1]`: 0.2 … 0.8 for 4) and
/// the last `stride` of one that ends early (0.8 … 0.2).
pub fn weights(range: &Range<usize>, latents: usize, stride: usize) -> Vec<f32> {
    let len = range.len();
    let mut w = vec![1.0f32; len];
    let ramp = |k: usize| ((k + 1) as f64 / (stride + 1) as f64) as f32;
    let n = stride.min(len);
    if range.start > 0 {
        for (k, v) in w.iter_mut().take(n).enumerate() {
            *v = ramp(k);
        }
    }
    if range.end < latents {
        for (k, v) in w.iter_mut().rev().take(n).enumerate() {
            *v = ramp(k);
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_windows() {
        assert_eq!(window_latents(85), 22);
        assert_eq!(window_latents(89), 22);
        assert_eq!(windows(22, 22, 4), vec![0..22]);
        assert_eq!(windows(26, 22, 4), [0..22, 18..26]);
        assert_eq!(windows(50, 22, 4), [0..22, 18..40, 36..50]);
        assert_eq!(windows(10, 22, 4), vec![0..10]);
    }

    #[test]
    fn weights_fade_over_the_overlap() {
        let w = weights(&(18..40), 50, 4);
        assert_eq!(&w[..4], &[0.2, 0.4, 0.6, 0.8]);
        assert_eq!(&w[18..], &[0.8, 0.6, 0.4, 0.2]);
        assert!(w[4..18].iter().all(|&v| v == 1.0));
        assert!(weights(&(0..22), 22, 4).iter().all(|&v| v == 1.0));
        // Overlapping weights sum to one.
        let (a, b) = (weights(&(0..22), 26, 4), weights(&(18..26), 26, 4));
        for k in 0..4 {
            assert!((a[18 + k] + b[k] - 1.0).abs() < 1e-6);
        }
    }
}

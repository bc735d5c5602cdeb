//! Frame-count rules: the reference's 8k+5 target length and its "bounce" padding
//! (`videox_fun/utils/utils.py:temporal_padding`, void-inference-spec §1.3 step 7).

use crate::{Error, Result};

/// Frames of one Pass-1 window (`video_model.temporal_window_size`); also the shortest padded
/// length.
pub const WINDOW_FRAMES: usize = 85;

/// The reference's `data.max_video_length` before rounding.
pub const MAX_VIDEO_FRAMES: usize = 197;

/// The VAE's temporal compression: 4 frames per latent after a causal first frame.
pub const TEMPORAL_COMPRESSION: usize = 4;

/// `max_video_length` as the reference uses it: rounded down to `4k+1`
/// (`predict_v2v.py:180-181`; 197 stays 197).
pub fn rounded_max_frames(max_frames: usize) -> usize {
    if max_frames <= 1 {
        max_frames
    } else {
        (max_frames - 1) / TEMPORAL_COMPRESSION * TEMPORAL_COMPRESSION + 1
    }
}

/// The padded length for a clip of `len` frames: the smallest `8k+5 >= len`, clamped to
/// `[min_len, max_len]` — written exactly as the reference's loop so that odd limits behave
/// the same.
///
/// # Errors
/// [`Error::FrameLimits`] if `len` is 0 or `min_len > max_len`.
pub fn padded_len(len: usize, min_len: usize, max_len: usize) -> Result<usize> {
    if len == 0 {
        return Err(Error::FrameLimits("a clip needs at least one frame".into()));
    }
    if min_len > max_len {
        return Err(Error::FrameLimits(format!(
            "window of {min_len} frames exceeds the maximum of {max_len}"
        )));
    }
    let mut m = len / 4 * 4 + 1;
    if m < len {
        m += 4;
    }
    if (m / 4).is_multiple_of(2) {
        m += 4;
    }
    Ok(m.min(max_len).max(min_len))
}

/// For each of the `target` padded frames, the source frame it shows. Truncates to `target`
/// and appends the time-reversed clip until long enough, which repeats the last frame:
/// `0 1 … L-1 L-1 L-2 … 0 0 1 …`.
pub fn bounce_indices(len: usize, target: usize) -> Vec<usize> {
    let mut indices: Vec<usize> = (0..len.min(target)).collect();
    while !indices.is_empty() && indices.len() < target {
        let reversed: Vec<usize> = indices.iter().rev().copied().collect();
        indices.extend(reversed);
        indices.truncate(target);
    }
    indices
}

/// Latent frames the VAE makes of `frames` pixel frames.
pub fn latent_frames(frames: usize) -> usize {
    frames.saturating_sub(1) / TEMPORAL_COMPRESSION + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_lengths_match_the_spec_table() {
        let pad = |l| padded_len(l, WINDOW_FRAMES, MAX_VIDEO_FRAMES).unwrap();
        for l in [1, 46, 50, 62, 85] {
            assert_eq!(pad(l), 85, "{l}");
        }
        for l in 86..=93 {
            assert_eq!(pad(l), 93, "{l}");
        }
        assert_eq!(pad(101), 101);
        assert_eq!(pad(197), 197);
        assert_eq!(pad(500), 197);
        // Closed form: the smallest 8k+5 >= L, clamped.
        for l in 1_usize..400 {
            let closed: usize = 5 + 8 * l.saturating_sub(5).div_ceil(8);
            assert_eq!(pad(l), closed.clamp(85, 197), "{l}");
            assert_eq!(latent_frames(pad(l)) % 2, 0, "{l}");
        }
        assert!(padded_len(0, 85, 197).is_err());
        assert!(padded_len(10, 100, 50).is_err());
    }

    #[test]
    fn bounce_repeats_the_last_frame() {
        let idx = bounce_indices(46, 85);
        assert_eq!(idx.len(), 85);
        assert_eq!(&idx[..46], &(0..46).collect::<Vec<_>>()[..]);
        assert_eq!(&idx[44..49], &[44, 45, 45, 44, 43]);
        assert_eq!(idx[84], 7);
        // Short clips bounce several times.
        assert_eq!(bounce_indices(3, 10), vec![0, 1, 2, 2, 1, 0, 0, 1, 2, 2]);
        // Long clips are cut.
        assert_eq!(bounce_indices(250, 197), (0..197).collect::<Vec<_>>());
        assert!(bounce_indices(0, 5).is_empty());
    }

    #[test]
    fn frame_arithmetic() {
        assert_eq!(rounded_max_frames(197), 197);
        assert_eq!(rounded_max_frames(200), 197);
        assert_eq!(rounded_max_frames(49), 49);
        assert_eq!(latent_frames(85), 22);
        assert_eq!(latent_frames(197), 50);
    }
}

//! The frame chunks VOID's VAE codes one after another (void-inference-spec §3.3).
//!
//! Causal-conv caches flow from chunk to chunk, but every GroupNorm takes its statistics over
//! one chunk, so the chunking is part of the numerics and must be the reference's.

use std::ops::Range;

/// Video frames per encoder chunk (`num_sample_frames_batch_size`).
pub const ENCODE_FRAMES: usize = 8;
/// Latent frames per decoder chunk after the first (`num_latent_frames_batch_size`).
pub const DECODE_LATENTS: usize = 2;

/// The encoder's chunks of `frames` frames: batches of 8 with the remainder in the first
/// (`AutoencoderKLCogVideoX._encode`): 85 frames give 13, 8, 8, ….
pub fn encode_chunks(frames: usize) -> impl Iterator<Item = Range<usize>> {
    let batches = (frames / ENCODE_FRAMES).max(1);
    let rest = frames % ENCODE_FRAMES;
    (0..batches).map(move |i| {
        let start = ENCODE_FRAMES * i + if i == 0 { 0 } else { rest };
        let end = (ENCODE_FRAMES * (i + 1) + rest).min(frames);
        start.min(end)..end
    })
}

/// Latent frames the encoder makes of a chunk of `frames` frames: each of the `levels`
/// time-halving levels keeps an odd chunk's first frame and averages the rest in pairs.
pub fn encoded_len(frames: usize, levels: usize) -> usize {
    (0..levels).fold(frames, |t, _| if t % 2 == 1 { 1 + t / 2 } else { t / 2 })
}

/// VOID's decoder chunks of `latents` latent frames: the first latent alone, then pairs
/// (its vendored `_decode` with `auto_split_process = False`): 22 latents give 1, 2, …, 2, 1.
pub fn decode_chunks(latents: usize) -> impl Iterator<Item = Range<usize>> {
    let first = (latents > 0).then_some(0..1);
    let rest = (1..latents)
        .step_by(DECODE_LATENTS)
        .map(move |s| s..(s + DECODE_LATENTS).min(latents));
    first.into_iter().chain(rest)
}

/// Video frames the decoder makes of `latents` latent frames: 1 for the first chunk (its
/// upsamplers double only H and W), `latents * 2^levels` for later chunks.
pub fn decoded_len(latents: usize, first: bool, levels: usize) -> usize {
    if first { latents } else { latents << levels }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn void_window_chunks() {
        let enc: Vec<_> = encode_chunks(85).collect();
        assert_eq!(enc[0], 0..13);
        assert_eq!(enc[1], 13..21);
        assert_eq!(enc.len(), 10);
        let latents: usize = enc.iter().map(|c| encoded_len(c.len(), 2)).sum();
        assert_eq!(latents, 22);
        let dec: Vec<_> = decode_chunks(22).collect();
        assert_eq!(dec.len(), 12);
        assert_eq!((dec[0].clone(), dec[1].clone()), (0..1, 1..3));
        assert_eq!(dec[11], 21..22);
        let frames: usize = dec
            .iter()
            .enumerate()
            .map(|(i, c)| decoded_len(c.len(), i == 0, 2))
            .sum();
        assert_eq!(frames, 85);
    }

    #[test]
    fn short_clips() {
        for (frames, latents) in [(1, 1), (5, 2), (9, 3), (13, 4), (21, 6), (29, 8), (197, 50)] {
            let got: usize = encode_chunks(frames).map(|c| encoded_len(c.len(), 2)).sum();
            assert_eq!(got, latents, "{frames} frames");
            let back: usize = decode_chunks(latents)
                .enumerate()
                .map(|(i, c)| decoded_len(c.len(), i == 0, 2))
                .sum();
            assert_eq!(back, frames, "{latents} latents");
        }
        assert_eq!(encode_chunks(0).count(), 1);
        assert_eq!(decode_chunks(0).count(), 0);
    }
}

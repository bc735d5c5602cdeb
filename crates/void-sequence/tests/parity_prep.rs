//! Preprocessing parity with the reference on the real VOID samples.
//!
//! Fixtures: `tests/golden/prep_<seq>.safetensors`, written by `scripts/golden/prep_goldens.py`
//! (mediapy + torch running the reference's `get_video_mask_input` and Pass-1 mask
//! requantisation). They hold per-frame checksums of the whole padded clip plus full rows of
//! two frames, so they stay small. Tolerances, as issue 2 states them: video rel-L2 <= 1e-6
//! (per-frame sums: relative error <= 1e-6); quantised mask exactly equal.

#![allow(clippy::unwrap_used)] // test helpers fail loudly by design

mod common;

use std::path::PathBuf;

use safetensors::SafeTensors;
use void_sequence::{Pass1Inputs, PrepOptions, Sequence, load_pass1_inputs};
use void_video::Ffmpeg;

const VIDEO_REL_TOL: f64 = 1e-6;

struct Golden {
    bytes: Vec<u8>,
}

impl Golden {
    fn load(seq: &str) -> Self {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join(format!("tests/golden/prep_{seq}.safetensors"));
        Self {
            bytes: std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        }
    }

    fn tensors(&self) -> SafeTensors<'_> {
        SafeTensors::deserialize(&self.bytes).unwrap()
    }

    fn meta(&self, key: &str) -> String {
        let (_, header) = SafeTensors::read_metadata(&self.bytes).unwrap();
        header
            .metadata()
            .as_ref()
            .and_then(|m| m.get(key))
            .cloned()
            .unwrap_or_else(|| panic!("no metadata {key}"))
    }

    fn raw(&self, name: &str) -> Vec<u8> {
        self.tensors().tensor(name).unwrap().data().to_vec()
    }

    fn f64s(&self, name: &str) -> Vec<f64> {
        self.raw(name)
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
            .collect()
    }

    fn i64s(&self, name: &str) -> Vec<i64> {
        self.raw(name)
            .chunks_exact(8)
            .map(|b| i64::from_le_bytes(b.try_into().unwrap()))
            .collect()
    }

    fn f32s(&self, name: &str) -> Vec<f32> {
        self.raw(name)
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect()
    }
}

fn preprocess(seq: &str) -> Pass1Inputs {
    let ffmpeg = Ffmpeg::new("ffmpeg").expect("ffmpeg on PATH");
    let sequence = Sequence::open(&common::samples_dir().join(seq)).unwrap();
    load_pass1_inputs(&ffmpeg, &sequence, &PrepOptions::default(), &mut |_| {}).unwrap()
}

fn rel_err(ours: f64, theirs: f64) -> f64 {
    (ours - theirs).abs() / theirs.abs().max(1e-12)
}

fn rel_l2(ours: &[f32], theirs: &[f32]) -> f64 {
    assert_eq!(ours.len(), theirs.len());
    let diff: f64 = ours
        .iter()
        .zip(theirs)
        .map(|(a, b)| (f64::from(*a) - f64::from(*b)).powi(2))
        .sum();
    let norm: f64 = theirs.iter().map(|b| f64::from(*b).powi(2)).sum();
    (diff / norm).sqrt()
}

fn check(seq: &str) {
    let golden = Golden::load(seq);
    let inputs = preprocess(seq);
    let (h, w) = (384usize, 672usize);
    let plane = h * w;
    let frames = inputs.padded_frames();
    let source_frames = inputs.source.video_frames;

    // Shapes and what is kept to undo the preprocessing.
    assert_eq!(frames.to_string(), golden.meta("padded_frames"));
    assert_eq!(source_frames.to_string(), golden.meta("source_frames"));
    assert_eq!(
        inputs.source.mask_frames.to_string(),
        golden.meta("mask_source_frames")
    );
    assert_eq!(
        inputs.source.video.width.to_string(),
        golden.meta("video_width")
    );
    assert_eq!(
        inputs.source.video.height.to_string(),
        golden.meta("video_height")
    );
    let pad: Vec<i64> = inputs.video.pad.iter().map(|&i| i as i64).collect();
    assert_eq!(pad, golden.i64s("pad_indices"), "bounce padding");
    assert_eq!(inputs.mask.pad, inputs.video.pad);

    // Video: per-frame, per-channel sums, squared sums and position-weighted sums.
    let (sums, sq_sums, weighted) = (
        golden.f64s("video_frame_sums"),
        golden.f64s("video_frame_sq_sums"),
        golden.f64s("video_frame_weighted"),
    );
    for f in 0..frames {
        let frame = &inputs.video.frames[inputs.video.pad[f]];
        for c in 0..3 {
            let values = &frame[c * plane..(c + 1) * plane];
            let (mut s, mut sq, mut wsum) = (0f64, 0f64, 0f64);
            for (i, &v) in values.iter().enumerate() {
                let (y, x) = (i / w, i % w);
                let v = f64::from(v);
                s += v;
                sq += v * v;
                wsum += v * ((y * 7 + x * 13) % 17) as f64 / 16.0;
            }
            let k = f * 3 + c;
            for (what, ours, theirs) in [
                ("sum", s, sums[k]),
                ("sq", sq, sq_sums[k]),
                ("weighted", wsum, weighted[k]),
            ] {
                let err = rel_err(ours, theirs);
                assert!(
                    err <= VIDEO_REL_TOL,
                    "{seq} frame {f} channel {c} {what}: rel err {err:e}"
                );
            }
        }
    }

    // Video: full rows of the first and last source frames.
    for (name, rows) in [("video_band_top", 0..8), ("video_band_mid", 184..200)] {
        let theirs = golden.f32s(name);
        let mut ours = Vec::new();
        for f in [0, source_frames - 1] {
            let frame = &inputs.video.frames[inputs.video.pad[f]];
            for c in 0..3 {
                for y in rows.clone() {
                    ours.extend_from_slice(&frame[c * plane + y * w..c * plane + (y + 1) * w]);
                }
            }
        }
        let err = rel_l2(&ours, &theirs);
        assert!(err <= VIDEO_REL_TOL, "{seq} {name}: rel-L2 {err:e}");
    }

    // Mask: quantised levels exactly equal.
    let (counts, checksums, pass1_sums) = (
        golden.i64s("mask_level_counts"),
        golden.i64s("mask_level_checksum"),
        golden.f64s("mask_pass1_sums"),
    );
    for f in 0..frames {
        let levels = &inputs.mask.levels[inputs.mask.pad[f]];
        let mut ours_counts = [0i64; 4];
        let mut checksum = 0i64;
        for (p, &l) in levels.iter().enumerate() {
            let k = [0u8, 63, 127, 255]
                .iter()
                .position(|&v| v == l)
                .expect("a quadmask level");
            ours_counts[k] += 1;
            checksum += (k as i64 + 1) * ((p % 65521) as i64 + 1);
        }
        assert_eq!(
            &ours_counts[..],
            &counts[f * 4..f * 4 + 4],
            "{seq} frame {f} level counts"
        );
        assert_eq!(checksum, checksums[f], "{seq} frame {f} level checksum");
        let pass1: f64 = inputs
            .mask
            .pass1_frame(f)
            .iter()
            .map(|&v| f64::from(v))
            .sum();
        assert_eq!(pass1, pass1_sums[f], "{seq} frame {f} pass-1 mask sum");
    }
    let mid = &inputs.mask.levels[inputs.mask.pad[source_frames / 2]];
    assert_eq!(
        mid,
        &golden.raw("mask_levels_mid"),
        "{seq} middle mask frame"
    );
}

#[test]
fn bigben_upscaled_544x360_trimask_quadmask_name() {
    check("BigBen");
}

#[test]
fn ducky_float_1296x720() {
    check("ducky-float");
}

#[test]
fn lime_4k_46_frames() {
    check("lime");
}

#[test]
fn moving_ball_4k() {
    check("moving_ball");
}

#[test]
fn pillow_4k() {
    check("pillow");
}

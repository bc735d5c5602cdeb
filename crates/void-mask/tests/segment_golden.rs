//! The whole-video driver against the sam2 package's predictor on the tiny golden model
//! (`scripts/golden/sam2_goldens.py`): a box and two clicks on frame 2 of 6, tracked forward
//! and backward; every frame's video-resolution logits, thresholded, must agree.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use void_mask::{Prompts, segment};
use void_models::sam2::{Sam2, Sam2Config};

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../void-models/tests/golden")
        .join(name)
}

fn tiny_model() -> (Sam2, Sam2Config) {
    let cfg: Sam2Config =
        serde_json::from_str(&std::fs::read_to_string(golden("sam2_void_config.json")).unwrap())
            .unwrap();
    let weights =
        candle_core::safetensors::load(golden("sam2_weights.safetensors"), &Device::Cpu).unwrap();
    let vb = VarBuilder::from_tensors(weights, DType::F32, &Device::Cpu);
    (Sam2::new(&cfg, 0, vb).unwrap(), cfg)
}

#[test]
fn every_frame_matches_the_reference_predictor() {
    let io =
        candle_core::safetensors::load(golden("sam2_video_io.safetensors"), &Device::Cpu).unwrap();
    let (model, cfg) = tiny_model();
    let resized = &io["frames_resized_u8"];
    let frames: Vec<Vec<u8>> = (0..6)
        .map(|i| {
            resized
                .get(i)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<u8>()
                .unwrap()
        })
        .collect();
    let mut prompts = Prompts::default();
    prompts.add_points("2:30,20:+;2:62,42:-").unwrap();
    prompts.add_box("2:16,4,52,36").unwrap();
    // A source that counts how often the video is read: twice (prompts, then tracking).
    let opened = std::cell::Cell::new(0);
    let mut source =
        || -> void_mask::Result<Box<dyn Iterator<Item = void_mask::Result<Vec<u8>>>>> {
            opened.set(opened.get() + 1);
            Ok(Box::new(frames.clone().into_iter().map(Ok)))
        };
    let mut calls = 0;
    let seg = segment(
        &model,
        &mut source,
        6,
        (72, 48),
        &prompts,
        &Device::Cpu,
        |_| calls += 1,
    )
    .unwrap();
    assert_eq!(opened.get(), 2);
    assert_eq!(cfg.image_size, 96);
    assert_eq!(calls, 6);
    let keys = ["bwd.f0", "bwd.f1", "add", "fwd.f3", "fwd.f4", "fwd.f5"];
    for (frame, key) in keys.iter().enumerate() {
        let want = io[&format!("{key}.video_res_masks")].gt(0.0).unwrap();
        let want: Vec<u8> = want
            .flatten_all()
            .unwrap()
            .to_vec1::<u8>()
            .unwrap()
            .iter()
            .map(|&v| if v == 1 { 0 } else { 255 })
            .collect();
        let ours = seg.black_frame(frame, 72, 48).unwrap();
        let differ = ours.iter().zip(&want).filter(|(a, b)| a != b).count();
        assert_eq!(differ, 0, "frame {frame}: {differ} pixels differ");
        let ours_low = &seg.objects[0].1[frame];
        let theirs_low = &io[&format!("{key}.pred_masks")];
        let err = void_models::ops::rel_l2(ours_low, theirs_low).unwrap();
        assert!(err <= 1e-4, "frame {frame}: logits rel-L2 {err:e}");
    }
    assert!(seg.object_frames(6, 72, 48).is_err());
    assert_eq!(seg.object_frames(0, 72, 48).unwrap().len(), 1);
}

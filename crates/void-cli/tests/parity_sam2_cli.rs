//! `void parity sam2-encode | sam2-prompt | sam2-video` on the tiny golden SAM2
//! (`scripts/golden/sam2_goldens.py`): outputs within f32 rel-L2 1e-4 of the sam2 package.

#![allow(clippy::unwrap_used)] // test helpers fail loudly by design

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use common::golden;

use candle_core::{DType, Device, Tensor};

fn load(path: &Path) -> HashMap<String, Tensor> {
    candle_core::safetensors::load(path, &Device::Cpu).unwrap()
}

/// Runs `void parity sam2-<part>` on `inputs` and returns its outputs.
fn parity(part: &str, inputs: HashMap<String, Tensor>, dir: &Path) -> HashMap<String, Tensor> {
    let config = golden("sam2_void_config.json");
    let (input, out) = (
        dir.join(format!("{part}_in.safetensors")),
        dir.join(format!("{part}_out.safetensors")),
    );
    candle_core::safetensors::save(&inputs, &input).unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_void"))
        .args([
            "parity",
            &format!("sam2-{part}"),
            "--config",
            config.to_str().unwrap(),
        ])
        .args(["--weights", golden("sam2_weights.pt").to_str().unwrap()])
        .args([
            "--inputs",
            input.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    load(&out)
}

fn check(ours: &Tensor, theirs: &Tensor, what: &str) {
    let err = void_models::ops::rel_l2(ours, theirs).unwrap();
    assert!(err <= 1e-4, "{what}: rel-L2 {err:e}");
}

#[test]
fn encode_prompt_and_video_match_sam2() {
    let dir = tempfile::tempdir().unwrap();
    let enc = load(&golden("sam2_encode_io.safetensors"));
    let out = parity(
        "encode",
        HashMap::from([("image".into(), enc["image"].clone())]),
        dir.path(),
    );
    for i in 1..=4 {
        check(
            &out[&format!("trunk.stage{i}")],
            &enc[&format!("trunk.stage{i}")],
            "trunk",
        );
    }
    for i in 0..3 {
        check(
            &out[&format!("neck.backbone_fpn.{i}")],
            &enc[&format!("neck.backbone_fpn.{i}")],
            "fpn",
        );
    }

    let prompt = load(&golden("sam2_prompt_io.safetensors"));
    let image = void_models::sam2::normalize_frame(&prompt["frame_resized_u8"]).unwrap();
    let out = parity(
        "prompt",
        HashMap::from([
            ("image".into(), image),
            ("point_coords".into(), prompt["point_coords"].clone()),
            (
                "point_labels".into(),
                prompt["point_labels"].to_dtype(DType::F32).unwrap(),
            ),
        ]),
        dir.path(),
    );
    check(&out["pred_masks"], &prompt["pred_masks"], "prompt mask");
    check(&out["obj_ptr"], &prompt["obj_ptr"], "prompt pointer");

    let video = load(&golden("sam2_video_io.safetensors"));
    let out = parity(
        "video",
        HashMap::from([
            ("frames".into(), video["frames_resized_u8"].clone()),
            ("point_coords".into(), video["add.point_coords"].clone()),
            (
                "point_labels".into(),
                video["add.point_labels"].to_dtype(DType::F32).unwrap(),
            ),
            (
                "prompt_frame".into(),
                Tensor::new(2i64, &Device::Cpu).unwrap(),
            ),
        ]),
        dir.path(),
    );
    for (frame, key) in ["bwd.f0", "bwd.f1", "add", "fwd.f3", "fwd.f4", "fwd.f5"]
        .iter()
        .enumerate()
    {
        check(
            &out["pred_masks"].get(frame).unwrap().unsqueeze(0).unwrap(),
            &video[&format!("{key}.pred_masks")],
            key,
        );
    }
}

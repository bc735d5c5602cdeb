//! SAM2 parity with the `sam2` package (1.1.0) on a tiny random model.
//!
//! Fixtures from `scripts/golden/sam2_goldens.py` (CPU, f32): SAM 2.1's architecture shrunk to
//! a 96x96 image, Hiera of 6-48 channels in stages (1, 2, 3, 1) with padded windows, a 32-wide
//! neck; weights in the official checkpoint layout, as safetensors and as a `.pt` pickle.
//! Tolerance from issue 7: f32 rel-L2 <= 1e-4.

#![allow(clippy::unwrap_used)] // test helpers fail loudly by design

mod common;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use common::{golden, load, rel_l2};
use void_models::sam2::{ImageEncoder, Sam2Config};

const TOLERANCE: f64 = 1e-4;

fn config() -> Sam2Config {
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(golden("sam2_config.json")).unwrap())
            .unwrap();
    serde_json::from_value(json["composed_config"]["model"].clone()).unwrap()
}

fn weights() -> VarBuilder<'static> {
    VarBuilder::from_tensors(load("sam2_weights.safetensors"), DType::F32, &Device::Cpu)
}

fn check(ours: &Tensor, theirs: &Tensor, what: &str) {
    let err = rel_l2(ours, theirs);
    eprintln!("{what}: rel-L2 {err:.2e}");
    assert!(err <= TOLERANCE, "{what}: rel-L2 {err:.2e} > {TOLERANCE:e}");
}

/// `(hw, b, c)` tokens, as `_prepare_backbone_features` flattens a `(b, c, h, w)` map.
fn tokens(x: &Tensor) -> Tensor {
    x.flatten_from(2).unwrap().permute((2, 0, 1)).unwrap()
}

#[test]
fn image_encoder_matches_sam2() {
    let io = load("sam2_encode_io.safetensors");
    let encoder = ImageEncoder::new(&config(), weights()).unwrap();
    let features = encoder.forward(&io["image"]).unwrap();
    for (i, stage) in features.trunk.iter().enumerate() {
        check(
            stage,
            &io[&format!("trunk.stage{}", i + 1)],
            &format!("trunk stage {}", i + 1),
        );
    }
    assert_eq!(features.fpn.len(), 3);
    for i in 0..3 {
        check(
            &features.fpn[i],
            &io[&format!("neck.backbone_fpn.{i}")],
            &format!("fpn {i}"),
        );
        check(
            &features.positions[i],
            &io[&format!("vision_pos_enc.{i}")],
            &format!("position {i}"),
        );
    }
    for (i, high) in features.high_res.iter().enumerate() {
        check(
            &tokens(high),
            &io[&format!("vision_feats.{i}")],
            &format!("conv_s{i}"),
        );
    }
    check(
        &tokens(features.embedding()),
        &io["vision_feats.2"],
        "embedding",
    );
}

#[test]
fn official_pt_checkpoint_loads_like_safetensors() {
    let pt = VarBuilder::from_pth_with_state(
        golden("sam2_weights.pt"),
        DType::F32,
        "model",
        &Device::Cpu,
    )
    .unwrap();
    let io = load("sam2_encode_io.safetensors");
    let a = ImageEncoder::new(&config(), pt)
        .unwrap()
        .forward(&io["image"])
        .unwrap();
    let b = ImageEncoder::new(&config(), weights())
        .unwrap()
        .forward(&io["image"])
        .unwrap();
    assert_eq!(
        void_models::ops::max_abs_diff(a.embedding(), b.embedding()).unwrap(),
        0.0
    );
}

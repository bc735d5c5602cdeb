//! T5 encoder parity with transformers' `T5EncoderModel` on tiny random models.
//!
//! Fixtures from `scripts/golden/t5_goldens.py` (transformers 4.57.1, torch 2.15, CPU): config
//! "a" (v1.1 style: gated-gelu, 3 layers, 4 heads x 8; batch 2 of 226 padded tokens, and 9
//! unpadded) and "b" (original style: relu, not gated, 3 heads x 12 != d_model 24, 16 buckets,
//! max distance 20). Tolerances: f32 rel-L2 <= 1e-5; bf16 rel-L2 against the f32 reference at
//! most 1.5x PyTorch's own bf16 error on the same weights; buckets exact.

#![allow(clippy::unwrap_used)] // test helpers fail loudly by design

mod common;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use common::{golden, load, rel_l2};
use void_models::t5::{T5Config, T5EncoderModel, relative_position_bucket};

fn model(config: &str, dtype: DType) -> T5EncoderModel {
    let text = std::fs::read_to_string(golden(&format!("t5_{config}_config.json"))).unwrap();
    let cfg = T5Config::from_json(&text).unwrap();
    let vb = VarBuilder::from_tensors(
        load(&format!("t5_{config}_weights.safetensors")),
        dtype,
        &Device::Cpu,
    );
    T5EncoderModel::new(&cfg, vb).unwrap()
}

/// Runs `config` on `t5_{io}_io.safetensors` in f32 and bf16 against the references.
fn check(config: &str, io: &str) {
    let io = load(&format!("t5_{io}_io.safetensors"));
    let (ids, reference) = (&io["input_ids"], &io["last_hidden_state"]);

    let out = model(config, DType::F32).forward(ids).unwrap();
    assert_eq!(out.dtype(), DType::F32);
    assert_eq!(out.dims(), reference.dims());
    let err = rel_l2(&out, reference);
    eprintln!("{config}: f32 rel-L2 {err:e}");
    assert!(err <= 1e-5, "{config} f32: rel-L2 {err:e}");

    let out = model(config, DType::BF16).forward(ids).unwrap();
    assert_eq!(out.dtype(), DType::BF16);
    let err = rel_l2(&out, reference);
    let torch_bf16 = rel_l2(&io["last_hidden_state_bf16"], reference);
    let vs_torch_bf16 = rel_l2(&out, &io["last_hidden_state_bf16"]);
    eprintln!(
        "{config}: bf16 rel-L2 {err:e} (torch bf16 {torch_bf16:e}; void bf16 vs torch bf16 {vs_torch_bf16:e})"
    );
    assert!(
        err <= 1.5 * torch_bf16,
        "{config} bf16: rel-L2 {err:e}, torch bf16 {torch_bf16:e}"
    );
}

#[test]
fn config_a_gated_gelu_batch2_padded_to_226() {
    check("a", "a");
}

#[test]
fn config_a_short_unpadded_input() {
    check("a", "a_short");
}

#[test]
fn config_b_relu_narrow_heads_small_max_distance() {
    check("b", "b");
}

#[test]
fn integer_id_dtypes_agree() {
    let io = load("t5_a_short_io.safetensors");
    let model = model("a", DType::F32);
    let reference = model.forward(&io["input_ids"]).unwrap();
    for dtype in [DType::U32, DType::U8, DType::I32] {
        let out = model
            .forward(&io["input_ids"].to_dtype(dtype).unwrap())
            .unwrap();
        assert_eq!(rel_l2(&out, &reference), 0.0, "{dtype:?}");
    }
}

#[test]
fn bad_ids_are_refused() {
    let model = model("a", DType::F32);
    let dev = Device::Cpu;
    let err = model
        .forward(&Tensor::new(&[[3i64, 100, 1]], &dev).unwrap())
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("token id 100 is outside the vocabulary (ids must be in 0..100)"),
        "{err}"
    );
    let err = model
        .forward(&Tensor::new(&[[3i64, -1]], &dev).unwrap())
        .unwrap_err();
    assert!(err.to_string().contains("token id -1"), "{err}");
    for bad in [
        Tensor::new(&[3u32, 4], &dev).unwrap(),
        Tensor::new(&[[3f32, 4.]], &dev).unwrap(),
        Tensor::zeros((1, 0), DType::U32, &dev).unwrap(),
    ] {
        let err = model.forward(&bad).unwrap_err().to_string();
        assert!(err.starts_with("input_ids: expected"), "{err}");
    }
}

#[test]
fn buckets_match_transformers() {
    let tables = load("t5_buckets.safetensors");
    let relative: Vec<i64> = tables["relative_position"].to_vec1().unwrap();
    let mut checked = 0;
    for (name, table) in &tables {
        let Some(params) = name.strip_prefix("buckets_") else {
            continue;
        };
        let (buckets, max_distance) = params.split_once('_').unwrap();
        let (buckets, max_distance) = (buckets.parse().unwrap(), max_distance.parse().unwrap());
        let theirs: Vec<i64> = table.to_vec1().unwrap();
        for (&r, &want) in relative.iter().zip(&theirs) {
            let got = relative_position_bucket(r, buckets, max_distance);
            assert_eq!(
                got as i64, want,
                "relative position {r}, {buckets} buckets, max distance {max_distance}"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 3);
}

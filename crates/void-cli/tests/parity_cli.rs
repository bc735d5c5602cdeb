//! `void parity transformer` on the tiny diffusers fixture: the written `sample` matches the
//! reference output (f32 rel-L2 <= 1e-5), and bad inputs get one clear error.

#![allow(clippy::unwrap_used)] // test helpers fail loudly by design

use std::path::PathBuf;
use std::process::Command;

use candle_core::{DType, Device};

fn golden(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../void-models/tests/golden")
        .join(name)
        .display()
        .to_string()
}

fn parity(inputs: &str, out: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_void"))
        .args([
            "parity",
            "transformer",
            "--config",
            &golden("transformer_b_config.json"),
        ])
        .args([
            "--weights",
            &golden("transformer_b_weights.safetensors"),
            "--inputs",
            inputs,
            "--out",
            out,
        ])
        .output()
        .unwrap()
}

#[test]
fn writes_the_reference_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.safetensors");
    let io = golden("transformer_b_io.safetensors");
    let result = parity(&io, out.to_str().unwrap());
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "{stderr}");
    assert!(stderr.contains("forward"), "a timing line: {stderr}");

    let ours = candle_core::safetensors::load(&out, &Device::Cpu).unwrap();
    let theirs = candle_core::safetensors::load(&io, &Device::Cpu).unwrap();
    let (a, b) = (
        ours["sample"].to_dtype(DType::F64).unwrap(),
        theirs["sample"].to_dtype(DType::F64).unwrap(),
    );
    let diff = (&a - &b)
        .unwrap()
        .sqr()
        .unwrap()
        .sum_all()
        .unwrap()
        .to_scalar::<f64>()
        .unwrap();
    let norm = b
        .sqr()
        .unwrap()
        .sum_all()
        .unwrap()
        .to_scalar::<f64>()
        .unwrap();
    assert!((diff / norm).sqrt() <= 1e-5);
}

#[test]
fn inputs_without_timestep_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let io = candle_core::safetensors::load(golden("transformer_b_io.safetensors"), &Device::Cpu)
        .unwrap();
    let partial: std::collections::HashMap<_, _> =
        io.into_iter().filter(|(k, _)| k != "timestep").collect();
    let inputs = dir.path().join("in.safetensors");
    candle_core::safetensors::save(&partial, &inputs).unwrap();
    let out = dir.path().join("out.safetensors");
    let result = parity(inputs.to_str().unwrap(), out.to_str().unwrap());
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!result.status.success());
    assert!(
        stderr.contains("in.safetensors: no tensor `timestep`"),
        "{stderr}"
    );
    assert!(!out.exists());
}

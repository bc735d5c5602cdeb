//! Helpers shared by the parity tests: golden fixtures and the error measure.

#![allow(dead_code)] // each test binary uses a subset
#![allow(clippy::unwrap_used)] // test helpers fail loudly by design

use std::collections::HashMap;
use std::path::PathBuf;

use candle_core::{Device, Tensor};

/// A file of `tests/golden`.
pub fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

/// The tensors of a golden safetensors file, on the CPU.
pub fn load(name: &str) -> HashMap<String, Tensor> {
    candle_core::safetensors::load(golden(name), &Device::Cpu).unwrap()
}

/// Relative L2 error of `ours` against `theirs` (same shapes).
pub fn rel_l2(ours: &Tensor, theirs: &Tensor) -> f64 {
    assert_eq!(ours.dims(), theirs.dims());
    void_models::ops::rel_l2(ours, theirs).unwrap()
}

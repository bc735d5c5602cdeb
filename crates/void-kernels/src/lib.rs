//! Hand-written CUDA kernels for void's networks, wrapped as candle ops.
//!
//! The kernels live in `kernels/*.cu` and are compiled by `build.rs` into fat binaries embedded
//! in the crate (no run-time compilation). Everything here needs the `cuda` feature; without
//! it the crate is empty, and the networks use their portable paths. Kernel launches are
//! `unsafe`; this is the only crate of void that makes them.

#![cfg_attr(feature = "cuda", allow(unsafe_code))]

#[cfg(feature = "cuda")]
mod flash_attention;
#[cfg(feature = "cuda")]
mod fp8;
#[cfg(feature = "cuda")]
mod fused;
#[cfg(feature = "cuda")]
mod module;

#[cfg(feature = "cuda")]
pub use flash_attention::{FLASH_HEAD_DIM, flash_attention, flash_attention_supports};
#[cfg(feature = "cuda")]
pub use fp8::{dequantize_e4m3, quantize_e4m3};
#[cfg(feature = "cuda")]
pub use fused::{fused_supports, gated_residual, head_norm_rope, modulated_layer_norm};

//! Weight files for void's networks.
//!
//! The only crate that opens weight files. [`WeightFiles`] opens a `.safetensors` file, a
//! sharded `*.safetensors.index.json`, or a diffusers component folder, by memory map, and
//! builds a model through a [`candle_nn::VarBuilder`] that checks strictly: every tensor the
//! model asks for must be there with the right shape and a float dtype, and every tensor in the
//! files must be used (a declared tied copy excepted). Errors name the file and the key.
//! [`transformer`] loads the VOID transformer from a checkpoint plus `config.json`, [`vae`] the
//! VAE from `vae/`, [`t5`] the T5 text encoder from `text_encoder/`, [`sam2`] SAM2 from an
//! official `.pt` or a safetensors file (not strict: see there). [`prefetch`] reads a
//! weight set ahead of its load, to overlap the disk with other work.

mod config;
mod error;
mod files;
pub mod sam2;
pub mod t5;
pub mod transformer;
pub mod vae;

pub use error::{Error, Result};
pub use files::{WeightFiles, prefetch};

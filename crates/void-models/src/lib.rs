//! The networks of void, in candle: tensors and configs in, tensors out.
//!
//! No files, processes, environment variables or clocks: weights come in through a
//! [`candle_nn::VarBuilder`], device and dtype are arguments.

mod error;
pub mod ops;
pub mod sam2;
pub mod t5;
pub mod transformer;
pub mod vae;

pub use error::{Error, Result};

//! Preprocessing that reproduces the reference exactly (void-inference-spec §1.3–§1.4).
//!
//! Pure functions on pixel buffers: PyTorch's `"area"` resize ([`area`]), Pillow's bicubic
//! resize that SAM2's loader uses ([`bicubic`]), the quadmask
//! quantisation, inversion and Pass-1 trimask requantisation ([`mask`]), and the 8k+5 frame rule
//! with bounce padding ([`temporal`]). No files, no processes, no threads.

pub mod area;
pub mod bicubic;
mod error;
pub mod mask;
mod sample_size;
pub mod temporal;

pub use area::AreaResize;
pub use error::{Error, Result};
pub use sample_size::SampleSize;

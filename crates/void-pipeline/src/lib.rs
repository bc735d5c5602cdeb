//! VOID's passes as data flow: preprocessed frames and loaded models in, frames out.
//!
//! [`Pass1`] runs the reference's Pass 1 (void-inference-spec §1.4–§1.5, §6): the prompt through
//! the tokenizer and T5 once, the quadmask and the noise-augmented video through the VAE, the
//! DDIM loop over the 48-channel concatenation with temporal multidiffusion windows, and the
//! decode. Randomness comes from a seed or is injected ([`Noise`]) for parity tests. Stages are
//! reported to an [`Observer`]; drawing progress is the caller's business.

mod error;
mod inputs;
mod noise;
mod observer;
mod pass1;
pub mod windows;

pub use error::{Error, Result};
pub use inputs::pass1_tensors;
pub use noise::Noise;
pub use observer::{Observer, Stage};
pub use pass1::{Loader, Models, Pass1, Pass1Options, Resident};

//! The mask pipeline of void: from clicks and boxes to the frame-aligned black mask of the
//! object to remove (SAM2 video segmentation, `void-models::sam2`), the reference's grid
//! ([`grid`]) and the black + grey -> quadmask combination ([`combine`]).
//!
//! Pure computation on decoded frames; decoding, encoding and progress are the caller's.

pub mod combine;
mod error;
pub mod grid;
pub mod prompts;
pub mod segment;

pub use error::{Error, Result};
pub use grid::{CellSpec, Grid};
pub use prompts::{FramePrompt, Prompts};
pub use segment::{FrameSource, Segmentation, segment, union};

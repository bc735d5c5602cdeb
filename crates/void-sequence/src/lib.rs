//! VOID sequence folders: `<root>/<seq>/{input_video.mp4, quadmask_0.mp4, prompt.json}`.
//!
//! This crate finds a sequence's files and checks them ([`Sequence`], [`discover`]), reads its
//! prompt ([`read_prompt`]), summarises it ([`inspect`]), and turns its video and quadmask into
//! exactly the tensors Pass 1 consumes ([`load_pass1_inputs`], [`write_safetensors`]). Decoding is
//! delegated to `void-video`, arithmetic to `void-prep`; nothing here prints: progress goes to a
//! callback and warnings are returned as values.

mod composite;
mod error;
mod export;
mod inputs;
mod inspect;
mod mask_stats;
mod outputs;
mod prompt;
mod selection;
mod sequence;
mod turbo;

pub use composite::write_composite;
pub use error::{Error, Result};
pub use export::write_safetensors;
pub use inputs::{MaskFrames, Pass1Inputs, PrepOptions, Source, VideoFrames, load_pass1_inputs};
pub use inspect::{Inspection, inspect};
pub use mask_stats::MaskStats;
pub use outputs::{Layout, OutputPaths, write_outputs};
pub use prompt::read_prompt;
pub use selection::Selection;
pub use sequence::{Sequence, discover, is_sequence_dir};

/// Which stream a [`Progress`] report is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// `input_video.mp4`.
    Video,
    /// The quadmask.
    Mask,
}

/// Decoding progress, reported after every frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// What is being decoded.
    pub stream: Stream,
    /// Frames done.
    pub done: usize,
    /// Frames expected, when known.
    pub total: Option<usize>,
}

/// Something worth telling the user that does not stop the work.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Warning {
    /// The mask marks grey (affected or overlap) pixels on its first frame, which the mask
    /// pipeline never produces.
    GreyOnFirstFrame {
        /// Share of the first frame's pixels.
        share: f64,
    },
    /// No frame marks anything to remove.
    EmptyRemoveRegion,
    /// Pixels that are none of 0/63/127/255; they are bucketed like the reference does.
    OffLevelValues {
        /// Share of all mask pixels.
        share: f64,
    },
    /// Several `quadmask_*.mp4` files exist; only the first is used, like the reference.
    ExtraMasks {
        /// The files that are not used.
        ignored: Vec<String>,
    },
    /// The mask's aspect ratio differs from the video's (`void preprocess` stops on this).
    AspectMismatch {
        /// Video size, `WxH`.
        video: String,
        /// Mask size, `WxH`.
        mask: String,
    },
    /// Video and mask lengths differ (`void preprocess` stops on this unless allowed).
    LengthMismatch {
        /// Frames of the video used.
        video_frames: usize,
        /// Frames of the mask used.
        mask_frames: usize,
    },
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::GreyOnFirstFrame { share } => write!(
                f,
                "{:.2}% of frame 0 is grey (affected/overlap); masks from the VOID mask pipeline have no grey on frame 0",
                share * 100.0
            ),
            Self::EmptyRemoveRegion => {
                write!(f, "no frame marks anything to remove (no 0 or 63 pixels)")
            }
            Self::OffLevelValues { share } => write!(
                f,
                "{:.4}% of mask pixels are off the four levels 0/63/127/255 (lossy mask?); they are bucketed at 31/95/191",
                share * 100.0
            ),
            Self::ExtraMasks { ignored } => {
                write!(
                    f,
                    "only the first quadmask is used; ignoring {}",
                    ignored.join(", ")
                )
            }
            Self::AspectMismatch { video, mask } => write!(
                f,
                "the mask is {mask} but the video is {video}: their aspect ratios differ, so they cannot line up"
            ),
            Self::LengthMismatch {
                video_frames,
                mask_frames,
            } => write!(
                f,
                "the video has {video_frames} frames but the mask has {mask_frames}; the frames may be misaligned"
            ),
        }
    }
}

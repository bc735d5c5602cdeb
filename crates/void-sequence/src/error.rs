//! Errors of sequence folders. Each names the file and says what is wrong.

use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can be wrong with a sequence folder or its contents.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The folder does not exist or is not a folder.
    #[error("{path}: not a sequence folder: {reason}")]
    NotASequence {
        /// The path given.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// No usable mask file in the folder.
    #[error("{dir}: no quadmask found (looked for quadmask_*.mp4 and trimask_quadmask.mp4){hint}")]
    NoMask {
        /// The sequence folder.
        dir: PathBuf,
        /// Extra advice when other mask-like files are present.
        hint: String,
    },
    /// `prompt.json` is missing or unusable.
    #[error("{path}: {reason}")]
    Prompt {
        /// The prompt file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Requested sequences that are not in the root.
    #[error("{root}: no sequence named {missing}")]
    UnknownSequences {
        /// The data root.
        root: PathBuf,
        /// The names not found, comma-separated.
        missing: String,
    },
    /// A `--seqs` value that cannot be understood.
    #[error("invalid sequence selection {given:?}: {reason}")]
    Selection {
        /// What was given.
        given: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The mask's aspect ratio differs from the video's.
    #[error(
        "{mask}: mask is {mask_width}x{mask_height} but {video} is {video_width}x{video_height}; their aspect ratios differ, so the mask cannot line up with the video"
    )]
    AspectMismatch {
        /// The video file.
        video: PathBuf,
        /// Video width.
        video_width: u32,
        /// Video height.
        video_height: u32,
        /// The mask file.
        mask: PathBuf,
        /// Mask width.
        mask_width: u32,
        /// Mask height.
        mask_height: u32,
    },
    /// Video and mask have different frame counts.
    #[error(
        "{mask}: mask has {mask_frames} frames but {video} has {video_frames}; the reference would pad them independently and misalign them. Fix the mask, or pass --allow-length-mismatch to pad the mask to the video's length"
    )]
    LengthMismatch {
        /// The video file.
        video: PathBuf,
        /// Frames decoded from the video (up to the maximum used).
        video_frames: usize,
        /// The mask file.
        mask: PathBuf,
        /// Frames decoded from the mask (up to the maximum used).
        mask_frames: usize,
    },
    /// Decoding or probing a file failed.
    #[error(transparent)]
    Video(#[from] void_video::Error),
    /// Preprocessing parameters are inconsistent.
    #[error(transparent)]
    Prep(#[from] void_prep::Error),
    /// Writing an output file failed.
    #[error("{path}: {reason}")]
    Write {
        /// The output file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

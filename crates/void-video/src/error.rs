//! Errors of video I/O. Each names the file and says what to do.

use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while probing, decoding or encoding a video.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The ffmpeg executable could not be started.
    #[error(
        "cannot run ffmpeg at {path:?}: {source}; install ffmpeg (Debian: `apt-get install ffmpeg`) or pass its path with --ffmpeg / VOID_FFMPEG"
    )]
    FfmpegMissing {
        /// The executable that was tried.
        path: PathBuf,
        /// Why it could not be started.
        source: std::io::Error,
    },
    /// ffmpeg started but is older than what void supports.
    #[error("{path:?} is ffmpeg {found}; void needs ffmpeg 5.1 or newer")]
    FfmpegTooOld {
        /// The executable.
        path: PathBuf,
        /// The version it reported.
        found: String,
    },
    /// The input file does not exist or cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// ffmpeg could not open the file as a video (not a media file, or damaged beyond reading).
    #[error("{path}: not a readable video: {detail}")]
    NotAVideo {
        /// The file.
        path: PathBuf,
        /// ffmpeg's own words.
        detail: String,
    },
    /// The file opened but holds no video stream.
    #[error("{path}: contains no video stream")]
    NoVideoStream {
        /// The file.
        path: PathBuf,
    },
    /// The file has a video stream but not a single frame could be decoded.
    #[error("{path}: the video stream holds no frames")]
    NoFrames {
        /// The file.
        path: PathBuf,
    },
    /// ffmpeg reported errors while decoding (truncated or corrupt data).
    #[error(
        "{path}: corrupt or truncated video: decoding failed after {frames_decoded} frame(s): {detail}"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Frames read before the failure was noticed.
        frames_decoded: usize,
        /// ffmpeg's own words (the first error lines).
        detail: String,
    },
    /// ffmpeg's stream description could not be understood.
    #[error("{path}: cannot understand ffmpeg's description of the video stream: {line:?}")]
    UnparsedStream {
        /// The file.
        path: PathBuf,
        /// The line that was read.
        line: String,
    },
    /// A frame given to a writer has the wrong size or pixel format.
    #[error("{path}: frame {index} is {found}, the writer was opened for {expected}")]
    FrameMismatch {
        /// The output file.
        path: PathBuf,
        /// Index of the offending frame.
        index: usize,
        /// What the writer expects.
        expected: String,
        /// What it got.
        found: String,
    },
    /// Writing a video failed.
    #[error("{path}: writing the video failed: {detail}")]
    Encode {
        /// The output file.
        path: PathBuf,
        /// What went wrong (ffmpeg's words where it said any).
        detail: String,
    },
}

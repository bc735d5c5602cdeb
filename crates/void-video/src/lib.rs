//! Video and quadmask I/O through the `ffmpeg` executable.
//!
//! This crate's one job is moving pixels between files and memory: it probes a file ([`probe`]),
//! streams its frames as RGB8 or as one 8-bit channel ([`decode`]), and writes H.264 videos and the
//! lossless quadmask format ([`encode`]). It knows nothing about models, tensors or sequence
//! folders, and it is the only crate of void that starts processes.
//!
//! # Why the ffmpeg executable and not libav
//!
//! void must run unchanged on GPU machines that have no libav libraries; a dynamically linked
//! libav build drags in more than a hundred shared libraries, while a single static `ffmpeg`
//! executable (for example the one the `imageio-ffmpeg` PyPI package ships) can be copied
//! anywhere. The reference implementation reads videos through `mediapy`, which also pipes
//! `rgb24` frames out of the `ffmpeg` executable, so decoding the same way reproduces the
//! reference's pixels exactly. Frames are streamed through a pipe one at a time, never held as a
//! whole clip.
//!
//! # Colour handling
//!
//! | input | handled |
//! |---|---|
//! | yuv420p / yuv422p / yuv444p, 8 or 10 bit, any codec ffmpeg decodes | ✅ converted to RGB8 by ffmpeg's swscale, as the reference does |
//! | rotation metadata | ✅ frames come out display-rotated (ffmpeg's default), sizes are reported after rotation |
//! | variable frame rate | 🟧 converted to constant rate at the reported fps, exactly like the reference's reader |
//! | alpha | 🟧 dropped |
//!
//! Quadmask files store their four values as limited-range luma (see [`quadmask`]).

pub mod decode;
pub mod encode;
mod error;
pub mod ffmpeg;
mod frame;
pub mod probe;
pub mod quadmask;

pub use decode::{DecodeOptions, FrameReader};
pub use encode::{Encoding, VideoWriter};
pub use error::{Error, Result};
pub use ffmpeg::Ffmpeg;
pub use frame::{Frame, PixelFormat};
pub use probe::{Fps, VideoInfo};

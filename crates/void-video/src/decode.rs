//! Streaming decode: frames come out of ffmpeg one at a time through a pipe.
//!
//! The command mirrors `mediapy.read_video`, the reference's reader (`-vcodec rawvideo -f
//! image2pipe -pix_fmt rgb24 -vsync vfr`), so the RGB values are the ones the reference sees.
//! A reader thread keeps ffmpeg decoding while the caller processes the previous frame.

use std::io::{ErrorKind, Read};
use std::process::{Child, ChildStdout, Stdio};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use crate::ffmpeg::{StderrDrain, summarize_stderr};
use crate::{Error, Ffmpeg, Frame, PixelFormat, Result, VideoInfo};

/// Frames decoded ahead of the consumer (each is one full-resolution frame in memory).
const READ_AHEAD_FRAMES: usize = 2;

/// Which pixels to decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pixels {
    /// RGB, three bytes per pixel.
    Rgb,
    /// Only the red channel of the RGB conversion, one byte per pixel: what the reference reads
    /// from a mask video (`read_video(mask)[..., 0]`), at a third of the pipe traffic. ffmpeg
    /// converts to `rgb24` exactly as for [`Pixels::Rgb`] and then keeps the R plane.
    Red,
}

/// What to decode from a video.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Pixel layout of the frames.
    pub pixels: Pixels,
    /// Stop after this many frames (the rest of the file is not decoded).
    pub max_frames: Option<usize>,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            pixels: Pixels::Rgb,
            max_frames: None,
        }
    }
}

/// An iterator over the frames of one video; ffmpeg runs while it is alive.
///
/// Yields `Err` once (then `None`) if ffmpeg reports corrupt data, and [`Error::NoFrames`] if
/// the stream ends before the first frame. Dropping it early stops ffmpeg.
pub struct FrameReader {
    info: VideoInfo,
    format: PixelFormat,
    frames: Receiver<Result<Vec<u8>, std::io::Error>>,
    spare: SyncSender<Vec<u8>>,
    reader: Option<JoinHandle<()>>,
    child: Child,
    stderr: Option<StderrDrain>,
    delivered: usize,
    done: bool,
}

impl FrameReader {
    /// Starts decoding the video `info` describes (see [`crate::probe::probe`]).
    ///
    /// # Errors
    /// [`Error::FfmpegMissing`] if ffmpeg cannot be started.
    pub fn open(ffmpeg: &Ffmpeg, info: &VideoInfo, options: DecodeOptions) -> Result<Self> {
        let format = match options.pixels {
            Pixels::Rgb => PixelFormat::Rgb24,
            Pixels::Red => PixelFormat::Gray8,
        };
        let mut cmd = ffmpeg.command();
        cmd.args(["-v", "error", "-i"]).arg(&info.path);
        cmd.args(["-map", &format!("0:{}", info.stream_index)]);
        if options.pixels == Pixels::Red {
            cmd.args(["-vf", "format=rgb24,extractplanes=r"]);
        }
        if let Some(n) = options.max_frames {
            cmd.args(["-frames:v", &n.to_string()]);
        }
        cmd.args([
            "-vcodec",
            "rawvideo",
            "-f",
            "image2pipe",
            "-pix_fmt",
            format.ffmpeg_name(),
        ]);
        cmd.args(["-vsync", "vfr", "-"]);
        let mut child = ffmpeg.spawn(&mut cmd, Stdio::null(), Stdio::piped())?;
        let stderr = StderrDrain::start(&mut child);
        let stdout = child.stdout.take().ok_or_else(|| Error::Io {
            path: info.path.clone(),
            source: std::io::Error::other("ffmpeg's stdout was not captured"),
        })?;
        enlarge_pipe(&stdout);
        let frame_bytes = Frame::byte_len(info.width, info.height, format);
        let (tx, frames) = sync_channel(READ_AHEAD_FRAMES);
        let (spare, spares) = sync_channel(READ_AHEAD_FRAMES);
        let reader = std::thread::spawn(move || read_frames(stdout, frame_bytes, &tx, &spares));
        Ok(Self {
            info: info.clone(),
            format,
            frames,
            spare,
            reader: Some(reader),
            child,
            stderr: Some(stderr),
            delivered: 0,
            done: false,
        })
    }

    /// The video being decoded.
    pub fn info(&self) -> &VideoInfo {
        &self.info
    }

    /// Hands a finished frame's buffer back for reuse, sparing a large allocation per frame.
    pub fn recycle(&self, frame: Frame) {
        let _ = self.spare.try_send(frame.data);
    }

    /// Waits for ffmpeg after the last frame and turns what it said into the final verdict.
    fn finish(&mut self, read_error: Option<std::io::Error>) -> Option<Error> {
        let status = self.child.wait();
        if let Some(h) = self.reader.take() {
            let _ = h.join();
        }
        let stderr = self
            .stderr
            .take()
            .map(StderrDrain::finish)
            .unwrap_or_default();
        let succeeded = status.is_ok_and(|s| s.success());
        verdict(&self.info, succeeded, &stderr, read_error, self.delivered).err()
    }
}

/// Judges a finished decode: anything ffmpeg said at error level, a failed exit or a broken
/// pipe means corrupt data; no frame at all means an empty stream.
fn verdict(
    info: &VideoInfo,
    succeeded: bool,
    stderr: &str,
    read_error: Option<std::io::Error>,
    frames: usize,
) -> Result<usize> {
    let path = info.path.clone();
    if !stderr.trim().is_empty() || read_error.is_some() || !succeeded {
        let detail = match read_error {
            Some(e) if stderr.trim().is_empty() => e.to_string(),
            _ => summarize_stderr(stderr),
        };
        return Err(Error::Corrupt {
            path,
            frames_decoded: frames,
            detail,
        });
    }
    if frames == 0 {
        return Err(Error::NoFrames { path });
    }
    Ok(frames)
}

/// Counts the frames of a video by decoding it without converting or piping pixels, the way
/// `mediapy` counts them (`-vsync vfr`, so the count matches what [`FrameReader`] yields).
///
/// # Errors
/// [`Error::Corrupt`] or [`Error::NoFrames`] like [`FrameReader`].
pub fn count_frames(ffmpeg: &Ffmpeg, info: &VideoInfo) -> Result<usize> {
    let output = ffmpeg.output(
        ffmpeg
            .command()
            .args(["-v", "error", "-nostats", "-i"])
            .arg(&info.path)
            .args([
                "-map",
                &format!("0:{}", info.stream_index),
                "-vsync",
                "vfr",
                "-f",
                "null",
                "-progress",
                "pipe:1",
                "-",
            ]),
    )?;
    let progress = String::from_utf8_lossy(&output.stdout);
    let frames = progress
        .lines()
        .rev()
        .filter_map(|l| l.strip_prefix("frame="))
        .find_map(|n| n.trim().parse().ok());
    verdict(
        info,
        output.status.success(),
        &String::from_utf8_lossy(&output.stderr),
        None,
        frames.unwrap_or(0),
    )
}

impl Iterator for FrameReader {
    type Item = Result<Frame>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.frames.recv() {
            Ok(Ok(data)) => {
                self.delivered += 1;
                Some(Ok(Frame {
                    width: self.info.width,
                    height: self.info.height,
                    format: self.format,
                    data,
                }))
            }
            outcome => {
                self.done = true;
                let read_error = match outcome {
                    Ok(Err(e)) => Some(e),
                    _ => None,
                };
                self.finish(read_error).map(Err)
            }
        }
    }
}

impl Drop for FrameReader {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Reads whole frames until ffmpeg closes the pipe; a partial last frame is an error.
fn read_frames(
    mut stdout: ChildStdout,
    frame_bytes: usize,
    tx: &SyncSender<Result<Vec<u8>, std::io::Error>>,
    spares: &Receiver<Vec<u8>>,
) {
    loop {
        let mut data = spares.try_recv().unwrap_or_else(|_| vec![0u8; frame_bytes]);
        match read_full(&mut stdout, &mut data) {
            Ok(0) => return,
            Ok(n) if n == frame_bytes => {
                if tx.send(Ok(data)).is_err() {
                    return;
                }
            }
            Ok(n) => {
                let msg = format!("the stream ended inside a frame ({n} of {frame_bytes} bytes)");
                let _ = tx.send(Err(std::io::Error::new(ErrorKind::UnexpectedEof, msg)));
                return;
            }
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        }
    }
}

/// Fills `buf` unless the stream ends first; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Asks Linux for a 1 MiB pipe (default 64 KiB): 16 times fewer wake-ups per 4K frame.
#[cfg(target_os = "linux")]
fn enlarge_pipe(stdout: &ChildStdout) {
    let _ = rustix::pipe::fcntl_setpipe_size(stdout, 1 << 20);
}

#[cfg(not(target_os = "linux"))]
fn enlarge_pipe(_stdout: &ChildStdout) {}

impl std::fmt::Debug for FrameReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameReader")
            .field("path", &self.info.path)
            .field("delivered", &self.delivered)
            .finish()
    }
}

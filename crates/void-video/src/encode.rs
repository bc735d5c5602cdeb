//! Writing videos: H.264 for pictures, lossless H.264 4:4:4 for quadmasks.
//!
//! Frames are piped to ffmpeg as raw video. ffmpeg writes a hidden temporary file next to the
//! target, which is renamed over the target only when every frame was written and ffmpeg
//! succeeded: an interrupted or failed write leaves nothing behind.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Stdio};

use tempfile::TempPath;

use crate::ffmpeg::{StderrDrain, summarize_stderr};
use crate::{Error, Ffmpeg, Fps, Frame, PixelFormat, Result};

/// How a [`VideoWriter`] encodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// libx264, yuv420p, constant quality `crf` (0 lossless .. 51 worst; 18 looks lossless,
    /// the reference writes 25 for its main output and 10 for Pass 2). Takes RGB frames; width
    /// and height must be even.
    H264 {
        /// x264 constant rate factor.
        crf: u8,
    },
    /// libx264 at a constant quantiser `qp`, yuv420p: what `mediapy.write_video` writes (the
    /// reference's `_tuple.mp4` files use 28). Takes RGB frames; even sizes.
    H264Qp {
        /// x264 quantiser.
        qp: u8,
    },
    /// The reference's mask format: libx264 `-qp 0 -preset ultrafast`, yuv444p, taking gray
    /// frames. Values 0/63/127/255 are stored as luma 16/70/125/235 and decode back exactly.
    LosslessMask,
}

impl Encoding {
    /// The raw frame layout this encoding takes.
    pub const fn input_format(self) -> PixelFormat {
        match self {
            Self::H264 { .. } | Self::H264Qp { .. } => PixelFormat::Rgb24,
            Self::LosslessMask => PixelFormat::Gray8,
        }
    }
}

/// An open video being written.
pub struct VideoWriter {
    target: PathBuf,
    temp: Option<TempPath>,
    child: Child,
    stdin: Option<ChildStdin>,
    stderr: Option<StderrDrain>,
    width: u32,
    height: u32,
    format: PixelFormat,
    written: usize,
}

impl VideoWriter {
    /// Starts ffmpeg writing `width`x`height` frames at `fps` to a temporary file beside `target`.
    ///
    /// # Errors
    /// [`Error::Encode`] for odd H.264 sizes or an unwritable folder, [`Error::FfmpegMissing`]
    /// if ffmpeg cannot be started.
    pub fn create(
        ffmpeg: &Ffmpeg,
        target: &Path,
        width: u32,
        height: u32,
        fps: Fps,
        encoding: Encoding,
    ) -> Result<Self> {
        let fail = |detail: String| Error::Encode {
            path: target.to_path_buf(),
            detail,
        };
        if width == 0 || height == 0 {
            return Err(fail(format!("cannot encode {width}x{height} frames")));
        }
        if encoding.input_format() == PixelFormat::Rgb24 && (width % 2 == 1 || height % 2 == 1) {
            return Err(fail(format!(
                "H.264 yuv420p needs an even width and height, got {width}x{height}"
            )));
        }
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".part")
            .tempfile_in(dir)
            .map_err(|e| fail(format!("cannot create a file in {}: {e}", dir.display())))?
            .into_temp_path();

        let format = encoding.input_format();
        let mut cmd = ffmpeg.command();
        cmd.args([
            "-v",
            "error",
            "-y",
            "-f",
            "rawvideo",
            "-pix_fmt",
            format.ffmpeg_name(),
        ]);
        cmd.args([
            "-s",
            &format!("{width}x{height}"),
            "-framerate",
            &fps.to_string(),
            "-i",
            "-",
        ]);
        match encoding {
            Encoding::H264 { crf } => {
                cmd.args([
                    "-c:v",
                    "libx264",
                    "-crf",
                    &crf.to_string(),
                    "-pix_fmt",
                    "yuv420p",
                ]);
                cmd.args(["-movflags", "+faststart"]);
            }
            Encoding::H264Qp { qp } => {
                cmd.args(["-c:v", "libx264", "-qp", &qp.to_string()]);
                cmd.args(["-pix_fmt", "yuv420p", "-movflags", "+faststart"]);
            }
            Encoding::LosslessMask => {
                cmd.args([
                    "-c:v",
                    "libx264",
                    "-qp",
                    "0",
                    "-preset",
                    "ultrafast",
                    "-pix_fmt",
                    "yuv444p",
                ]);
            }
        }
        cmd.args(["-f", "mp4"]).arg(&*temp);
        let mut child = ffmpeg.spawn(&mut cmd, Stdio::piped(), Stdio::null())?;
        let stderr = StderrDrain::start(&mut child);
        let stdin = child.stdin.take();
        Ok(Self {
            target: target.to_path_buf(),
            temp: Some(temp),
            child,
            stdin,
            stderr: Some(stderr),
            width,
            height,
            format,
            written: 0,
        })
    }

    /// Appends one frame.
    ///
    /// # Errors
    /// [`Error::FrameMismatch`] for a frame of another size or layout, [`Error::Encode`] if
    /// ffmpeg stopped accepting data.
    pub fn write(&mut self, frame: &Frame) -> Result<()> {
        let expected_len = Frame::byte_len(self.width, self.height, self.format);
        if (frame.width, frame.height, frame.format) != (self.width, self.height, self.format)
            || frame.data.len() != expected_len
        {
            return Err(Error::FrameMismatch {
                path: self.target.clone(),
                index: self.written,
                expected: Frame::describe(self.width, self.height, self.format),
                found: Frame::describe(frame.width, frame.height, frame.format),
            });
        }
        let stdin = self.stdin.as_mut().ok_or_else(|| Error::Encode {
            path: self.target.clone(),
            detail: "the writer is already closed".into(),
        })?;
        if let Err(e) = stdin.write_all(&frame.data) {
            self.stdin = None;
            let _ = self.child.wait();
            let said = self
                .stderr
                .take()
                .map(StderrDrain::finish)
                .unwrap_or_default();
            let detail = if said.trim().is_empty() {
                e.to_string()
            } else {
                summarize_stderr(&said)
            };
            return Err(Error::Encode {
                path: self.target.clone(),
                detail,
            });
        }
        self.written += 1;
        Ok(())
    }

    /// Frames written so far.
    pub fn frames_written(&self) -> usize {
        self.written
    }

    /// Closes the stream, waits for ffmpeg and moves the finished file onto the target,
    /// replacing any file there. Returns the target path.
    ///
    /// # Errors
    /// [`Error::Encode`] if no frame was written, ffmpeg failed, or the rename failed; the
    /// temporary file is removed in every case.
    pub fn finish(mut self) -> Result<PathBuf> {
        drop(self.stdin.take());
        let status = self.child.wait();
        let said = self
            .stderr
            .take()
            .map(StderrDrain::finish)
            .unwrap_or_default();
        let fail = |detail: String| Error::Encode {
            path: self.target.clone(),
            detail,
        };
        if self.written == 0 {
            return Err(fail("no frames were written".into()));
        }
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => {
                return Err(fail(format!(
                    "ffmpeg exited with {s}: {}",
                    summarize_stderr(&said)
                )));
            }
            Err(e) => return Err(fail(e.to_string())),
        }
        let temp = self
            .temp
            .take()
            .ok_or_else(|| fail("the writer is already finished".into()))?;
        // Temporary files are private (0600); a finished video gets the usual 0644.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&temp, std::fs::Permissions::from_mode(0o644))
                .map_err(|e| fail(format!("cannot set the file's permissions: {e}")))?;
        }
        temp.persist(&self.target).map_err(|e| {
            fail(format!(
                "cannot move the finished file into place: {}",
                e.error
            ))
        })?;
        Ok(self.target.clone())
    }
}

impl Drop for VideoWriter {
    fn drop(&mut self) {
        if self.temp.is_some() {
            drop(self.stdin.take());
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl std::fmt::Debug for VideoWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoWriter")
            .field("target", &self.target)
            .field("written", &self.written)
            .finish()
    }
}

//! Writing a pass's result: the removed video and the reference's side-by-side "tuple".
//!
//! Two layouts. [`Layout::Trimmed`] (default) writes `<seq>.mp4` and `<seq>_tuple.mp4` with the
//! input's frame count and frame rate: the padding frames the model needed are dropped.
//! [`Layout::Reference`] writes what the reference writes: `<seq>-fg=-1-0001.mp4` and
//! `…_tuple.mp4`, every padded frame, 12 fps, the main video at crf 25 and the tuple at qp 28.

use std::path::{Path, PathBuf};

use void_video::{Encoding, Ffmpeg, Fps, Frame, PixelFormat, VideoWriter};

use crate::turbo::TURBO;
use crate::{Pass1Inputs, Result};

/// Which files to write and how.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// `<seq>.mp4` + `<seq>_tuple.mp4`, trimmed to the input's frames, at the input's fps.
    Trimmed,
    /// The reference's names, all padded frames, 12 fps.
    Reference,
}

/// Where a sequence's outputs go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputPaths {
    /// The removed video.
    pub video: PathBuf,
    /// input | mask | output | error heat map.
    pub tuple: PathBuf,
}

impl Layout {
    /// The files of sequence `name` in `dir`: for [`Layout::Reference`] the next free index,
    /// as the reference numbers them (1 + the `_tuple.mp4` files already there).
    pub fn paths(self, dir: &Path, name: &str) -> OutputPaths {
        match self {
            Self::Trimmed => OutputPaths {
                video: dir.join(format!("{name}.mp4")),
                tuple: dir.join(format!("{name}_tuple.mp4")),
            },
            Self::Reference => {
                let prefix = format!("{name}-fg=-1");
                let index = 1 + reference_outputs(dir, &prefix)
                    .iter()
                    .filter(|p| p.to_string_lossy().ends_with("_tuple.mp4"))
                    .count();
                OutputPaths {
                    video: dir.join(format!("{prefix}-{index:04}.mp4")),
                    tuple: dir.join(format!("{prefix}-{index:04}_tuple.mp4")),
                }
            }
        }
    }

    /// Whether sequence `name` already has its outputs in `dir` (the reference skips a
    /// sequence when any `<seq>-fg=-1*.mp4` exists).
    pub fn done(self, dir: &Path, name: &str) -> bool {
        match self {
            Self::Trimmed => {
                let p = self.paths(dir, name);
                p.video.is_file() && p.tuple.is_file()
            }
            Self::Reference => !reference_outputs(dir, &format!("{name}-fg=-1")).is_empty(),
        }
    }
}

/// The `.mp4` files in `dir` whose names start with `prefix`.
fn reference_outputs(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(prefix) && n.ends_with(".mp4"))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Writes `frames` (`f x 3 x h x w` planar f32 in [0, 1], the padded clip) for `inputs` as
/// `layout` says, through temporary files: both outputs appear only once both are complete.
/// `crf` is the main video's quality in the trimmed layout.
///
/// # Errors
/// An encoding error naming the file.
pub fn write_outputs(
    ffmpeg: &Ffmpeg,
    inputs: &Pass1Inputs,
    frames: &[f32],
    paths: &OutputPaths,
    layout: Layout,
    crf: u8,
) -> Result<()> {
    let (h, w) = (
        inputs.sample_size.height as usize,
        inputs.sample_size.width as usize,
    );
    let plane = h * w;
    let padded = inputs.padded_frames();
    assert_eq!(
        frames.len(),
        padded * 3 * plane,
        "frames do not match the inputs"
    );
    let (count, fps, video_enc, tuple_enc) = match layout {
        Layout::Trimmed => (
            inputs.source.video_frames.min(padded),
            inputs.source.video.fps,
            Encoding::H264 { crf },
            Encoding::H264 { crf },
        ),
        Layout::Reference => (
            padded,
            Fps::new(12),
            Encoding::H264 { crf: 25 },
            Encoding::H264Qp { qp: 28 },
        ),
    };
    // Hidden names that match no output pattern until the final rename.
    let tmp = |p: &Path| {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
        p.with_file_name(format!(".{}.partial", name.unwrap_or_default()))
    };
    let (w32, h32) = (w as u32, h as u32);
    let mut video = VideoWriter::create(ffmpeg, &tmp(&paths.video), w32, h32, fps, video_enc)?;
    let mut tuple = VideoWriter::create(ffmpeg, &tmp(&paths.tuple), 4 * w32, h32, fps, tuple_enc)?;
    for i in 0..count {
        let out = &frames[i * 3 * plane..(i + 1) * 3 * plane];
        let input = &inputs.video.frames[inputs.video.pad[i]];
        let levels = &inputs.mask.levels[inputs.mask.pad[i]];
        video.write(&rgb_frame(w, h, |p, c| truncate(out[c * plane + p])))?;
        tuple.write(&tuple_frame(w, h, input, levels, out))?;
    }
    let video = video.finish()?;
    let tuple = tuple.finish()?;
    std::fs::rename(&video, &paths.video).map_err(|e| write_error(&paths.video, e))?;
    std::fs::rename(&tuple, &paths.tuple).map_err(|e| write_error(&paths.tuple, e))?;
    Ok(())
}

fn write_error(path: &Path, e: std::io::Error) -> crate::Error {
    crate::Error::Write {
        path: path.to_path_buf(),
        reason: format!("cannot move the finished file into place: {e}"),
    }
}

/// An interleaved RGB frame whose value at pixel `p`, channel `c` is `value(p, c)`.
fn rgb_frame(w: usize, h: usize, value: impl Fn(usize, usize) -> u8) -> Frame {
    let mut data = Vec::with_capacity(w * h * 3);
    for p in 0..w * h {
        for c in 0..3 {
            data.push(value(p, c));
        }
    }
    Frame {
        width: w as u32,
        height: h as u32,
        format: PixelFormat::Rgb24,
        data,
    }
}

/// The reference's main-video conversion: `(x * 255)` truncated to u8.
fn truncate(x: f32) -> u8 {
    (x * 255.0).clamp(0.0, 255.0) as u8
}

/// mediapy's conversion: `clip(x, 0, 1) * 255 + 0.5`, truncated.
fn rounded(x: f32) -> u8 {
    (x.clamp(0.0, 1.0) * 255.0 + 0.5) as u8
}

/// One tuple frame: `input | mask | output | turbo(mean over channels of |input - output|)`,
/// the mask shown as the quadmask's grey (level / 255).
fn tuple_frame(w: usize, h: usize, input: &[f32], levels: &[u8], out: &[f32]) -> Frame {
    let plane = w * h;
    let mut data = Vec::with_capacity(4 * plane * 3);
    for y in 0..h {
        for panel in 0..4 {
            for x in 0..w {
                let p = y * w + x;
                let px: [f32; 3] = match panel {
                    0 => [input[p], input[plane + p], input[2 * plane + p]],
                    1 => [f32::from(levels[p]) / 255.0; 3],
                    2 => [out[p], out[plane + p], out[2 * plane + p]],
                    _ => {
                        let err = (0..3)
                            .map(|c| (input[c * plane + p] - out[c * plane + p]).abs())
                            .sum::<f32>()
                            / 3.0;
                        TURBO[((err * 256.0) as usize).min(255)]
                    }
                };
                data.extend(px.iter().map(|&v| rounded(v)));
            }
        }
    }
    Frame {
        width: 4 * w as u32,
        height: h as u32,
        format: PixelFormat::Rgb24,
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_match_the_reference() {
        assert_eq!(truncate(0.999), 254);
        assert_eq!(truncate(1.0), 255);
        assert_eq!(rounded(0.999), 255);
        assert_eq!(rounded(-0.1), 0);
    }

    #[test]
    fn tuple_panels() {
        let (w, h) = (2, 1);
        let input = [1.0, 0.0, 0.5, 0.5, 0.0, 0.0];
        let out = [1.0, 1.0, 0.5, 0.5, 0.0, 0.0];
        let f = tuple_frame(w, h, &input, &[255, 63], &out);
        assert_eq!(f.width, 8);
        assert_eq!(&f.data[..6], &[255, 128, 0, 0, 128, 0]);
        assert_eq!(&f.data[6..12], &[255, 255, 255, 63, 63, 63]);
        // Error of pixel 0 is 0 (turbo's first entry), of pixel 1 is 1/3.
        assert_eq!(&f.data[18..21], &[48, 18, 59]);
        let third = TURBO[(256.0f32 / 3.0) as usize].map(rounded);
        assert_eq!(&f.data[21..24], &third);
    }

    #[test]
    fn reference_names_count_earlier_runs() {
        let dir = tempfile::tempdir().unwrap();
        let l = Layout::Reference;
        assert!(!l.done(dir.path(), "lime"));
        let first = l.paths(dir.path(), "lime");
        assert!(first.video.ends_with("lime-fg=-1-0001.mp4"));
        std::fs::write(&first.tuple, b"").unwrap();
        assert!(l.done(dir.path(), "lime"));
        assert!(
            l.paths(dir.path(), "lime")
                .video
                .ends_with("lime-fg=-1-0002.mp4")
        );
        let t = Layout::Trimmed.paths(dir.path(), "lime");
        assert_eq!(t.tuple, dir.path().join("lime_tuple.mp4"));
    }
}

//! A sequence's video and quadmask, decoded and preprocessed into Pass 1's inputs
//! (void-inference-spec §1.3, §1.4 step 7, §13 steps 2–3).
//!
//! Frames are streamed: each decoded frame is resized to the sample size at once, so a 4K clip
//! is never held at full resolution. Padding frames are not copied; they are indices into the
//! source frames, materialised only when a tensor is written.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use void_prep::temporal::{self, MAX_VIDEO_FRAMES, WINDOW_FRAMES};
use void_prep::{AreaResize, SampleSize, mask};
use void_video::decode::Pixels;
use void_video::probe::probe;
use void_video::{DecodeOptions, Ffmpeg, Frame, FrameReader, VideoInfo};

use crate::{Error, MaskStats, Progress, Result, Sequence, Stream, Warning, read_prompt};

/// Largest relative difference between the video's and the mask's aspect ratios that still
/// counts as "the same shape" (a 1920x1080 mask for a 3840x2160 video is fine).
const ASPECT_TOLERANCE: f64 = 0.01;

/// How to preprocess (the reference's `data.sample_size`, `data.max_video_length`,
/// `video_model.temporal_window_size`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrepOptions {
    /// Size every frame is resized to.
    pub sample_size: SampleSize,
    /// Frames beyond this are dropped (rounded down to 4k+1 like the reference).
    pub max_frames: usize,
    /// Frames of one window, the shortest padded length.
    pub window_frames: usize,
    /// Continue when video and mask lengths differ, padding the mask to the video's length.
    pub allow_length_mismatch: bool,
}

impl Default for PrepOptions {
    fn default() -> Self {
        Self {
            sample_size: SampleSize::DEFAULT,
            max_frames: MAX_VIDEO_FRAMES,
            window_frames: WINDOW_FRAMES,
            allow_length_mismatch: false,
        }
    }
}

/// Resized video frames plus the padding that extends them.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoFrames {
    /// One planar `3 × H × W` buffer of values in [0, 1] per source frame.
    pub frames: Vec<Vec<f32>>,
    /// For each padded frame, the source frame it shows.
    pub pad: Vec<usize>,
}

/// Resized, quantised mask frames plus the padding that extends them.
#[derive(Clone, Debug, PartialEq)]
pub struct MaskFrames {
    /// One `H × W` buffer of quadmask levels (0/63/127/255, before inversion) per source frame.
    pub levels: Vec<Vec<u8>>,
    /// For each padded frame, the source frame it shows.
    pub pad: Vec<usize>,
}

impl MaskFrames {
    /// Padded frame `index` as Pass 1's conditioning mask: inverted, scaled and
    /// trimask-requantised, values {1, 127/255, 0}.
    pub fn pass1_frame(&self, index: usize) -> Vec<f32> {
        self.levels[self.pad[index]]
            .iter()
            .map(|&l| mask::pass1_value(l))
            .collect()
    }
}

/// What the preprocessing started from, kept to undo it later.
#[derive(Clone, Debug, PartialEq)]
pub struct Source {
    /// The video as probed (size, fps, codec).
    pub video: VideoInfo,
    /// The mask as probed.
    pub mask: VideoInfo,
    /// Video frames used (after the maximum).
    pub video_frames: usize,
    /// Mask frames used (after the maximum).
    pub mask_frames: usize,
}

/// Everything Pass 1 needs from a sequence folder, except the models.
#[derive(Clone, Debug, PartialEq)]
pub struct Pass1Inputs {
    /// The folder it came from.
    pub sequence: Sequence,
    /// `prompt.json`'s `bg`.
    pub prompt: String,
    /// Size of the frames.
    pub sample_size: SampleSize,
    /// The resized video.
    pub video: VideoFrames,
    /// The resized, quantised mask.
    pub mask: MaskFrames,
    /// The original files.
    pub source: Source,
    /// Counts of the mask at native resolution (frames used only).
    pub mask_stats: MaskStats,
    /// What the user should know.
    pub warnings: Vec<Warning>,
}

impl Pass1Inputs {
    /// Frames after padding (8k+5 in [85, 197] by default).
    pub fn padded_frames(&self) -> usize {
        self.video.pad.len()
    }

    /// Latent frames the VAE will make of the padded clip.
    pub fn latent_frames(&self) -> usize {
        temporal::latent_frames(self.padded_frames())
    }
}

/// Reads, checks and preprocesses a sequence exactly like the reference's
/// `get_video_mask_input` followed by Pass 1's mask requantisation.
///
/// Checks come before decoding where they can: the prompt, that both files are videos, and
/// that their aspect ratios agree. Frame counts are compared after decoding.
///
/// # Errors
/// Any [`Error`] about the prompt or the files; [`Error::LengthMismatch`] unless
/// `options.allow_length_mismatch`.
pub fn load_pass1_inputs(
    ffmpeg: &Ffmpeg,
    sequence: &Sequence,
    options: &PrepOptions,
    on_progress: &mut dyn FnMut(Progress),
) -> Result<Pass1Inputs> {
    let (prompt, video_info, mask_info) = read_headers(ffmpeg, sequence)?;
    check_aspect(&video_info, &mask_info)?;
    let max_frames = temporal::rounded_max_frames(options.max_frames);
    // Fail on impossible limits before any decoding.
    temporal::padded_len(1, options.window_frames, max_frames)?;

    // Video and mask decode side by side: each ffmpeg is partly serial, so two keep the cores
    // busier than one after the other.
    let size = options.sample_size;
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel();
    let (video_tx, mask_tx) = (tx.clone(), tx);
    let (frames, (levels, mask_stats)) = std::thread::scope(|scope| {
        let video = scope.spawn(|| {
            let resize = AreaResize::new(video_info.width, video_info.height, size);
            let mut frames = Vec::new();
            let tx = video_tx; // moved in, so the channel closes when this thread ends
            let report = |p| {
                let _ = tx.send(p);
            };
            let done = for_each_frame(
                ffmpeg,
                &video_info,
                Pixels::Rgb,
                Some(max_frames),
                Stream::Video,
                &stop,
                report,
                |f| {
                    let mut planes = vec![0f32; 3 * size.pixels()];
                    resize.resize_rgb_unit(&f.data, &mut planes);
                    frames.push(planes);
                },
            );
            stop_on_error(done.map(|()| frames), &stop)
        });
        let mask = scope.spawn(|| {
            let resize = AreaResize::new(mask_info.width, mask_info.height, size);
            let (mut levels, mut stats) = (Vec::new(), MaskStats::default());
            let mut averaged = vec![0f32; size.pixels()];
            let tx = mask_tx;
            let report = |p| {
                let _ = tx.send(p);
            };
            let done = for_each_frame(
                ffmpeg,
                &mask_info,
                Pixels::Red,
                Some(max_frames),
                Stream::Mask,
                &stop,
                report,
                |f| {
                    stats.add_frame(&f.data);
                    resize.resize_gray(&f.data, &mut averaged);
                    levels.push(
                        averaged
                            .iter()
                            .map(|&v| mask::quantize(v))
                            .collect::<Vec<u8>>(),
                    );
                },
            );
            stop_on_error(done.map(|()| (levels, stats)), &stop)
        });
        for p in rx {
            on_progress(p);
        }
        Ok::<_, Error>((join(video)?, join(mask)?))
    })?;

    let mut warnings = sequence.warnings.clone();
    let (video_frames, mask_frames) = (frames.len(), levels.len());
    if video_frames != mask_frames {
        if !options.allow_length_mismatch {
            return Err(Error::LengthMismatch {
                video: sequence.video.clone(),
                video_frames,
                mask: sequence.mask.clone(),
                mask_frames,
            });
        }
        warnings.push(Warning::LengthMismatch {
            video_frames,
            mask_frames,
        });
    }
    warnings.extend(mask_stats.warnings());

    // The reference pads video and mask independently; with equal lengths that is one padding.
    // With a tolerated mismatch the mask is bounced to the video's length so the two stay
    // the same size.
    let target = temporal::padded_len(video_frames, options.window_frames, max_frames)?;
    let video = VideoFrames {
        frames,
        pad: temporal::bounce_indices(video_frames, target),
    };
    let mask = MaskFrames {
        levels,
        pad: temporal::bounce_indices(mask_frames, target),
    };
    Ok(Pass1Inputs {
        sequence: sequence.clone(),
        prompt,
        sample_size: size,
        video,
        mask,
        source: Source {
            video: video_info,
            mask: mask_info,
            video_frames,
            mask_frames,
        },
        mask_stats,
        warnings,
    })
}

/// The cheap reads that come before any decoding: the prompt, then each stream's description.
pub(crate) fn read_headers(
    ffmpeg: &Ffmpeg,
    sequence: &Sequence,
) -> Result<(String, VideoInfo, VideoInfo)> {
    let prompt = read_prompt(&sequence.prompt)?;
    Ok((
        prompt,
        probe(ffmpeg, &sequence.video)?,
        probe(ffmpeg, &sequence.mask)?,
    ))
}

/// Decodes `info` (up to `max_frames` frames, all when `None`), handing each to `each` and reporting progress;
/// stops early (successfully) once `stop` is set by a sibling that failed.
#[allow(clippy::too_many_arguments)]
pub(crate) fn for_each_frame(
    ffmpeg: &Ffmpeg,
    info: &VideoInfo,
    pixels: Pixels,
    max_frames: Option<usize>,
    stream: Stream,
    stop: &AtomicBool,
    mut report: impl FnMut(Progress),
    mut each: impl FnMut(&Frame),
) -> Result<()> {
    let total = info
        .estimated_frames()
        .map(|n| max_frames.map_or(n, |m| n.min(m)));
    let mut reader = FrameReader::open(ffmpeg, info, DecodeOptions { pixels, max_frames })?;
    let mut done = 0;
    while let Some(frame) = reader.next() {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let frame = frame?;
        each(&frame);
        reader.recycle(frame);
        done += 1;
        report(Progress {
            stream,
            done,
            total,
        });
    }
    Ok(())
}

/// A scoped thread's result; its panic, if any, continues in the caller.
fn join<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e))
}

/// Tells the sibling decoder to stop when this one failed.
fn stop_on_error<T>(result: Result<T>, stop: &AtomicBool) -> Result<T> {
    if result.is_err() {
        stop.store(true, Ordering::Relaxed);
    }
    result
}

/// Refuses a mask whose shape cannot line up with the video.
pub(crate) fn check_aspect(video: &VideoInfo, mask: &VideoInfo) -> Result<()> {
    let video_aspect = f64::from(video.width) / f64::from(video.height);
    let mask_aspect = f64::from(mask.width) / f64::from(mask.height);
    if (video_aspect / mask_aspect - 1.0).abs() > ASPECT_TOLERANCE {
        return Err(Error::AspectMismatch {
            video: video.path.clone(),
            video_width: video.width,
            video_height: video.height,
            mask: mask.path.clone(),
            mask_width: mask.width,
            mask_height: mask.height,
        });
    }
    Ok(())
}

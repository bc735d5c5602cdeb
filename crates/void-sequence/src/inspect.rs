//! A summary of a sequence folder without preprocessing it: what `void inspect` prints.

use std::sync::atomic::AtomicBool;
use void_prep::temporal;
use void_video::decode::{Pixels, count_frames};

use void_video::{Ffmpeg, VideoInfo};

use crate::inputs::{check_aspect, for_each_frame, read_headers};
use crate::{MaskStats, PrepOptions, Progress, Result, Sequence, Stream, Warning};

/// What a sequence holds and what Pass 1 would make of it.
#[derive(Clone, Debug, PartialEq)]
pub struct Inspection {
    /// The folder and its files.
    pub sequence: Sequence,
    /// `prompt.json`'s `bg`.
    pub prompt: String,
    /// The video as probed.
    pub video: VideoInfo,
    /// Frames decoded from the video (all of them).
    pub video_frames: usize,
    /// The mask as probed.
    pub mask: VideoInfo,
    /// Pixel counts of the whole mask at native resolution.
    pub mask_stats: MaskStats,
    /// Frames Pass 1 will use after dropping those beyond the maximum and padding.
    pub padded_frames: usize,
    /// Latent frames of the padded clip.
    pub latent_frames: usize,
    /// Problems found; length and aspect mismatches here would stop `void preprocess`.
    pub warnings: Vec<Warning>,
}

/// Probes and decodes a sequence's files (every frame of the mask, to count its classes).
///
/// # Errors
/// The prompt, probe and decode errors of the sequence's files.
pub fn inspect(
    ffmpeg: &Ffmpeg,
    sequence: &Sequence,
    options: &PrepOptions,
    on_progress: &mut dyn FnMut(Progress),
) -> Result<Inspection> {
    let (prompt, video, mask) = read_headers(ffmpeg, sequence)?;
    let mut warnings = sequence.warnings.clone();
    if check_aspect(&video, &mask).is_err() {
        warnings.push(Warning::AspectMismatch {
            video: format!("{}x{}", video.width, video.height),
            mask: format!("{}x{}", mask.width, mask.height),
        });
    }
    on_progress(Progress {
        stream: Stream::Video,
        done: 0,
        total: video.estimated_frames(),
    });
    let video_frames = count_frames(ffmpeg, &video)?;
    on_progress(Progress {
        stream: Stream::Video,
        done: video_frames,
        total: Some(video_frames),
    });

    let mut mask_stats = MaskStats::default();
    let never = AtomicBool::new(false);
    for_each_frame(
        ffmpeg,
        &mask,
        Pixels::Red,
        None,
        Stream::Mask,
        &never,
        on_progress,
        |f| {
            mask_stats.add_frame(&f.data);
        },
    )?;

    let max_frames = temporal::rounded_max_frames(options.max_frames);
    let used = |n: usize| n.min(max_frames);
    if used(video_frames) != used(mask_stats.frames) {
        warnings.push(Warning::LengthMismatch {
            video_frames,
            mask_frames: mask_stats.frames,
        });
    }
    warnings.extend(mask_stats.warnings());
    let padded_frames =
        temporal::padded_len(used(video_frames), options.window_frames, max_frames)?;
    Ok(Inspection {
        sequence: sequence.clone(),
        prompt,
        video,
        video_frames,
        mask,
        mask_stats,
        padded_frames,
        latent_frames: temporal::latent_frames(padded_frames),
        warnings,
    })
}

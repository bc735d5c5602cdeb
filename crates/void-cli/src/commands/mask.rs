//! `void mask segment`: clicks and boxes to a frame-aligned black mask with SAM2.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};
use void_mask::{Prompts, segment};
use void_prep::bicubic::resize_bicubic;
use void_video::{DecodeOptions, Encoding, Ffmpeg, FrameReader, VideoWriter};
use void_weights::sam2::load_sam2;

use super::device;
use crate::cli::MaskSegmentArgs;

/// Runs `void mask segment`.
pub fn segment_video(
    ffmpeg: &Ffmpeg,
    args: &MaskSegmentArgs,
    quiet: bool,
) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let info = void_video::probe::probe(ffmpeg, &args.video)?;
    let (w, h) = (info.width as usize, info.height as usize);
    let prompts = read_prompts(args, w as f32, h as f32)?;

    let device = device(args.device)?;
    let load = Instant::now();
    let model = load_sam2(
        &args.sam2_checkpoint,
        args.sam2_config.as_deref(),
        args.fill_holes,
        &device,
    )?;
    let s = model.image_size();
    let load_s = load.elapsed().as_secs_f64();

    // The video is read twice (to the last prompted frame, then from the first on); only the
    // frames before the first prompted frame are kept, as the model's S x S RGB bytes.
    let count = Instant::now();
    let n = void_video::decode::count_frames(ffmpeg, &info)
        .with_context(|| format!("counting the frames of {}", args.video.display()))?;
    prompts
        .validate(n, w as f32, h as f32)
        .with_context(|| format!("prompts for {}", args.video.display()))?;
    let count_s = count.elapsed().as_secs_f64();

    let track = Instant::now();
    let objects = prompts.objects.len();
    let track_bar = bar(quiet, Some(n as u64), "track", "frames");
    let video = args.video.clone();
    let mut source =
        || -> void_mask::Result<Box<dyn Iterator<Item = void_mask::Result<Vec<u8>>>>> {
            let reader = FrameReader::open(ffmpeg, &info, DecodeOptions::default())
                .map_err(|e| void_mask::Error::Frames(format!("{}: {e}", video.display())))?;
            let video = video.clone();
            Ok(Box::new(reader.map(move |frame| {
                frame
                    .map(|f| resize_bicubic(&f.data, w, h, 3, s, s))
                    .map_err(|e| void_mask::Error::Frames(format!("{}: {e}", video.display())))
            })))
        };
    let seg = segment(&model, &mut source, n, (w, h), &prompts, &device, |done| {
        track_bar.set_position(done as u64);
    })?;
    track_bar.finish_and_clear();
    let track_s = track.elapsed().as_secs_f64();

    let write = Instant::now();
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut empty = 0;
    let mut writer = VideoWriter::create(
        ffmpeg,
        &args.out.join("black_mask.mp4"),
        info.width,
        info.height,
        info.fps,
        Encoding::LosslessMask,
    )?;
    for f in 0..n {
        let mask = seg.black_frame(f, w, h)?;
        if !mask.contains(&0) {
            empty += 1;
        }
        writer.write(&gray(mask, info.width, info.height))?;
    }
    let target = writer.finish()?;
    if args.per_object && objects > 1 {
        for (id, _) in &seg.objects {
            let mut writer = VideoWriter::create(
                ffmpeg,
                &args.out.join(format!("black_mask_{id}.mp4")),
                info.width,
                info.height,
                info.fps,
                Encoding::LosslessMask,
            )?;
            for f in 0..n {
                writer.write(&gray(
                    seg.object_frame(*id, f, w, h)?,
                    info.width,
                    info.height,
                ))?;
            }
            writer.finish()?;
        }
    }
    write_info(
        &args.out.join("segmentation_info.json"),
        args,
        &prompts,
        n,
        w,
        h,
        info.fps.as_f64(),
    )?;
    let write_s = write.elapsed().as_secs_f64();
    if empty == n {
        eprintln!("warning: SAM2 found the object on no frame; the mask is all background (255)");
    } else if empty > 0 {
        eprintln!("note: {empty} of {n} frames have no object pixels");
    }
    eprintln!(
        "{}: {n} frames at {w}x{h}, {objects} object(s); load {load_s:.1} s, count frames {count_s:.1} s, decode + resize + track {track_s:.1} s ({:.1} frames/s), write {write_s:.1} s; total {:.1} s",
        target.display(),
        n as f64 / track_s.max(1e-9),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// The prompts of the command line and of --points-json.
fn read_prompts(args: &MaskSegmentArgs, w: f32, h: f32) -> anyhow::Result<Prompts> {
    let mut prompts = Prompts::default();
    for spec in &args.points {
        prompts.add_points(spec)?;
    }
    for spec in &args.boxes {
        prompts.add_box(spec)?;
    }
    if let Some(path) = &args.points_json {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let json: Value =
            serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?;
        let entries = json
            .get("videos")
            .unwrap_or(&json)
            .as_array()
            .with_context(|| {
                format!(
                    "{}: expected a list of videos or {{\"videos\": [...]}}",
                    path.display()
                )
            })?;
        let name = args.video.file_name();
        let entry = match entries.as_slice() {
            [one] => one,
            many => many
                .iter()
                .find(|e| {
                    e.get("video_path")
                        .and_then(Value::as_str)
                        .map(|p| Path::new(p).file_name())
                        == Some(name)
                })
                .with_context(|| {
                    format!(
                        "{}: no entry's video_path names {}",
                        path.display(),
                        args.video.display()
                    )
                })?,
        };
        prompts
            .add_reference_entry(entry, w, h, !args.no_auto_box)
            .with_context(|| path.display().to_string())?;
    }
    if prompts.objects.is_empty() {
        bail!("nothing to segment: give --points, --box or --points-json");
    }
    Ok(prompts)
}

/// `segmentation_info.json` with the reference's fields, written whole or not at all.
fn write_info(
    path: &Path,
    args: &MaskSegmentArgs,
    prompts: &Prompts,
    frames: usize,
    w: usize,
    h: usize,
    fps: f64,
) -> anyhow::Result<()> {
    let mut by_frame = prompts.points_by_frame();
    by_frame.retain(|_, points| !points.is_empty());
    let prompted: Vec<usize> = prompts
        .objects
        .values()
        .flat_map(|frames| frames.keys().copied())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let points: serde_json::Map<String, Value> = by_frame
        .iter()
        .map(|(f, p)| (f.to_string(), json!(p)))
        .collect();
    let info = json!({
        "total_frames": frames,
        "frame_width": w,
        "frame_height": h,
        "fps": fps,
        "num_points": by_frame.values().map(Vec::len).sum::<usize>(),
        "points_by_frame": points,
        "video_path": args.video,
        "instruction": args.instruction,
        "primary_points_by_frame": points,
        "primary_frames": prompted,
        "first_appears_frame": prompted.first(),
        "objects": prompts.objects.keys().collect::<Vec<_>>(),
        "sam2_checkpoint": args.sam2_checkpoint,
    });
    let part = path.with_extension("json.part");
    let mut file =
        std::fs::File::create(&part).with_context(|| format!("writing {}", part.display()))?;
    file.write_all(serde_json::to_string_pretty(&info)?.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&part, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn gray(data: Vec<u8>, width: u32, height: u32) -> void_video::Frame {
    void_video::Frame {
        width,
        height,
        format: void_video::PixelFormat::Gray8,
        data,
    }
}

fn bar(quiet: bool, len: Option<u64>, prefix: &str, unit: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        len,
        if quiet {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        },
    );
    let template = format!(
        "{{prefix:>18}} {{bar:30}} {{pos:>4}}/{{len:4}} {unit} {{per_sec:>11}} {{elapsed}}"
    );
    bar.set_style(
        ProgressStyle::with_template(&template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_prefix(prefix.to_string());
    bar
}

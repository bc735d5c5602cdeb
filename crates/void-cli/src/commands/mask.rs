//! `void mask segment`: clicks and boxes to a frame-aligned black mask with SAM2.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};
use void_mask::combine::{combine, first_frame_rule};
use void_mask::{CellSpec, Grid, Prompts, segment, union};
use void_prep::bicubic::resize_bicubic;
use void_video::{DecodeOptions, Encoding, Ffmpeg, FrameReader, VideoWriter};
use void_weights::sam2::load_sam2;

use super::device;
use crate::cli::{AffectedArg, MaskSegmentArgs, MaskSequenceArgs};

/// The input video: its stream, its frame count (decoded once to count, as the reader will
/// yield them) and how long counting took.
struct Video {
    info: void_video::VideoInfo,
    frames: usize,
    count_s: f64,
}

impl Video {
    fn open(ffmpeg: &Ffmpeg, path: &Path) -> anyhow::Result<Self> {
        let info = void_video::probe::probe(ffmpeg, path)?;
        let count = Instant::now();
        let frames = void_video::decode::count_frames(ffmpeg, &info)
            .with_context(|| format!("counting the frames of {}", path.display()))?;
        Ok(Self {
            info,
            frames,
            count_s: count.elapsed().as_secs_f64(),
        })
    }
}

/// A video segmented: the prompts, the masks and how long loading and tracking took.
struct Tracked {
    prompts: Prompts,
    seg: void_mask::Segmentation,
    /// (load, track) seconds.
    seconds: (f64, f64),
}

/// Loads SAM2 and tracks the prompted objects through `video`.
fn track(
    ffmpeg: &Ffmpeg,
    args: &MaskSegmentArgs,
    video: &Video,
    quiet: bool,
) -> anyhow::Result<Tracked> {
    let (info, n) = (&video.info, video.frames);
    let (w, h) = (info.width as usize, info.height as usize);
    let prompts = read_prompts(args, w as f32, h as f32)?;
    prompts
        .validate(n, w as f32, h as f32)
        .with_context(|| format!("prompts for {}", args.video.display()))?;

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

    let start = Instant::now();
    let track_bar = bar(quiet, Some(n as u64), "track", "frames");
    let video = args.video.clone();
    let mut source =
        || -> void_mask::Result<Box<dyn Iterator<Item = void_mask::Result<Vec<u8>>>>> {
            let reader = FrameReader::open(ffmpeg, info, DecodeOptions::default())
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
    Ok(Tracked {
        prompts,
        seg,
        seconds: (load_s, start.elapsed().as_secs_f64()),
    })
}

/// Runs `void mask segment`.
pub fn segment_video(
    ffmpeg: &Ffmpeg,
    args: &MaskSegmentArgs,
    quiet: bool,
) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let video = Video::open(ffmpeg, &args.video)?;
    let Tracked {
        prompts,
        seg,
        seconds: (load_s, track_s),
    } = track(ffmpeg, args, &video, quiet)?;
    let (info, n, count_s) = (&video.info, video.frames, video.count_s);
    let (w, h) = (info.width as usize, info.height as usize);
    let objects = prompts.objects.len();

    let write = Instant::now();
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    // One pass: each object's mask is upsampled once, the union derived from them.
    let mut paths = vec![args.out.join("black_mask.mp4")];
    let per_object = args.per_object && objects > 1;
    if per_object {
        paths.extend(
            seg.objects
                .iter()
                .map(|(id, _)| args.out.join(format!("black_mask_{id}.mp4"))),
        );
    }
    let mut empty = 0;
    write_masks(ffmpeg, &paths, info, n, |f| {
        let masks = seg.object_frames(f, w, h)?;
        let black = union(&masks, w * h);
        if !black.contains(&0) {
            empty += 1;
        }
        let mut frames = vec![black];
        if per_object {
            frames.extend(masks);
        }
        Ok(frames)
    })?;
    let target = &paths[0];
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

/// Writes lossless mask videos at the video's size and fps, one per path, in one pass over the
/// `n` frames: `frames(i)` gives frame `i` of each, in path order. Each file appears only when
/// complete.
fn write_masks(
    ffmpeg: &Ffmpeg,
    paths: &[std::path::PathBuf],
    info: &void_video::VideoInfo,
    n: usize,
    mut frames: impl FnMut(usize) -> anyhow::Result<Vec<Vec<u8>>>,
) -> anyhow::Result<()> {
    let mut writers = paths
        .iter()
        .map(|path| {
            VideoWriter::create(
                ffmpeg,
                path,
                info.width,
                info.height,
                info.fps,
                Encoding::LosslessMask,
            )
        })
        .collect::<void_video::Result<Vec<_>>>()?;
    for f in 0..n {
        for (writer, frame) in writers.iter_mut().zip(frames(f)?) {
            writer.write(&gray(frame, info.width, info.height))?;
        }
    }
    for writer in writers {
        writer.finish()?;
    }
    Ok(())
}

/// Runs `void mask build VIDEO --out SEQ`: segmentation, the affected region (none, or cells by
/// hand), the reference's combination, and a sequence folder `void remove` takes.
pub fn build_sequence(
    ffmpeg: &Ffmpeg,
    args: &MaskSequenceArgs,
    quiet: bool,
) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let seg_args = &args.segment;
    let out = &seg_args.out;
    // Everything that can be refused is refused before the long work.
    match (args.affected, args.affected_cells.is_empty()) {
        (None, _) => bail!(
            "choose where the affected (grey) region comes from: --affected none, or --affected cells with --affected-cells; the VLM stage that finds shadows, reflections and moved objects is not built yet"
        ),
        (Some(AffectedArg::Cells), true) => bail!("--affected cells needs --affected-cells"),
        (Some(AffectedArg::None), false) => bail!("--affected-cells needs --affected cells"),
        _ => {}
    }
    let video = Video::open(ffmpeg, &seg_args.video)?;
    let (info, n) = (&video.info, video.frames);
    let (w, h) = (info.width as usize, info.height as usize);
    let grid = Grid::new(w, h, args.min_grid.max(1));
    let cells = args
        .affected_cells
        .iter()
        .map(|spec| CellSpec::parse(spec, &grid, n))
        .collect::<void_mask::Result<Vec<_>>>()?;
    let input_copy = out.join("input_video.mp4");
    let same_input = input_copy.exists() && same_file(&input_copy, &seg_args.video)?;
    if input_copy.exists() && !same_input {
        bail!(
            "{} exists and is not {}: a sequence folder holds one video; choose another --out",
            input_copy.display(),
            seg_args.video.display()
        );
    }
    for name in ["quadmask_0.mp4", "prompt.json"] {
        if out.join(name).exists() && !args.force {
            bail!("{} exists; --force replaces it", out.join(name).display());
        }
    }

    let tracked = track(ffmpeg, seg_args, &video, quiet)?;
    let seg = &tracked.seg;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let write = Instant::now();
    let grey = |f: usize| -> Vec<u8> {
        let mut frame = vec![255u8; w * h];
        for spec in cells.iter().filter(|c| c.covers(f)) {
            grid.fill(&mut frame, &spec.cells, 127);
        }
        frame
    };
    let paths = ["black_mask.mp4", "grey_mask.mp4", "quadmask_0.mp4"].map(|name| out.join(name));
    write_masks(ffmpeg, &paths, info, n, |f| {
        let (black, grey) = (seg.black_frame(f, w, h)?, grey(f));
        let mut quad = combine(&black, &grey);
        if f == 0 {
            first_frame_rule(&mut quad);
        }
        Ok(vec![black, grey, quad])
    })?;
    write_info(
        &out.join("segmentation_info.json"),
        seg_args,
        &tracked.prompts,
        n,
        w,
        h,
        info.fps.as_f64(),
    )?;
    let prompt =
        serde_json::to_string_pretty(&json!({ "bg": args.bg.clone().unwrap_or_default() }))?;
    write_atomically(&out.join("prompt.json"), prompt.as_bytes())?;
    if !same_input {
        let part = out.join(".input_video.mp4.part");
        std::fs::copy(&seg_args.video, &part).with_context(|| {
            format!(
                "copying {} into {}",
                seg_args.video.display(),
                out.display()
            )
        })?;
        std::fs::rename(&part, &input_copy)?;
    }
    if args.bg.is_none() {
        eprintln!(
            "note: prompt.json has an empty \"bg\"; describe the scene after the removal with --bg"
        );
    }
    let (load_s, track_s) = tracked.seconds;
    let count_s = video.count_s;
    eprintln!(
        "{}: {n} frames at {w}x{h} (grid {}x{}); load {load_s:.1} s, count {count_s:.1} s, track {track_s:.1} s, write {:.1} s; total {:.1} s",
        out.display(),
        grid.rows,
        grid.cols,
        write.elapsed().as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// Whether two paths name the same file, or files with the same bytes.
fn same_file(a: &Path, b: &Path) -> anyhow::Result<bool> {
    if a.canonicalize()? == b.canonicalize()? {
        return Ok(true);
    }
    let (ma, mb) = (std::fs::metadata(a)?, std::fs::metadata(b)?);
    Ok(ma.len() == mb.len() && std::fs::read(a)? == std::fs::read(b)?)
}

/// Writes `bytes` to `path` through a temporary file beside it.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let part = path.with_extension("part");
    let mut file =
        std::fs::File::create(&part).with_context(|| format!("writing {}", part.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&part, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
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

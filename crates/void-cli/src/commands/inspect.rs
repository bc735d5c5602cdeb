//! `void inspect`: what each sequence holds and what Pass 1 will make of it.

use std::path::Path;
use std::process::ExitCode;

use serde_json::{Value, json};
use void_sequence::{Inspection, MaskStats, inspect};
use void_video::quadmask::Class;
use void_video::{Ffmpeg, VideoInfo};

use crate::cli::InspectArgs;
use crate::progress::DecodeBars;

/// Inspects every sequence named or found; failures are reported and make the exit code 1,
/// without stopping the others.
pub fn run(ffmpeg: &Ffmpeg, args: &InspectArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let options = args.prep.options();
    let mut failed = false;
    let mut reports = Vec::new();
    for target in super::expand(&args.paths, &args.seqs) {
        let outcome = target.and_then(|seq| {
            let mut bars = DecodeBars::new(&seq.name, quiet);
            let result = inspect(ffmpeg, &seq, &options, &mut |p| bars.update(p));
            bars.finish();
            result
        });
        match outcome {
            Ok(report) if args.json => reports.push(to_json(&report)),
            Ok(report) => print!("{}", to_text(&report)),
            Err(err) => {
                failed = true;
                if args.json {
                    reports.push(json!({ "error": err.to_string() }));
                }
                eprintln!("error: {err}");
            }
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Sequence folders as given, data roots expanded; plain files are skipped with a note.
fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn class_rows(stats: &MaskStats) -> Vec<(&'static str, u64)> {
    let mut rows: Vec<(&str, u64)> = Class::ALL
        .iter()
        .map(|&c| (c.name(), stats.class_pixels(c)))
        .collect();
    rows.push(("off-level", stats.off_level_pixels()));
    rows
}

fn to_text(r: &Inspection) -> String {
    let stream = |info: &VideoInfo, frames: usize| {
        format!(
            "{}: {}, {}, {}x{}, {} fps, {frames} frames",
            file_name(&info.path),
            info.codec,
            info.pixel_format,
            info.width,
            info.height,
            info.fps
        )
    };
    let classes: Vec<String> = class_rows(&r.mask_stats)
        .into_iter()
        .map(|(name, n)| format!("{name} {:.2}%", 100.0 * r.mask_stats.share(n)))
        .collect();
    let used = r.video_frames.min(r.padded_frames);
    let mut s = format!("{}  ({})\n", r.sequence.name, r.sequence.dir.display());
    s += &format!("  video    {}\n", stream(&r.video, r.video_frames));
    s += &format!("  mask     {}\n", stream(&r.mask, r.mask_stats.frames));
    s += &format!("  classes  {}\n", classes.join("  "));
    s += &format!("  prompt   {:?}\n", r.prompt);
    s += &format!(
        "  pass 1   {used} frames used + {} mirrored = {} frames -> {} latent frames\n",
        r.padded_frames - used,
        r.padded_frames,
        r.latent_frames
    );
    for w in &r.warnings {
        s += &format!("  warning  {w}\n");
    }
    s + "\n"
}

fn to_json(r: &Inspection) -> Value {
    let stream = |info: &VideoInfo, frames: usize| {
        json!({
            "file": info.path,
            "codec": info.codec,
            "pixel_format": info.pixel_format,
            "width": info.width,
            "height": info.height,
            "fps": info.fps.to_string(),
            "frames": frames,
        })
    };
    let mut mask = stream(&r.mask, r.mask_stats.frames);
    let classes: serde_json::Map<String, Value> = class_rows(&r.mask_stats)
        .into_iter()
        .map(|(name, n)| {
            (
                name.to_string(),
                json!({ "pixels": n, "share": r.mask_stats.share(n) }),
            )
        })
        .collect();
    mask["classes"] = Value::Object(classes);
    json!({
        "sequence": r.sequence.name,
        "dir": r.sequence.dir,
        "prompt": r.prompt,
        "video": stream(&r.video, r.video_frames),
        "mask": mask,
        "pass1": {
            "frames_used": r.video_frames.min(r.padded_frames),
            "padded_frames": r.padded_frames,
            "latent_frames": r.latent_frames,
        },
        "warnings": r.warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}

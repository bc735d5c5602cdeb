//! `void preprocess`: the tensors Pass 1 consumes, written to a safetensors file.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::bail;
use void_sequence::{Sequence, load_pass1_inputs, write_safetensors};
use void_video::Ffmpeg;

use crate::cli::PreprocessArgs;
use crate::progress::DecodeBars;

/// Preprocesses one sequence and writes the result.
pub fn run(ffmpeg: &Ffmpeg, args: &PreprocessArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let seq = Sequence::open(&args.sequence)?;
    refuse_unsafe_output(&args.out, &seq, args.force)?;

    let start = Instant::now();
    let mut bars = DecodeBars::new(&seq.name, quiet);
    let inputs = load_pass1_inputs(ffmpeg, &seq, &args.prep.options(), &mut |p| bars.update(p));
    bars.finish();
    let inputs = inputs?;
    for w in &inputs.warnings {
        eprintln!("warning: {}: {w}", seq.name);
    }
    let decoded = start.elapsed();
    write_safetensors(&inputs, &args.out)?;
    let total = start.elapsed();

    let src = &inputs.source;
    eprintln!(
        "{}: {} video + {} mask frames ({}x{} -> {}) padded to {} frames ({} latent); wrote {}",
        seq.name,
        src.video_frames,
        src.mask_frames,
        src.video.width,
        src.video.height,
        inputs.sample_size,
        inputs.padded_frames(),
        inputs.latent_frames(),
        args.out.display()
    );
    eprintln!(
        "time: decode + preprocess {:.2} s ({:.1} video frames/s), write {:.2} s, total {:.2} s",
        decoded.as_secs_f64(),
        src.video_frames as f64 / decoded.as_secs_f64(),
        (total - decoded).as_secs_f64(),
        total.as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// Never overwrite an input; overwrite an earlier output only with `--force`.
fn refuse_unsafe_output(out: &Path, seq: &Sequence, force: bool) -> anyhow::Result<()> {
    if let Ok(out_real) = out.canonicalize() {
        for input in [&seq.video, &seq.mask, &seq.prompt] {
            if input.canonicalize().is_ok_and(|i| i == out_real) {
                bail!(
                    "{}: this is an input of the sequence; choose another --out",
                    out.display()
                );
            }
        }
        if !force {
            bail!(
                "{}: already exists; pass --force to replace it",
                out.display()
            );
        }
    }
    let dir = out
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        bail!(
            "{}: the folder {} does not exist",
            out.display(),
            dir.display()
        );
    }
    Ok(())
}

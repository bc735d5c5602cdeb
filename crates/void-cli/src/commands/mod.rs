//! The subcommands.

mod download;
mod inspect;
mod mask;
mod parity;
mod preprocess;
mod remove;

use std::process::ExitCode;

use anyhow::Context;
use void_video::Ffmpeg;

use std::path::{Path, PathBuf};

use void_sequence::{Selection, Sequence, discover, is_sequence_dir};

use crate::cli::{Cli, Command, DeviceArg, MaskCommand, ParityCommand};

/// Runs one parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let ffmpeg = || Ffmpeg::new(&cli.ffmpeg).context("void needs ffmpeg to read and write videos");
    match cli.command {
        Command::Inspect(ref args) => inspect::run(&ffmpeg()?, args, cli.quiet),
        Command::Preprocess(ref args) => preprocess::run(&ffmpeg()?, args, cli.quiet),
        Command::Remove(ref args) => remove::run(&ffmpeg()?, args, cli.quiet),
        Command::Download(ref args) => download::run(args, cli.quiet),
        Command::Mask(MaskCommand::Segment(ref args)) => {
            mask::segment_video(&ffmpeg()?, args, cli.quiet)
        }
        Command::Mask(MaskCommand::Build(ref args)) => {
            mask::build_sequence(&ffmpeg()?, args, cli.quiet)
        }
        Command::Parity(ParityCommand::Transformer(ref args)) => parity::transformer(args),
        Command::Parity(ParityCommand::T5(ref args)) => parity::t5(args),
        Command::Parity(ParityCommand::Attention(ref args)) => parity::attention(args),
        Command::Parity(ParityCommand::Scheduler(ref args)) => parity::scheduler(args),
        Command::Parity(ParityCommand::VaeEncode(ref args)) => parity::vae(args, true),
        Command::Parity(ParityCommand::VaeDecode(ref args)) => parity::vae(args, false),
        Command::Parity(ParityCommand::Tokenize(ref args)) => parity::tokenize(args),
        Command::Parity(ParityCommand::Sam2Encode(ref args)) => {
            parity::sam2(args, parity::Sam2Part::Encode)
        }
        Command::Parity(ParityCommand::Sam2Prompt(ref args)) => {
            parity::sam2(args, parity::Sam2Part::Prompt)
        }
        Command::Parity(ParityCommand::Sam2Video(ref args)) => {
            parity::sam2(args, parity::Sam2Part::Video)
        }
    }
}

/// The device asked for.
pub(crate) fn device(arg: DeviceArg) -> anyhow::Result<candle_core::Device> {
    Ok(match arg {
        DeviceArg::Cpu => candle_core::Device::Cpu,
        DeviceArg::Cuda => candle_core::Device::new_cuda(0)
            .context("cannot use the GPU (is this a `cuda` build, and is a GPU there?)")?,
    })
}

/// The sequences named by `paths`: sequence folders as they are, data roots expanded to their
/// sequence folders (filtered by `selection`); plain files are skipped with a note.
pub(crate) fn expand(
    paths: &[PathBuf],
    selection: &Selection,
) -> Vec<void_sequence::Result<Sequence>> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_file() {
            eprintln!(
                "note: skipping {}: a file, not a sequence folder",
                path.display()
            );
        } else if path.is_dir() && !is_sequence_dir(path) && has_sequences(path) {
            match discover(path, selection) {
                Ok(seqs) => out.extend(seqs.into_iter().map(Ok)),
                Err(e) => out.push(Err(e)),
            }
        } else {
            out.push(Sequence::open(path));
        }
    }
    out
}

fn has_sequences(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .filter_map(|e| e.ok())
            .any(|e| is_sequence_dir(&e.path()))
    })
}

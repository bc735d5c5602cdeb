//! The subcommands.

mod download;
mod inspect;
mod parity;
mod preprocess;

use std::process::ExitCode;

use anyhow::Context;
use void_video::Ffmpeg;

use crate::cli::{Cli, Command, ParityCommand};

/// Runs one parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let ffmpeg = || Ffmpeg::new(&cli.ffmpeg).context("void needs ffmpeg to read and write videos");
    match cli.command {
        Command::Inspect(ref args) => inspect::run(&ffmpeg()?, args, cli.quiet),
        Command::Preprocess(ref args) => preprocess::run(&ffmpeg()?, args, cli.quiet),
        Command::Download(ref args) => download::run(args, cli.quiet),
        Command::Parity(ParityCommand::Transformer(ref args)) => parity::transformer(args),
        Command::Parity(ParityCommand::T5(ref args)) => parity::t5(args),
        Command::Parity(ParityCommand::Scheduler(ref args)) => parity::scheduler(args),
        Command::Parity(ParityCommand::VaeEncode(ref args)) => parity::vae(args, true),
        Command::Parity(ParityCommand::VaeDecode(ref args)) => parity::vae(args, false),
        Command::Parity(ParityCommand::Tokenize(ref args)) => parity::tokenize(args),
    }
}

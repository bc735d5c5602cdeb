//! `void download`: the model files from the Hugging Face Hub, or with `--offline` a check
//! that they are all there.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use indicatif::HumanDuration;
use void_hub::{Hub, HubConfig, Request, check_offline, default_dir};

use crate::cli::DownloadArgs;
use crate::progress::{DownloadBars, bytes};

/// Downloads what is missing, or checks offline.
pub fn run(args: &DownloadArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let dir = match &args.dir {
        Some(dir) => dir.clone(),
        None => default_dir()
            .context("no folder to download into: set VOID_HOME (or HOME), or pass --dir DIR")?,
    };
    let request = Request {
        dir,
        base_revision: args.revision.clone(),
        void_revision: args.void_revision.clone(),
        pass2: !args.no_pass2,
    };
    if args.offline {
        offline(&request)
    } else {
        online(&request, &args.endpoint, quiet)
    }
}

/// Lists, fetches what is missing, and summarises.
fn online(request: &Request, endpoint: &str, quiet: bool) -> anyhow::Result<ExitCode> {
    let token = std::env::var("HF_TOKEN").ok();
    let hub = Hub::new(HubConfig::new(endpoint).with_token(token));
    let start = Instant::now();
    let mut bars = DownloadBars::new(quiet);
    let result = void_hub::download(&hub, request, &mut |event| bars.update(event));
    bars.finish();
    let summary = result.map_err(|e| {
        let into = format!("downloading the models into {}", request.dir.display());
        if matches!(e, void_hub::Error::Network { .. }) {
            anyhow::anyhow!(
                "{into}: {e}\nwhat was downloaded is kept: run the same command again to go on"
            )
        } else {
            anyhow::Error::new(e).context(into)
        }
    })?;
    let elapsed = start.elapsed();
    if summary.downloaded == 0 {
        eprintln!(
            "nothing to download: all {} files are present and verified ({})",
            summary.files,
            bytes(summary.bytes)
        );
    } else {
        let rate = summary.received_bytes as f64 / elapsed.as_secs_f64().max(1e-3);
        eprintln!(
            "downloaded {} file{} ({}) in {} ({}/s); {} already present; {} in all",
            summary.downloaded,
            plural(summary.downloaded),
            bytes(summary.received_bytes),
            HumanDuration(elapsed),
            bytes(rate as u64),
            summary.present,
            bytes(summary.bytes),
        );
    }
    let commits: Vec<String> = summary
        .commits
        .iter()
        .map(|(repo, commit)| format!("{repo}@{}", short(commit)))
        .collect();
    eprintln!(
        "models in {} (from {})",
        request.dir.display(),
        commits.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}

/// Checks the folder without the network.
fn offline(request: &Request) -> anyhow::Result<ExitCode> {
    let report = check_offline(request)?;
    let dir = request.dir.display();
    if report.recorded.is_empty() {
        eprintln!(
            "note: {dir} has no download record ({}); checking the files void reads, not their sizes",
            void_hub::RECORD_FILE
        );
    }
    if report.is_complete() {
        let recorded: Vec<String> = report
            .recorded
            .iter()
            .map(|r| format!("{}@{} ({})", r.repo, r.revision, short(&r.commit)))
            .collect();
        eprintln!(
            "all {} model files are in {dir} ({}){}",
            report.files,
            bytes(report.bytes),
            if recorded.is_empty() {
                String::new()
            } else {
                format!(", as downloaded from {}", recorded.join(", "))
            }
        );
        return Ok(ExitCode::SUCCESS);
    }
    let n = report.problems.len();
    eprintln!(
        "error: {n} model file{} missing or incomplete in {dir}:",
        plural(n)
    );
    for problem in &report.problems {
        eprintln!("  {}", shorten(problem.to_string(), &request.dir));
    }
    eprintln!("run `void download` without --offline to fetch them");
    Ok(ExitCode::FAILURE)
}

/// The first 10 characters of a commit id.
fn short(commit: &str) -> &str {
    commit.get(..10).unwrap_or(commit)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A line naming a file under `dir`, with `dir/` dropped.
fn shorten(line: String, dir: &std::path::Path) -> String {
    let prefix = format!("{}{}", dir.display(), std::path::MAIN_SEPARATOR);
    line.strip_prefix(&prefix)
        .map_or_else(|| line.clone(), str::to_string)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn shortens_commits_and_paths() {
        assert_eq!(short("0123456789abcdef"), "0123456789");
        assert_eq!(short("main"), "main");
        let dir = PathBuf::from("/m");
        assert_eq!(
            shorten("/m/void_pass1.safetensors: missing".into(), &dir),
            "void_pass1.safetensors: missing"
        );
        assert_eq!(shorten("other".into(), &dir), "other");
    }
}

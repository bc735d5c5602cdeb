//! Locating and running the `ffmpeg` executable.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Output, Stdio};
use std::thread::JoinHandle;

use crate::{Error, Result};

/// Oldest ffmpeg void supports: Debian 12 ships 5.1, whose stream descriptions and
/// `extractplanes` filter behave as this crate expects; older builds are untested.
const MIN_VERSION: (u32, u32) = (5, 1);

/// The most stderr text kept from one ffmpeg run (its first errors are what matter).
const STDERR_LIMIT_BYTES: usize = 64 * 1024;

/// A checked `ffmpeg` executable.
#[derive(Clone, Debug)]
pub struct Ffmpeg {
    exe: PathBuf,
    version: String,
}

impl Ffmpeg {
    /// Checks that `exe` (a path, or a bare name looked up on `PATH`) runs and is ffmpeg 5.1 or
    /// newer. Development builds (`N-…`, `git-…`) are accepted.
    ///
    /// # Errors
    /// [`Error::FfmpegMissing`] when it cannot be started, [`Error::FfmpegTooOld`] when too old.
    pub fn new(exe: impl Into<PathBuf>) -> Result<Self> {
        let exe = exe.into();
        let output = Command::new(&exe)
            .arg("-version")
            .stdin(Stdio::null())
            .output()
            .map_err(|source| Error::FfmpegMissing {
                path: exe.clone(),
                source,
            })?;
        let text = String::from_utf8_lossy(&output.stdout);
        let version = text
            .split_whitespace()
            .skip_while(|w| *w != "version")
            .nth(1)
            .unwrap_or("unknown")
            .to_string();
        if let Some(found) = parse_version(&version)
            && found < MIN_VERSION
        {
            return Err(Error::FfmpegTooOld {
                path: exe,
                found: version,
            });
        }
        Ok(Self { exe, version })
    }

    /// The executable being run.
    pub fn path(&self) -> &Path {
        &self.exe
    }

    /// The version string ffmpeg reported (e.g. `5.1.9-0+deb12u1`).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// A command for this ffmpeg with the flags every call uses: no banner, no stdin prompts.
    pub(crate) fn command(&self) -> Command {
        let mut cmd = Command::new(&self.exe);
        cmd.args(["-hide_banner", "-nostdin"]);
        cmd
    }

    /// Starts `cmd` with the given stdin and stdout and a piped stderr (drain it with
    /// [`StderrDrain`]).
    pub(crate) fn spawn(&self, cmd: &mut Command, stdin: Stdio, stdout: Stdio) -> Result<Child> {
        tracing::debug!(?cmd, "starting ffmpeg");
        cmd.stdin(stdin)
            .stdout(stdout)
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| self.missing(source))
    }

    /// Runs `cmd` to completion without input, capturing stdout and stderr.
    pub(crate) fn output(&self, cmd: &mut Command) -> Result<Output> {
        tracing::debug!(?cmd, "running ffmpeg");
        cmd.stdin(Stdio::null())
            .output()
            .map_err(|source| self.missing(source))
    }

    fn missing(&self, source: std::io::Error) -> Error {
        Error::FfmpegMissing {
            path: self.exe.clone(),
            source,
        }
    }
}

/// `major.minor` of a release version string; `None` for development builds.
fn parse_version(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
    Some((major, minor))
}

/// Reads a child's stderr on its own thread so that ffmpeg can never block on a full pipe.
pub(crate) struct StderrDrain(Option<JoinHandle<String>>);

impl StderrDrain {
    /// Takes the child's stderr and starts draining it.
    pub(crate) fn start(child: &mut Child) -> Self {
        Self(
            child
                .stderr
                .take()
                .map(|stderr| std::thread::spawn(move || drain(stderr))),
        )
    }

    /// Waits for ffmpeg to close stderr and returns what it wrote (at most 64 KiB).
    pub(crate) fn finish(mut self) -> String {
        self.0
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
    }
}

fn drain(mut stderr: ChildStderr) -> String {
    let mut kept = Vec::new();
    let mut buf = [0u8; 8192];
    while let Ok(n) = stderr.read(&mut buf) {
        if n == 0 {
            break;
        }
        let room = STDERR_LIMIT_BYTES.saturating_sub(kept.len());
        kept.extend_from_slice(&buf[..n.min(room)]);
    }
    String::from_utf8_lossy(&kept).into_owned()
}

/// The first few non-empty lines of ffmpeg's stderr, joined for an error message.
pub(crate) fn summarize_stderr(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(4)
        .collect();
    if lines.is_empty() {
        "ffmpeg gave no reason".to_string()
    } else {
        lines.join(" | ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse() {
        assert_eq!(parse_version("5.1.9-0+deb12u1"), Some((5, 1)));
        assert_eq!(parse_version("7.0.2-static"), Some((7, 0)));
        assert_eq!(parse_version("4.4"), Some((4, 4)));
        assert_eq!(parse_version("N-112345-gabcdef"), None);
        assert!(parse_version("4.4").is_some_and(|v| v < MIN_VERSION));
    }

    #[test]
    fn stderr_summary_keeps_first_lines() {
        assert_eq!(summarize_stderr("\n a \n\nb\nc\nd\ne\n"), "a | b | c | d");
        assert_eq!(summarize_stderr(""), "ffmpeg gave no reason");
    }
}

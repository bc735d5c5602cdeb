//! Helpers shared by the CLI tests: golden fixtures, the shared samples, probing outputs.

#![allow(dead_code)] // each test binary uses a subset
#![allow(clippy::unwrap_used)] // test helpers fail loudly by design

use std::path::{Path, PathBuf};
use std::process::Command;

/// A golden fixture of `crates/void-models/tests/golden`.
pub fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../void-models/tests/golden")
        .join(name)
}

/// The shared VOID samples (`$VOID_SAMPLES`, else `../shared/samples` beside the repository).
pub fn samples() -> PathBuf {
    std::env::var_os("VOID_SAMPLES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/samples")
        })
}

/// (width, height, frames, fps) of a video's first stream.
pub fn probe(path: &Path) -> (u32, u32, u32, String) {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-count_frames"])
        .args([
            "-show_entries",
            "stream=width,height,nb_read_frames,r_frame_rate",
        ])
        .args(["-of", "csv=p=0"])
        .arg(path)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let f: Vec<&str> = text.trim().split(',').collect();
    (
        f[0].parse().unwrap(),
        f[1].parse().unwrap(),
        f[3].parse().unwrap(),
        f[2].to_string(),
    )
}

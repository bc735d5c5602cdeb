//! `void preprocess` and `void inspect` on broken sequences: one clear message naming the file,
//! a non-zero exit, and no output file left behind (issue 2, item 8).

#![allow(clippy::unwrap_used)] // test helpers fail loudly by design

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use void_video::{Encoding, Ffmpeg, Fps, Frame, PixelFormat, VideoWriter};

const W: u32 = 64;
const H: u32 = 48;

fn ffmpeg() -> Ffmpeg {
    Ffmpeg::new("ffmpeg").expect("ffmpeg on PATH")
}

/// A small moving-gradient video.
fn write_video(path: &Path, width: u32, height: u32, frames: usize) {
    let mut writer = VideoWriter::create(
        &ffmpeg(),
        path,
        width,
        height,
        Fps::new(12),
        Encoding::H264 { crf: 18 },
    )
    .unwrap();
    for f in 0..frames {
        let data = (0..width * height)
            .flat_map(|i| {
                let (x, y) = (i % width, i / width);
                [(x * 4 + f as u32) as u8, (y * 5) as u8, 128]
            })
            .collect();
        writer
            .write(&Frame {
                width,
                height,
                format: PixelFormat::Rgb24,
                data,
            })
            .unwrap();
    }
    writer.finish().unwrap();
}

/// A quadmask: a square to remove, a band of "affected" below it, `fill` elsewhere.
fn write_mask(path: &Path, width: u32, height: u32, frames: usize, fill: u8) {
    let mut writer = VideoWriter::create(
        &ffmpeg(),
        path,
        width,
        height,
        Fps::new(12),
        Encoding::LosslessMask,
    )
    .unwrap();
    for _ in 0..frames {
        let data = (0..width * height)
            .map(|i| {
                let (x, y) = (i % width, i / width);
                match (x * 4 / width, y * 4 / height) {
                    (1, 1) => 0,
                    (1, 2) => 127,
                    _ => fill,
                }
            })
            .collect();
        writer
            .write(&Frame {
                width,
                height,
                format: PixelFormat::Gray8,
                data,
            })
            .unwrap();
    }
    writer.finish().unwrap();
}

/// A valid sequence folder `<root>/seq`.
fn sequence(root: &Path) -> PathBuf {
    let dir = root.join("seq");
    std::fs::create_dir_all(&dir).unwrap();
    write_video(&dir.join("input_video.mp4"), W, H, 10);
    write_mask(&dir.join("quadmask_0.mp4"), W, H, 10, 255);
    std::fs::write(dir.join("prompt.json"), r#"{"bg": "an empty room"}"#).unwrap();
    dir
}

fn void(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_void"))
        .args(args)
        .output()
        .unwrap()
}

/// Runs `void preprocess` into `out/x.safetensors` and returns (success, stderr).
fn preprocess(seq: &Path, out: &Path, extra: &[&str]) -> (bool, String) {
    let target = out.join("x.safetensors");
    let mut args = vec![
        "preprocess",
        seq.to_str().unwrap(),
        "--out",
        target.to_str().unwrap(),
    ];
    args.extend_from_slice(&["--sample-size", "48x64", "--quiet"]);
    args.extend_from_slice(extra);
    let output = void(&args);
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Asserts a refused run: non-zero exit, the message names `file` and says `words`, nothing written.
fn assert_refused(seq: &Path, file: &str, words: &str) {
    let out = tempfile::tempdir().unwrap();
    let (ok, stderr) = preprocess(seq, out.path(), &[]);
    assert!(!ok, "expected a failure, got success: {stderr}");
    assert!(
        stderr.contains(file) && stderr.contains(words),
        "expected {file:?} and {words:?} in: {stderr}"
    );
    assert_eq!(stderr.matches("error:").count(), 1, "one message: {stderr}");
    let left: Vec<_> = std::fs::read_dir(out.path()).unwrap().collect();
    assert!(left.is_empty(), "partial output left behind: {left:?}");
}

#[test]
fn a_good_sequence_preprocesses() {
    let root = tempfile::tempdir().unwrap();
    let seq = sequence(root.path());
    let out = tempfile::tempdir().unwrap();
    let (ok, stderr) = preprocess(&seq, out.path(), &[]);
    assert!(ok, "{stderr}");
    let bytes = std::fs::read(out.path().join("x.safetensors")).unwrap();
    let tensors = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(tensors.tensor("video").unwrap().shape(), [85, 3, 48, 64]);
    assert_eq!(tensors.tensor("mask").unwrap().shape(), [85, 1, 48, 64]);
    // An existing output is kept unless --force.
    let (ok, stderr) = preprocess(&seq, out.path(), &[]);
    assert!(!ok && stderr.contains("--force"), "{stderr}");
    assert!(preprocess(&seq, out.path(), &["--force"]).0);
}

/// Cuts `path` to `share` of its size; with `index_last` it is first remuxed so that the mp4
/// index (moov) comes after the data, as most cameras and the VOID samples write it.
fn truncate(path: &Path, share: f64, index_last: bool) {
    if index_last {
        let remuxed = path.with_extension("remux.mp4");
        let status = Command::new("ffmpeg")
            .args(["-v", "error", "-i", path.to_str().unwrap(), "-c", "copy"])
            .arg(&remuxed)
            .status()
            .unwrap();
        assert!(status.success());
        std::fs::rename(&remuxed, path).unwrap();
    }
    let bytes = std::fs::read(path).unwrap();
    std::fs::write(path, &bytes[..(bytes.len() as f64 * share) as usize]).unwrap();
}

#[test]
fn truncated_mp4_without_index() {
    let root = tempfile::tempdir().unwrap();
    let seq = sequence(root.path());
    truncate(&seq.join("input_video.mp4"), 0.5, true);
    assert_refused(&seq, "input_video.mp4", "not a readable video");
}

#[test]
fn truncated_mp4_with_index_first() {
    let root = tempfile::tempdir().unwrap();
    let seq = sequence(root.path());
    truncate(&seq.join("input_video.mp4"), 0.66, false);
    assert_refused(&seq, "input_video.mp4", "corrupt or truncated");
}

#[test]
fn text_file_named_mp4() {
    let root = tempfile::tempdir().unwrap();
    let seq = sequence(root.path());
    std::fs::write(seq.join("quadmask_0.mp4"), "this is not a video\n").unwrap();
    assert_refused(&seq, "quadmask_0.mp4", "not a readable video");
}

#[test]
fn zero_frame_video() {
    let root = tempfile::tempdir().unwrap();
    let seq = sequence(root.path());
    let video = seq.join("input_video.mp4");
    let status = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "color=c=black:s=64x48:d=1",
            "-frames:v",
            "0",
        ])
        .args(["-c:v", "libx264"])
        .arg(&video)
        .status()
        .unwrap();
    assert!(status.success());
    assert_refused(&seq, "input_video.mp4", "no video stream");
}

#[test]
fn prompt_missing_invalid_or_empty() {
    let root = tempfile::tempdir().unwrap();
    let seq = sequence(root.path());
    let prompt = seq.join("prompt.json");
    std::fs::remove_file(&prompt).unwrap();
    assert_refused(&seq, "prompt.json", "cannot read");
    std::fs::write(&prompt, "{bg: nope}").unwrap();
    assert_refused(&seq, "prompt.json", "not valid JSON");
    std::fs::write(&prompt, r#"{"bg": ""}"#).unwrap();
    assert_refused(&seq, "prompt.json", "is empty");
}

#[test]
fn mask_with_another_aspect_ratio() {
    let root = tempfile::tempdir().unwrap();
    let seq = sequence(root.path());
    write_mask(&seq.join("quadmask_0.mp4"), 48, 48, 10, 255);
    assert_refused(&seq, "quadmask_0.mp4", "aspect ratios differ");
}

#[test]
fn mask_with_another_length() {
    let root = tempfile::tempdir().unwrap();
    let seq = sequence(root.path());
    write_mask(&seq.join("quadmask_0.mp4"), W, H, 7, 255);
    assert_refused(&seq, "quadmask_0.mp4", "--allow-length-mismatch");
    let out = tempfile::tempdir().unwrap();
    let (ok, stderr) = preprocess(&seq, out.path(), &["--allow-length-mismatch"]);
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("warning") && stderr.contains("7"),
        "{stderr}"
    );
}

#[test]
fn off_level_mask_values_warn_and_continue() {
    let root = tempfile::tempdir().unwrap();
    let seq = sequence(root.path());
    write_mask(&seq.join("quadmask_0.mp4"), W, H, 10, 200);
    let out = tempfile::tempdir().unwrap();
    let (ok, stderr) = preprocess(&seq, out.path(), &[]);
    assert!(ok, "{stderr}");
    // 200 fills 14 of 16 cells.
    assert!(
        stderr.contains("87.5000% of mask pixels are off the four levels"),
        "{stderr}"
    );
}

#[test]
fn inspect_reports_and_fails_per_sequence() {
    let root = tempfile::tempdir().unwrap();
    let good = sequence(root.path());
    let bad = root.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    std::fs::write(bad.join("input_video.mp4"), "junk").unwrap();
    std::fs::write(bad.join("quadmask_0.mp4"), "junk").unwrap();
    std::fs::write(bad.join("prompt.json"), r#"{"bg": "x"}"#).unwrap();

    let output = void(&[
        "inspect",
        "--json",
        "--quiet",
        root.path().to_str().unwrap(),
    ]);
    assert!(
        !output.status.success(),
        "a broken sequence makes the exit code 1"
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let items = report.as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(
        items[0]["error"]
            .as_str()
            .unwrap()
            .contains("input_video.mp4: not a readable video")
    );
    assert_eq!(items[1]["sequence"], "seq");
    assert_eq!(items[1]["video"]["frames"], 10);
    assert_eq!(items[1]["pass1"]["padded_frames"], 85);
    assert_eq!(items[1]["pass1"]["latent_frames"], 22);
    // The mask: a 16x12 square (1/16) to remove and one (1/16) affected, the rest kept.
    assert_eq!(items[1]["mask"]["classes"]["remove"]["share"], 0.0625);
    assert_eq!(items[1]["mask"]["classes"]["affected"]["share"], 0.0625);
    assert_eq!(items[1]["mask"]["classes"]["off-level"]["pixels"], 0);

    let output = void(&["inspect", "--quiet", good.to_str().unwrap()]);
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("\"an empty room\"")
            && text.contains("10 frames used + 75 mirrored = 85 frames"),
        "{text}"
    );
}

//! `void mask segment` end to end with the tiny random SAM2 of
//! `crates/void-models/tests/golden` (the masks are meaningless, the plumbing is not): every
//! shared sample gets exactly one lossless mask frame per input frame at the input's size and
//! fps; the reference's points JSON; several objects; and the errors.

#![allow(clippy::unwrap_used)] // test helpers fail loudly by design

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{golden, probe, samples};

fn segment(video: &Path, out: &Path, checkpoint: &Path, extra: &[&str]) -> Output {
    let config = golden("sam2_void_config.json");
    Command::new(env!("CARGO_BIN_EXE_void"))
        .args(["mask", "segment", "-q"])
        .arg(video)
        .args(["--out", out.to_str().unwrap()])
        .args(["--sam2-checkpoint", checkpoint.to_str().unwrap()])
        .args(["--sam2-config", config.to_str().unwrap()])
        .args(extra)
        .output()
        .unwrap()
}

/// Every distinct gray value of a mask video.
fn values(path: &Path) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-f", "rawvideo", "-pix_fmt", "gray", "-"])
        .output()
        .unwrap();
    let mut seen = [false; 256];
    for v in out.stdout {
        seen[v as usize] = true;
    }
    (0..=255u8).filter(|v| seen[*v as usize]).collect()
}

#[test]
fn every_sample_gets_a_full_length_lossless_mask() {
    let tmp = tempfile::tempdir().unwrap();
    for name in ["BigBen", "ducky-float", "lime", "moving_ball", "pillow"] {
        let video = samples().join(name).join("input_video.mp4");
        let (w, h, frames, fps) = probe(&video);
        let out = tmp.path().join(name);
        // A click and a box on a middle frame: tracked both ways from there.
        let (cx, cy) = (w / 2, h / 2);
        let points = format!("{}:{cx},{cy}", frames / 2);
        let boxed = format!(
            "{}:{},{},{},{}",
            frames / 2,
            w / 4,
            h / 4,
            3 * w / 4,
            3 * h / 4
        );
        let run = segment(
            &video,
            &out,
            &golden("sam2_weights.safetensors"),
            &["--points", &points, "--box", &boxed],
        );
        assert!(
            run.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        let mask = out.join("black_mask.mp4");
        assert_eq!(
            probe(&mask),
            (w, h, frames, fps.clone()),
            "{name}: size, frames, fps"
        );
        let v = values(&mask);
        assert!(
            v.iter().all(|v| *v == 0 || *v == 255),
            "{name}: values {v:?}"
        );
        let info: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out.join("segmentation_info.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(info["total_frames"], frames);
        assert_eq!(info["primary_frames"], serde_json::json!([frames / 2]));
    }
}

#[test]
fn reference_points_json_and_several_objects() {
    let tmp = tempfile::tempdir().unwrap();
    let video = samples().join("BigBen/input_video.mp4");
    let points = tmp.path().join("config_points.json");
    std::fs::write(
        &points,
        r#"{"videos":[{"video_path":"BigBen/input_video.mp4","instruction":"","primary_points_by_frame":{"4":[[200,100],[260,180]],"30":[[300,150]]},"primary_frames":[4,30],"first_appears_frame":4}]}"#,
    )
    .unwrap();
    let out = tmp.path().join("json");
    let run = segment(
        &video,
        &out,
        &golden("sam2_weights.pt"),
        &["--points-json", points.to_str().unwrap()],
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(probe(&out.join("black_mask.mp4")).2, 50);

    let out = tmp.path().join("objects");
    let run = segment(
        &video,
        &out,
        &golden("sam2_weights.safetensors"),
        &["--points", "1@0:100,100;2@20:400,250", "--per-object"],
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    for file in ["black_mask.mp4", "black_mask_1.mp4", "black_mask_2.mp4"] {
        assert_eq!(probe(&out.join(file)).2, 50, "{file}");
    }
}

#[test]
fn bad_prompts_and_checkpoints_fail_clearly_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let video = samples().join("BigBen/input_video.mp4");
    let cases: [(&[&str], PathBuf, &str); 4] = [
        (
            &["--points", "3:600,100"],
            golden("sam2_weights.safetensors"),
            "outside the 544x360 frame",
        ),
        (
            &["--points", "50:10,10"],
            golden("sam2_weights.safetensors"),
            "frame 50 is out of range",
        ),
        (
            &[],
            golden("sam2_weights.safetensors"),
            "nothing to segment",
        ),
        (
            &["--points", "0:10,10"],
            golden("vae_weights.safetensors"),
            "image_encoder.trunk",
        ),
    ];
    for (i, (extra, checkpoint, message)) in cases.iter().enumerate() {
        let out = tmp.path().join(format!("case{i}"));
        let run = segment(&video, &out, checkpoint, extra);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(!run.status.success(), "case {i} succeeded");
        assert!(stderr.contains(message), "case {i}: {stderr}");
        assert!(
            !out.join("black_mask.mp4").exists(),
            "case {i} wrote a mask"
        );
    }
}

fn build(video: &Path, out: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_void"))
        .args(["mask", "build", "-q"])
        .arg(video)
        .args(["--out", out.to_str().unwrap()])
        .args([
            "--sam2-checkpoint",
            golden("sam2_weights.pt").to_str().unwrap(),
        ])
        .args([
            "--sam2-config",
            golden("sam2_void_config.json").to_str().unwrap(),
        ])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn build_makes_a_sequence_folder_void_takes() {
    let tmp = tempfile::tempdir().unwrap();
    let video = samples().join("BigBen/input_video.mp4");
    let seq = tmp.path().join("seq");
    let args = [
        "--points",
        "3:200,100",
        "--affected",
        "cells",
        "--affected-cells",
        "0-20:3,4;3,5",
        "--bg",
        "a clock tower",
    ];
    let run = build(&video, &seq, &args);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    for file in [
        "input_video.mp4",
        "quadmask_0.mp4",
        "prompt.json",
        "black_mask.mp4",
        "grey_mask.mp4",
    ] {
        assert!(seq.join(file).exists(), "{file}");
    }
    assert_eq!(probe(&seq.join("quadmask_0.mp4")).2, 50);
    let inspect = Command::new(env!("CARGO_BIN_EXE_void"))
        .arg("inspect")
        .arg(&seq)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&inspect.stdout).to_string()
        + &String::from_utf8_lossy(&inspect.stderr);
    assert!(inspect.status.success(), "{report}");
    assert!(report.contains("a clock tower"), "{report}");
    assert!(
        !report.contains("frame 0 is grey"),
        "frame 0 keeps grey: {report}"
    );

    // Again without --force: refused; without choosing the affected source: refused, naming
    // the missing VLM stage; a folder holding another video: refused even with --force.
    let again = build(&video, &seq, &args);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    let no_source = build(
        &video,
        &tmp.path().join("other"),
        &["--points", "3:200,100"],
    );
    assert!(String::from_utf8_lossy(&no_source.stderr).contains("VLM stage"));
    let foreign = tmp.path().join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::copy(
        samples().join("lime/input_video.mp4"),
        foreign.join("input_video.mp4"),
    )
    .unwrap();
    let refused = build(
        &video,
        &foreign,
        &["--points", "3:200,100", "--affected", "none", "--force"],
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("holds one video"));
    assert!(!foreign.join("quadmask_0.mp4").exists());
}

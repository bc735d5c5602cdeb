//! `void remove` end to end with the tiny model of `crates/void-pipeline/tests/tiny-model`
//! (the real on-disk layout, random weights): every shared sample, the reference layout,
//! skipping finished sequences, and one failing sequence among good ones.

#![allow(clippy::unwrap_used)] // test helpers fail loudly by design

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{probe, samples};

fn tiny() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../void-pipeline/tests/tiny-model")
}

fn remove(paths: &[&Path], out: &Path, extra: &[&str]) -> Output {
    remove_with(paths, out, &tiny(), extra)
}

fn remove_with(paths: &[&Path], out: &Path, models: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_void"))
        .arg("remove")
        .args(paths)
        .args(["--out", out.to_str().unwrap()])
        .args(["--model-dir", models.to_str().unwrap()])
        .args(["--sample-size", "48x80", "--steps", "2", "-q"])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn every_sample_keeps_its_frame_count_and_rate() {
    let out = tempfile::tempdir().unwrap();
    let result = remove(&[&samples()], out.path(), &[]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "{stderr}");
    for name in ["BigBen", "ducky-float", "lime", "moving_ball", "pillow"] {
        let input = probe(&samples().join(name).join("input_video.mp4"));
        let video = probe(&out.path().join(format!("{name}.mp4")));
        let tuple = probe(&out.path().join(format!("{name}_tuple.mp4")));
        assert_eq!((video.0, video.1), (80, 48), "{name}");
        assert_eq!((tuple.0, tuple.1), (320, 48), "{name}");
        assert_eq!(video.2, input.2, "{name}: frames");
        assert_eq!(tuple.2, input.2, "{name}: tuple frames");
        assert_eq!(video.3, input.3, "{name}: frame rate");
        assert!(
            stderr.contains(&format!("{name}: ")),
            "a timing line for {name}: {stderr}"
        );
    }
    assert!(
        stderr.contains("encode video") && stderr.contains("denoise"),
        "{stderr}"
    );
    // No temporary files are left behind.
    let leftovers: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // A second run finds everything done and loads no model.
    let again = remove_with(&[&samples()], out.path(), Path::new("/nonexistent"), &[]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{stderr}");
    assert_eq!(stderr.matches("skipped").count(), 5, "{stderr}");
}

#[test]
fn reference_layout_writes_the_reference_files() {
    let out = tempfile::tempdir().unwrap();
    let seq = samples().join("BigBen");
    let result = remove(
        &[&seq],
        out.path(),
        &["--reference-layout", "--memory", "offload"],
    );
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let video = probe(&out.path().join("BigBen-fg=-1-0001.mp4"));
    let tuple = probe(&out.path().join("BigBen-fg=-1-0001_tuple.mp4"));
    assert_eq!(video, (80, 48, 85, "12/1".to_string()));
    assert_eq!(tuple, (320, 48, 85, "12/1".to_string()));
    // --overwrite adds the next index, as the reference does.
    let result = remove(&[&seq], out.path(), &["--reference-layout", "--overwrite"]);
    assert!(result.status.success());
    assert!(out.path().join("BigBen-fg=-1-0002_tuple.mp4").is_file());
}

#[test]
fn composite_is_native_size_and_keeps_the_original_where_the_mask_keeps() {
    let out = tempfile::tempdir().unwrap();
    let seq = samples().join("BigBen");
    let result = remove(&[&seq], out.path(), &["--composite", "--memory", "low"]);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let composite = out.path().join("BigBen_composite.mp4");
    let input = probe(&seq.join("input_video.mp4"));
    assert_eq!(probe(&composite), input);
    // Frame 0, decoded: far from the mask the composite shows the input (up to H.264 at crf
    // 18), inside the removal region it shows the (random-model) result.
    let frame = |p: &Path| -> Vec<u8> {
        let out = Command::new("ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(p)
            .args(["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
            .output()
            .unwrap();
        out.stdout
    };
    let mask = |p: &Path| -> Vec<u8> {
        let out = Command::new("ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(p)
            .args(["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-"])
            .output()
            .unwrap();
        out.stdout
    };
    let (a, b) = (frame(&seq.join("input_video.mp4")), frame(&composite));
    let m = mask(&seq.join("trimask_quadmask.mp4"));
    assert_eq!(a.len(), b.len());
    let (w, h) = (input.0 as usize, input.1 as usize);
    let mut kept = (0u64, 0u64);
    let mut removed = (0u64, 0u64);
    for y in 0..h {
        for x in 0..w {
            // Deep inside a keep region: no mask pixel within 20 px is below keep.
            let deep_keep = (y.saturating_sub(20)..(y + 21).min(h))
                .all(|yy| (x.saturating_sub(20)..(x + 21).min(w)).all(|xx| m[yy * w + xx] > 200));
            let p = (y * w + x) * 3;
            let d: u64 = (0..3).map(|c| u64::from(a[p + c].abs_diff(b[p + c]))).sum();
            if deep_keep {
                kept = (kept.0 + d, kept.1 + 3);
            } else if m[y * w + x] < 20 {
                removed = (removed.0 + d, removed.1 + 3);
            }
        }
    }
    let kept_mean = kept.0 as f64 / kept.1 as f64;
    let removed_mean = removed.0 as f64 / removed.1.max(1) as f64;
    assert!(kept.1 > 0 && removed.1 > 0);
    assert!(kept_mean < 3.0, "kept pixels differ by {kept_mean}");
    assert!(
        removed_mean > 10.0,
        "removed pixels barely changed: {removed_mean}"
    );
}

#[test]
fn one_failing_sequence_does_not_stop_the_others() {
    let root = tempfile::tempdir().unwrap();
    let good = root.path().join("a_good");
    std::fs::create_dir(&good).unwrap();
    for f in ["input_video.mp4", "trimask_quadmask.mp4", "prompt.json"] {
        std::fs::copy(samples().join("BigBen").join(f), good.join(f)).unwrap();
    }
    let bad = root.path().join("b_bad");
    std::fs::create_dir(&bad).unwrap();
    std::fs::copy(
        samples().join("BigBen/input_video.mp4"),
        bad.join("input_video.mp4"),
    )
    .unwrap();
    std::fs::copy(
        samples().join("BigBen/trimask_quadmask.mp4"),
        bad.join("quadmask_0.mp4"),
    )
    .unwrap();
    std::fs::write(bad.join("prompt.json"), "{\"bg\": 3}").unwrap();
    let out = root.path().join("out");
    let result = remove(&[root.path()], &out, &[]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!result.status.success(), "{stderr}");
    assert!(out.join("a_good.mp4").is_file(), "{stderr}");
    assert!(!out.join("b_bad.mp4").exists());
    assert!(
        stderr.contains("b_bad") && stderr.contains("failed"),
        "{stderr}"
    );
}

#[test]
fn missing_models_are_named() {
    let out = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let result = remove_with(&[&samples().join("BigBen")], out.path(), empty.path(), &[]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!result.status.success());
    assert!(
        stderr.contains("void download") && stderr.contains("transformer/config.json"),
        "{stderr}"
    );
}

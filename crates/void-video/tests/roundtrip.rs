//! Writing and reading back through ffmpeg: the lossless mask format keeps 0/63/127/255
//! exactly, H.264 keeps size, rate and length, and failed writes leave nothing behind.

#![allow(clippy::unwrap_used)] // test helpers fail loudly by design

use std::path::Path;

use void_video::decode::Pixels;
use void_video::probe::probe;
use void_video::quadmask::Class;
use void_video::{
    DecodeOptions, Encoding, Error, Ffmpeg, Fps, Frame, FrameReader, PixelFormat, VideoWriter,
};

fn ffmpeg() -> Ffmpeg {
    Ffmpeg::new("ffmpeg").expect("ffmpeg on PATH")
}

fn read_all(path: &Path, pixels: Pixels) -> Vec<Frame> {
    let ff = ffmpeg();
    let info = probe(&ff, path).unwrap();
    FrameReader::open(
        &ff,
        &info,
        DecodeOptions {
            pixels,
            max_frames: None,
        },
    )
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// A mask frame whose pixels cycle through the four levels in stripes and blocks.
fn mask_frame(width: u32, height: u32, shift: u32) -> Frame {
    let data = (0..width * height)
        .map(|i| Class::ALL[(((i % width) / 3 + (i / width) / 5 + shift) % 4) as usize].value())
        .collect();
    Frame {
        width,
        height,
        format: PixelFormat::Gray8,
        data,
    }
}

#[test]
fn quadmask_levels_survive_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quadmask_0.mp4");
    let (w, h) = (37, 22); // odd sizes are fine for yuv444p
    let mut writer =
        VideoWriter::create(&ffmpeg(), &path, w, h, Fps::new(12), Encoding::LosslessMask).unwrap();
    let frames: Vec<Frame> = (0..5).map(|s| mask_frame(w, h, s)).collect();
    for f in &frames {
        writer.write(f).unwrap();
    }
    assert_eq!(writer.finish().unwrap(), path);

    let info = probe(&ffmpeg(), &path).unwrap();
    assert!(info.codec.starts_with("h264 (High 4:4:4"), "{}", info.codec);
    assert_eq!(info.pixel_format, "yuv444p");
    assert_eq!((info.width, info.height, info.fps), (w, h, Fps::new(12)));

    let red = read_all(&path, Pixels::Red);
    assert_eq!(red, frames, "red channel decode");
    for (rgb, mask) in read_all(&path, Pixels::Rgb).iter().zip(&frames) {
        let r: Vec<u8> = rgb.data.chunks_exact(3).map(|p| p[0]).collect();
        assert_eq!(r, mask.data);
        assert!(
            rgb.data
                .chunks_exact(3)
                .all(|p| p[0] == p[1] && p[1] == p[2]),
            "grey stays grey"
        );
    }
}

#[test]
fn h264_keeps_size_rate_length_and_looks_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.mp4");
    let (w, h) = (96, 64);
    let fps = Fps {
        num: 30000,
        den: 1001,
    };
    let mut writer =
        VideoWriter::create(&ffmpeg(), &path, w, h, fps, Encoding::H264 { crf: 10 }).unwrap();
    let frames: Vec<Frame> = (0..7)
        .map(|f| Frame {
            width: w,
            height: h,
            format: PixelFormat::Rgb24,
            data: (0..w * h)
                .flat_map(|i| [(i % w * 2 + f) as u8, (i / w * 3) as u8, 90])
                .collect(),
        })
        .collect();
    for f in &frames {
        writer.write(f).unwrap();
    }
    writer.finish().unwrap();

    let info = probe(&ffmpeg(), &path).unwrap();
    assert_eq!(
        (
            info.width,
            info.height,
            info.fps,
            info.pixel_format.as_str()
        ),
        (w, h, fps, "yuv420p")
    );
    let back = read_all(&path, Pixels::Rgb);
    assert_eq!(back.len(), frames.len());
    for (a, b) in back.iter().zip(&frames) {
        let mean_abs: f64 = a
            .data
            .iter()
            .zip(&b.data)
            .map(|(x, y)| f64::from(x.abs_diff(*y)))
            .sum::<f64>()
            / a.data.len() as f64;
        assert!(mean_abs < 2.0, "mean abs error {mean_abs}");
    }
}

#[test]
fn wrong_frames_and_failed_writes_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.mp4");
    let ff = ffmpeg();
    let err = VideoWriter::create(&ff, &path, 33, 20, Fps::new(12), Encoding::H264 { crf: 18 })
        .unwrap_err();
    assert!(err.to_string().contains("even width and height"), "{err}");

    let mut writer =
        VideoWriter::create(&ff, &path, 32, 20, Fps::new(12), Encoding::H264 { crf: 18 }).unwrap();
    let err = writer.write(&mask_frame(32, 20, 0)).unwrap_err();
    assert!(matches!(err, Error::FrameMismatch { .. }), "{err}");
    assert!(
        err.to_string().contains("32x20 rgb24") && err.to_string().contains("32x20 gray"),
        "{err}"
    );
    drop(writer);

    let writer =
        VideoWriter::create(&ff, &path, 32, 20, Fps::new(12), Encoding::LosslessMask).unwrap();
    let err = writer.finish().unwrap_err();
    assert!(err.to_string().contains("no frames"), "{err}");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn max_frames_stops_early() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.mp4");
    let mut writer = VideoWriter::create(
        &ffmpeg(),
        &path,
        16,
        16,
        Fps::new(24),
        Encoding::LosslessMask,
    )
    .unwrap();
    for s in 0..9 {
        writer.write(&mask_frame(16, 16, s)).unwrap();
    }
    writer.finish().unwrap();
    let ff = ffmpeg();
    let info = probe(&ff, &path).unwrap();
    let frames: Vec<Frame> = FrameReader::open(
        &ff,
        &info,
        DecodeOptions {
            pixels: Pixels::Red,
            max_frames: Some(4),
        },
    )
    .unwrap()
    .map(Result::unwrap)
    .collect();
    assert_eq!(frames.len(), 4);
    assert_eq!(frames[3], mask_frame(16, 16, 3));
    assert_eq!(void_video::decode::count_frames(&ff, &info).unwrap(), 9);
}

/// `testsrc` at 90x58 (odd chroma width) and 23.976 fps, 12 frames, as raw RGB.
const TESTSRC: &str = "testsrc=size=90x58:rate=24000/1001:duration=0.5";

fn ffmpeg_cli(args: &[&str]) -> Vec<u8> {
    let out = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn decodes_other_codecs_bit_depths_and_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let frame_bytes = 90 * 58 * 3;
    for (name, codec) in [
        (
            "h265_10bit.mp4",
            &[
                "-c:v",
                "libx265",
                "-x265-params",
                "log-level=error",
                "-crf",
                "8",
                "-pix_fmt",
                "yuv420p10le",
            ][..],
        ),
        (
            "vp9.webm",
            &[
                "-c:v",
                "libvpx-vp9",
                "-crf",
                "8",
                "-b:v",
                "0",
                "-pix_fmt",
                "yuv420p",
            ][..],
        ),
        (
            "av1.mkv",
            &[
                "-c:v",
                "libaom-av1",
                "-cpu-used",
                "8",
                "-crf",
                "8",
                "-pix_fmt",
                "yuv420p",
            ][..],
        ),
        (
            "prores.mov",
            &["-c:v", "prores_ks", "-pix_fmt", "yuv422p10le"][..],
        ),
        (
            "h264_444.mp4",
            &["-c:v", "libx264", "-crf", "8", "-pix_fmt", "yuv444p"][..],
        ),
    ] {
        let path = dir.path().join(name);
        let mut args = vec!["-f", "lavfi", "-i", TESTSRC];
        args.extend_from_slice(codec);
        args.push(path.to_str().unwrap());
        ffmpeg_cli(&args);
        let info = probe(&ffmpeg(), &path).unwrap();
        assert_eq!(
            (info.width, info.height, info.fps),
            (
                90,
                58,
                Fps {
                    num: 24000,
                    den: 1001
                }
            ),
            "{name}"
        );
        // What the codec was given: testsrc through the same chroma subsampling and bit depth.
        let pix_fmt = codec[codec.iter().position(|a| *a == "-pix_fmt").unwrap() + 1];
        let subsampled = format!("format={pix_fmt}");
        let reference = ffmpeg_cli(&[
            "-f",
            "lavfi",
            "-i",
            TESTSRC,
            "-vf",
            &subsampled,
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ]);
        assert_eq!(reference.len(), 12 * frame_bytes);
        let frames = read_all(&path, Pixels::Rgb);
        assert_eq!(frames.len(), 12, "{name}");
        let decoded: Vec<u8> = frames.into_iter().flat_map(|f| f.data).collect();
        let mean_abs = decoded
            .iter()
            .zip(&reference)
            .map(|(a, b)| f64::from(a.abs_diff(*b)))
            .sum::<f64>()
            / decoded.len() as f64;
        assert!(mean_abs < 3.0, "{name}: mean abs error {mean_abs}");
    }

    // A 90° display rotation: frames come out upright, 58 wide and 90 high.
    let source = dir.path().join("h264_444.mp4");
    let rotated = dir.path().join("rotated.mp4");
    ffmpeg_cli(&[
        "-i",
        source.to_str().unwrap(),
        "-c",
        "copy",
        "-metadata:s:v",
        "rotate=90",
        rotated.to_str().unwrap(),
    ]);
    let info = probe(&ffmpeg(), &rotated).unwrap();
    assert_eq!((info.width, info.height), (58, 90));
    let frames = read_all(&rotated, Pixels::Rgb);
    assert_eq!(frames.len(), 12);
    assert!(
        frames
            .iter()
            .all(|f| f.data.len() == frame_bytes && (f.width, f.height) == (58, 90))
    );
}

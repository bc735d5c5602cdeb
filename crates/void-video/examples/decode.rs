//! Decodes a video and reports frames per second.
//!
//! `cargo run --release -p void-video --example decode -- VIDEO [rgb|red]`

use std::path::PathBuf;
use std::time::Instant;

use void_video::decode::Pixels;
use void_video::probe::probe;
use void_video::{DecodeOptions, Ffmpeg, FrameReader};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = PathBuf::from(args.next().ok_or("usage: decode VIDEO [rgb|red]")?);
    let pixels = if args.next().as_deref() == Some("red") {
        Pixels::Red
    } else {
        Pixels::Rgb
    };
    let ffmpeg = Ffmpeg::new("ffmpeg")?;
    let info = probe(&ffmpeg, &path)?;
    let start = Instant::now();
    let mut frames = 0;
    for frame in FrameReader::open(
        &ffmpeg,
        &info,
        DecodeOptions {
            pixels,
            max_frames: None,
        },
    )? {
        frame?;
        frames += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{}: {frames} frames {}x{} in {secs:.2} s = {:.1} frames/s",
        path.display(),
        info.width,
        info.height,
        f64::from(frames) / secs
    );
    Ok(())
}

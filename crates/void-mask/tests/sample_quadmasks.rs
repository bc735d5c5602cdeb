//! The shared samples' quadmasks through the grid and the combination (spec §14): split into
//! black and grey and recombined bit for bit; every grey region a union of whole grid cells;
//! the class totals the spec measured.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use void_mask::Grid;
use void_mask::combine::{combine, split};
use void_video::decode::Pixels;
use void_video::{DecodeOptions, Ffmpeg, FrameReader};

fn samples() -> PathBuf {
    std::env::var_os("VOID_SAMPLES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/samples")
        })
}

/// Every frame of a sample's quadmask, re-quantised on read (spec §10.4).
fn quadmask(name: &str) -> (usize, usize, Vec<Vec<u8>>) {
    let dir = samples().join(name);
    let path = ["quadmask_0.mp4", "trimask_quadmask.mp4"]
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.exists())
        .unwrap();
    let ffmpeg = Ffmpeg::new("ffmpeg").unwrap();
    let info = void_video::probe::probe(&ffmpeg, &path).unwrap();
    let options = DecodeOptions {
        pixels: Pixels::Red,
        max_frames: None,
    };
    let frames = FrameReader::open(&ffmpeg, &info, options)
        .unwrap()
        .map(|f| {
            f.unwrap()
                .data
                .iter()
                .map(|&v| void_prep::mask::quantize(f32::from(v)))
                .collect()
        })
        .collect();
    (info.width as usize, info.height as usize, frames)
}

#[test]
fn samples_split_recombine_and_follow_the_grid() {
    // (name, the spec's totals of 0 / 63 / 127 / 255 over all frames, where measured)
    let cases: [(&str, Option<[u64; 4]>); 5] = [
        (
            "lime",
            Some([19_794_587, 10_562_844, 12_237_846, 338_947_123]),
        ),
        (
            "moving_ball",
            Some([3_375_110, 1_712_573, 20_008_657, 489_156_460]),
        ),
        (
            "pillow",
            Some([13_368_979, 9_467_926, 133_682_294, 357_733_601]),
        ),
        ("ducky-float", None),
        ("BigBen", None),
    ];
    for (name, totals) in cases {
        let (w, h, frames) = quadmask(name);
        let grid = Grid::new(w, h, 8);
        let mut counts = [0u64; 4];
        for (i, q) in frames.iter().enumerate() {
            let (black, grey) = split(q);
            assert_eq!(
                &combine(&black, &grey),
                q,
                "{name} frame {i}: split + combine"
            );
            // The grey region is exactly the union of the cells it touches.
            let cells = grid.cells_touched(|p| grey[p] == 127);
            let mut gridded = vec![255u8; w * h];
            grid.fill(&mut gridded, &cells, 127);
            assert_eq!(gridded, grey, "{name} frame {i}: grey is not whole cells");
            for v in q {
                counts[[0u8, 63, 127, 255].iter().position(|c| c == v).unwrap()] += 1;
            }
        }
        if let Some(totals) = totals {
            assert_eq!(counts, totals, "{name}: class totals");
        }
    }
}

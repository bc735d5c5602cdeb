//! Times the area resize of one synthetic 4K frame to the default sample size.
//!
//! `cargo run --release -p void-prep --example area_resize`

use std::time::Instant;

use void_prep::{AreaResize, SampleSize};

fn main() {
    let (w, h) = (3840u32, 2160u32);
    let rgb: Vec<u8> = (0..(w * h * 3) as usize)
        .map(|i| (i * 31 % 251) as u8)
        .collect();
    let gray: Vec<u8> = rgb.iter().step_by(3).copied().collect();
    let resize = AreaResize::new(w, h, SampleSize::DEFAULT);
    let mut planes = vec![0f32; 3 * resize.out_pixels()];
    let mut plane = vec![0f32; resize.out_pixels()];
    let reps = 20;
    let t = Instant::now();
    for _ in 0..reps {
        resize.resize_rgb_unit(&rgb, &mut planes);
    }
    let rgb_ms = t.elapsed().as_secs_f64() * 1e3 / f64::from(reps);
    let t = Instant::now();
    for _ in 0..reps {
        resize.resize_gray(&gray, &mut plane);
    }
    let gray_ms = t.elapsed().as_secs_f64() * 1e3 / f64::from(reps);
    println!(
        "4K -> {}: rgb {rgb_ms:.2} ms/frame, gray {gray_ms:.2} ms/frame",
        SampleSize::DEFAULT
    );
}

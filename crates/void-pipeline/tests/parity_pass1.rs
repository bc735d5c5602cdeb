//! Pass 1 end to end against a reference composed from diffusers components.
//!
//! `scripts/golden/pass1_goldens.py` wrote the tiny model in the real on-disk layout
//! (`tests/tiny-model`) and ran the reference on sample BigBen at 48x80: 5 steps, a 45-frame
//! window (three multidiffusion windows over 22 latents), injected noise from
//! [`counter_normals`]. Here the same model is loaded through void's loaders, the clip through
//! void's preprocessing, and Pass 1 runs in f32. Bar (issue 5): PSNR >= 40 dB.

#![allow(clippy::unwrap_used)] // test helpers fail loudly by design

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use void_pipeline::{Models, Noise, Pass1, Pass1Options, Resident, pass1_tensors};
use void_prep::SampleSize;
use void_schedulers::SchedulerConfig;
use void_sequence::{PrepOptions, Sequence, load_pass1_inputs};
use void_tokenizer::T5Tokenizer;
use void_video::Ffmpeg;

fn tiny() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/tiny-model")
}

fn samples() -> PathBuf {
    std::env::var_os("VOID_SAMPLES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/samples")
        })
}

/// splitmix64 of `seed + (i + 1) * golden` for i = 0.., pairs through Box-Muller in f64,
/// rounded to f32: the script's `counter_normals`.
fn counter_normals(seed: u64, shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    let mut out = Vec::with_capacity(n + 1);
    let word = |i: u64| {
        let mut z = seed.wrapping_add((i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let unit = |z: u64| (z >> 11) as f64 * 2f64.powi(-53);
    for pair in 0..n.div_ceil(2) as u64 {
        let u1 = 1.0 - unit(word(2 * pair));
        let u2 = unit(word(2 * pair + 1));
        let r = (-2.0 * u1.ln()).sqrt();
        let angle = 2.0 * std::f64::consts::PI * u2;
        out.push((r * angle.cos()) as f32);
        out.push((r * angle.sin()) as f32);
    }
    out.truncate(n);
    Tensor::from_vec(out, shape, &Device::Cpu).unwrap()
}

fn load_models(base: &Path, pass1: &Path) -> Models {
    let (cpu, f32) = (Device::Cpu, DType::F32);
    let scheduler = std::fs::read_to_string(base.join("scheduler/scheduler_config.json")).unwrap();
    let vae = void_weights::vae::load_vae(base, &base.join("vae"), f32, &cpu).unwrap();
    Models {
        tokenizer: T5Tokenizer::from_dir(base.join("tokenizer")).unwrap(),
        text_encoder: Resident::Kept(
            void_weights::t5::load_t5(base, &base.join("text_encoder"), f32, &cpu).unwrap(),
        ),
        vae_config: vae.config().clone(),
        vae: Resident::Kept(vae),
        transformer: Resident::Kept(
            void_weights::transformer::load_transformer(base, pass1, None, f32, &cpu).unwrap(),
        ),
        scheduler: SchedulerConfig::from_json(&scheduler).unwrap(),
    }
}

fn psnr(ours: &Tensor, theirs: &Tensor) -> f64 {
    let mse = (ours - theirs)
        .unwrap()
        .sqr()
        .unwrap()
        .mean_all()
        .unwrap()
        .to_dtype(DType::F64)
        .unwrap()
        .to_scalar::<f64>()
        .unwrap();
    10.0 * (1.0 / mse).log10()
}

#[test]
fn pass1_matches_the_reference_on_bigben() {
    let base = tiny().join("CogVideoX-Fun-V1.5-5b-InP");
    let pass1 = Pass1::new(
        load_models(&base, &tiny().join("void_pass1.safetensors")),
        Device::Cpu,
        DType::F32,
    );
    let sequence = Sequence::open(&samples().join("BigBen")).unwrap();
    let options = PrepOptions {
        sample_size: SampleSize {
            height: 48,
            width: 80,
        },
        ..PrepOptions::default()
    };
    let ffmpeg = Ffmpeg::new(Path::new("ffmpeg")).unwrap();
    let inputs = load_pass1_inputs(&ffmpeg, &sequence, &options, &mut |_| ()).unwrap();
    let (video, mask) = pass1_tensors(&inputs).unwrap();
    let latent_shape = pass1.latent_shape(video.dim(0).unwrap(), 48, 80);
    let noise = Noise {
        latents: counter_normals(1, &latent_shape),
        video: counter_normals(2, &[1, 3, video.dim(0).unwrap(), 48, 80]),
    };
    let run = Pass1Options {
        steps: 5,
        window_frames: 45,
        ..Pass1Options::default()
    };
    let out = pass1
        .run(&video, &mask, &inputs.prompt, &noise, &run, &mut ())
        .unwrap();

    let reference =
        candle_core::safetensors::load(tiny().join("reference_bigben.safetensors"), &Device::Cpu)
            .unwrap();
    let theirs = reference["video_u8"]
        .to_dtype(DType::F32)
        .unwrap()
        .affine(1.0 / 255.0, 0.0)
        .unwrap();
    let ours = (out.affine(255.0, 0.0).unwrap().round().unwrap() / 255.0).unwrap();
    assert_eq!(ours.dims(), theirs.dims());
    let db = psnr(&ours, &theirs);
    eprintln!(
        "Pass 1 vs reference on BigBen (48x80, 85 frames, 5 steps, 3 windows): PSNR {db:.1} dB"
    );
    assert!(db >= 40.0, "PSNR {db:.2} dB");
}

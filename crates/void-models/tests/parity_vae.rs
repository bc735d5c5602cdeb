//! VAE parity with VOID's own vendored `AutoencoderKLCogVideoX` on a tiny random model.
//!
//! Fixtures from `scripts/golden/vae_goldens.py` (diffusers 0.42.1 building blocks, VOID's
//! `cogvideox_vae.py`, CPU): four levels with 4x time compression like the real VAE, 8-16
//! channels, 16x24 frames. Clips of 1, 5 (batch 2), 9, 13, 21 and 29 frames exercise the
//! encoder's chunks (up to 13 + 8 + 8) and the decoder's (1, 2, 2, ..., 1). Tolerances from
//! issue 4: f32 rel-L2 <= 1e-5; bf16 within 1.5x of PyTorch's own bf16 error (plus 1e-3).

#![allow(clippy::unwrap_used)] // test helpers fail loudly by design

mod common;

use std::collections::HashMap;
use std::sync::OnceLock;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use common::{golden, rel_l2};
use void_models::vae::{AutoencoderKLCogVideoX, Tiling, VaeConfig};

fn io() -> &'static HashMap<String, Tensor> {
    static IO: OnceLock<HashMap<String, Tensor>> = OnceLock::new();
    IO.get_or_init(|| {
        candle_core::safetensors::load(golden("vae_io.safetensors"), &Device::Cpu).unwrap()
    })
}

fn config() -> VaeConfig {
    VaeConfig::from_json(&std::fs::read_to_string(golden("vae_config.json")).unwrap()).unwrap()
}

fn model(dtype: DType) -> AutoencoderKLCogVideoX {
    let weights =
        candle_core::safetensors::load(golden("vae_weights.safetensors"), &Device::Cpu).unwrap();
    AutoencoderKLCogVideoX::new(
        &config(),
        VarBuilder::from_tensors(weights, dtype, &Device::Cpu),
    )
    .unwrap()
}

const FRAMES: [usize; 6] = [1, 5, 9, 13, 21, 29];

#[test]
fn encode_matches_void_for_every_chunking() {
    let vae = model(DType::F32);
    for f in FRAMES {
        let mut calls = Vec::new();
        let latent = vae
            .encode(&io()[&format!("video_{f}")], |d, t| calls.push((d, t)))
            .unwrap();
        let err = rel_l2(&latent, &io()[&format!("latent_{f}")]);
        eprintln!("encode {f:>2} frames: rel-L2 {err:.2e}");
        assert!(err <= 1e-5, "encode {f} frames: rel-L2 {err:e}");
        assert_eq!(calls.last(), Some(&((f / 8).max(1), (f / 8).max(1))));
    }
}

#[test]
fn decode_matches_void_for_every_chunking() {
    let vae = model(DType::F32);
    for f in FRAMES {
        let z = &io()[&format!("z_{f}")];
        let video = vae.decode(z, |_, _| ()).unwrap();
        assert_eq!(
            video.dim(2).unwrap(),
            vae.config().decoded_frames(z.dim(2).unwrap())
        );
        let err = rel_l2(&video, &io()[&format!("decoded_{f}")]);
        eprintln!("decode {f:>2} frames: rel-L2 {err:.2e}");
        assert!(err <= 1e-5, "decode {f} frames: rel-L2 {err:e}");
    }
}

#[test]
fn bf16_is_as_close_as_torch_bf16() {
    let vae = model(DType::BF16);
    let cases = [
        ("video_13", "latent_13", "latent_13_bf16", true),
        ("z_13", "decoded_13", "decoded_13_bf16", false),
    ];
    for (input, reference, torch_bf16, encode) in cases {
        let x = io()[input].to_dtype(DType::BF16).unwrap();
        let out = if encode {
            vae.encode(&x, |_, _| ())
        } else {
            vae.decode(&x, |_, _| ())
        }
        .unwrap();
        let ours = rel_l2(&out.to_dtype(DType::F32).unwrap(), &io()[reference]);
        let torch = rel_l2(&io()[torch_bf16], &io()[reference]);
        eprintln!("{reference} bf16: rel-L2 {ours:.3e} (torch bf16 {torch:.3e})");
        assert!(
            ours <= 1.5 * torch + 1e-3,
            "{reference} bf16: {ours:e} vs torch {torch:e}"
        );
    }
}

#[test]
fn tiled_coding_matches_void_tiling() {
    let vae = model(DType::F32);
    let tiling = Tiling {
        tile_height: 48,
        tile_width: 40,
        ..Tiling::for_config(vae.config())
    };
    let mut tiles = 0;
    let latent = vae
        .encode_tiled(&io()["tiled_video"], &tiling, |_, t| tiles = t)
        .unwrap();
    assert_eq!(tiles, 6);
    let err = rel_l2(&latent, &io()["tiled_latent"]);
    eprintln!("tiled encode: rel-L2 {err:.2e}");
    assert!(err <= 1e-5, "tiled encode: rel-L2 {err:e}");
    let video = vae
        .decode_tiled(&io()["tiled_z"], &tiling, |_, _| ())
        .unwrap();
    let err = rel_l2(&video, &io()["tiled_decoded"]);
    eprintln!("tiled decode: rel-L2 {err:.2e}");
    assert!(err <= 1e-5, "tiled decode: rel-L2 {err:e}");

    // Tiling is a different computation: how far it is from untiled coding at these tiny tiles.
    let plain = vae.decode(&io()["tiled_z"], |_, _| ()).unwrap();
    eprintln!(
        "tiled vs untiled decode at 48x40-px tiles: rel-L2 {:.3e}",
        rel_l2(&video, &plain)
    );
    // A clip that fits one tile is coded untiled.
    let small = &io()["video_9"];
    let a = vae.encode_tiled(small, &tiling, |_, _| ()).unwrap();
    let b = vae.encode(small, |_, _| ()).unwrap();
    assert_eq!(rel_l2(&a, &b), 0.0);
}

#[test]
fn bad_shapes_are_refused() {
    let vae = model(DType::F32);
    let odd = Tensor::zeros((1, 3, 5, 12, 24), DType::F32, &Device::Cpu).unwrap();
    let err = vae.encode(&odd, |_, _| ()).unwrap_err().to_string();
    assert!(err.contains("multiples of 8"), "{err}");
    let wrong_channels = Tensor::zeros((1, 3, 2, 2, 3), DType::F32, &Device::Cpu).unwrap();
    assert!(vae.decode(&wrong_channels, |_, _| ()).is_err());
    let empty = Tensor::zeros((1, 3, 0, 16, 24), DType::F32, &Device::Cpu).unwrap();
    assert!(vae.encode(&empty, |_, _| ()).is_err());
}

#[test]
fn unsupported_configs_are_refused() {
    let mut cfg = config();
    cfg.use_quant_conv = true;
    assert!(cfg.check().is_err());
    let mut cfg = config();
    cfg.norm_num_groups = 3;
    assert!(cfg.check().unwrap_err().to_string().contains("groups"));
    assert_eq!(config().latent_frames(85), 22);
    assert_eq!(config().decoded_frames(22), 85);
}

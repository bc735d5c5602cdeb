"""Golden fixtures for the Rust CogVideoX VAE (crates/void-models, module vae).

Runs VOID's own vendored VAE, `videox_fun/models/cogvideox_vae.py` of Netflix/void-model (it is
read from a checkout given on the command line, never copied into this repo), on a tiny
random-weight config with the real four-level, 4x-time layout. Writes to <out>:

  vae_config.json          config.json as save_config writes it
  vae_weights.safetensors  state_dict in f32, diffusers key names
  vae_io.safetensors       for F in 1, 5, 9, 13, 21, 29 frames (the chunkings 1..13, 13+8, 13+8+8):
                             video_F  f32 [B,3,F,16,24] in [-1,1] (B = 2 for F = 5, else 1)
                             latent_F f32: encode(video_F).latent_dist.mode() (unscaled mean)
                             z_F      f32 [B,4,F',2,3] standard normal latents
                             decoded_F f32: decode(z_F) with VOID's chunking (1, 2, 2, ...)
                           bf16 yardsticks for F = 13 (model and inputs in bf16):
                             latent_13_bf16, decoded_13_bf16
                           tiled coding (enable_tiling with 48x40-pixel tiles):
                             tiled_video f32 [1,3,5,56,72] -> tiled_latent
                             tiled_z f32 [1,4,1,7,9] -> tiled_decoded

Metadata records versions, seed, the bf16 errors and how far diffusers' own
AutoencoderKLCogVideoX (same weights) is from VOID's copy: encode must agree exactly, decode
differs because VOID chunks latents 1, 2, 2, ... and diffusers 2, 2, ... (remainder first).

Usage:
  git -C /path/to/void-model show HEAD:videox_fun/models/cogvideox_vae.py > /tmp/void_vae.py
  /path/to/python scripts/golden/vae_goldens.py --void-vae /tmp/void_vae.py [--out DIR]

Default --out: crates/void-models/tests/golden. Needs torch and diffusers (requirements.txt).
"""

import argparse
import copy
import importlib.util
import json
import shutil
import tempfile
from pathlib import Path

import diffusers
import safetensors
import torch
from diffusers import AutoencoderKLCogVideoX as DiffusersVae
from safetensors.torch import save_file

REPO = Path(__file__).resolve().parents[2]
SEED = 0
FRAMES = [1, 5, 9, 13, 21, 29]
HEIGHT, WIDTH = 16, 24

CONFIG = dict(
    in_channels=3,
    out_channels=3,
    down_block_types=["CogVideoXDownBlock3D"] * 4,
    up_block_types=["CogVideoXUpBlock3D"] * 4,
    block_out_channels=[8, 8, 16, 16],
    latent_channels=4,
    layers_per_block=1,
    act_fn="silu",
    norm_eps=1e-6,
    norm_num_groups=4,
    temporal_compression_ratio=4,
    sample_height=32,
    sample_width=48,
    scaling_factor=0.7,
    shift_factor=None,
    latents_mean=None,
    latents_std=None,
    force_upcast=True,
    use_quant_conv=False,
    use_post_quant_conv=False,
)


def load_void_vae(path):
    spec = importlib.util.spec_from_file_location("void_cogvideox_vae", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.AutoencoderKLCogVideoX


def randomise(model):
    """Conv weights keep PyTorch's default init (scale-preserving); biases and norm affines get
    visible random values so every parameter matters."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.copy_(0.05 * torch.randn_like(p))
            elif p.dim() == 1:  # GroupNorm weights
                p.copy_(1 + 0.1 * torch.randn_like(p))
    return model.eval()


def encode(model, video):
    with torch.no_grad():
        return model.encode(video).latent_dist.mode()


def decode(model, z):
    with torch.no_grad():
        out = model.decode(z)
    return out.sample if hasattr(out, "sample") else out[0]


def rel(a, b):
    return ((a.float() - b.float()).norm() / b.float().norm()).item()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--void-vae", type=Path, required=True, help="VOID's videox_fun/models/cogvideox_vae.py")
    parser.add_argument("--out", type=Path, default=REPO / "crates/void-models/tests/golden")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    VoidVae = load_void_vae(args.void_vae)

    torch.manual_seed(SEED)
    model = randomise(VoidVae(**CONFIG))
    reference = DiffusersVae(**CONFIG).eval()
    reference.load_state_dict(model.state_dict())

    tensors, meta = {}, {}
    for frames in FRAMES:
        batch = 2 if frames == 5 else 1
        video = torch.rand(batch, 3, frames, HEIGHT, WIDTH) * 2 - 1
        latent = encode(model, video)
        z = torch.randn(batch, CONFIG["latent_channels"], latent.shape[2], HEIGHT // 8, WIDTH // 8)
        decoded = decode(model, z)
        assert decoded.shape[2] == frames, (frames, decoded.shape)
        tensors.update({f"video_{frames}": video, f"latent_{frames}": latent, f"z_{frames}": z, f"decoded_{frames}": decoded})
        meta[f"diffusers_encode_rel_l2_{frames}"] = f"{rel(encode(reference, video), latent):.3e}"
        theirs = decode(reference, z)
        meta[f"diffusers_decode_{frames}"] = (
            f"{theirs.shape[2]} frames, rel-L2 {rel(theirs, decoded):.3e}" if theirs.shape == decoded.shape
            else f"{theirs.shape[2]} frames (VOID: {frames})"
        )
        print(f"F={frames}: latent {list(latent.shape)} std {latent.std():.3f}; decoded {list(decoded.shape)} "
              f"std {decoded.std():.3f}; diffusers decode: {meta[f'diffusers_decode_{frames}']}")

    half = copy.deepcopy(model).to(torch.bfloat16)
    tensors["latent_13_bf16"] = encode(half, tensors["video_13"].bfloat16()).float()
    tensors["decoded_13_bf16"] = decode(half, tensors["z_13"].bfloat16()).float()
    meta["bf16_encode_rel_l2"] = f"{rel(tensors['latent_13_bf16'], tensors['latent_13']):.3e}"
    meta["bf16_decode_rel_l2"] = f"{rel(tensors['decoded_13_bf16'], tensors['decoded_13']):.3e}"

    # Tiles of 48x40 px step 40 and 32 px (whole latent pixels), 6x5 latents step 5 and 4.
    video = torch.rand(1, 3, 5, 56, 72) * 2 - 1
    z = torch.randn(1, CONFIG["latent_channels"], 1, 7, 9)
    untiled_latent, untiled_decoded = encode(model, video), decode(model, z)
    model.enable_tiling(tile_sample_min_height=48, tile_sample_min_width=40)
    tensors.update({"tiled_video": video, "tiled_z": z})
    tensors["tiled_latent"] = encode(model, video)
    tensors["tiled_decoded"] = decode(model, z)
    meta["tiled_encode_vs_untiled_rel_l2"] = f"{rel(tensors['tiled_latent'], untiled_latent):.3e}"
    meta["tiled_decode_vs_untiled_rel_l2"] = f"{rel(tensors['tiled_decoded'], untiled_decoded):.3e}"
    model.disable_tiling()

    with tempfile.TemporaryDirectory() as tmp:
        model.save_config(tmp)
        shutil.copy(Path(tmp) / "config.json", args.out / "vae_config.json")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, args.out / "vae_weights.safetensors")
    metadata = {
        "script": "scripts/golden/vae_goldens.py",
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
        "safetensors": safetensors.__version__,
        "seed": str(SEED),
        **meta,
    }
    save_file({k: v.contiguous() for k, v in tensors.items()}, args.out / "vae_io.safetensors", metadata)
    print(json.dumps(meta, indent=1))
    for path in sorted(args.out.glob("vae_*")):
        print(f"{path}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()

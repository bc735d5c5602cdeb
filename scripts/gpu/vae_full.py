"""Full-size VOID VAE on the GPU: the PyTorch side of the comparison, and the table.

`torch DIR VOID_VAE_PY`: builds VOID's own vendored AutoencoderKLCogVideoX (its
videox_fun/models/cogvideox_vae.py, carried beside the repo, not part of it) with the
CogVideoX-Fun V1.5 VAE config and random weights, one Pass-1 window of inputs (85 frames of
384x672; 22 latent frames of 48x84), and writes to DIR:

  config.json, weights.safetensors (bf16)
  inputs_encode.safetensors (video bf16 [1,3,85,384,672]), inputs_decode.safetensors (latent bf16
  [1,16,22,48,84]); torch.safetensors (latent_bf16, latent_f32, video_bf16, video_f32,
  video_tiled_bf16); torch_timing.json (median seconds and peak GiB per run)

`table DIR`: reads torch's files and void's outputs and logs (void_*.safetensors, void_*.log,
void_*_peak_mib), prints one table.

Run: python3 scripts/gpu/vae_full.py torch DIR VOID_VAE_PY ; ... ; python3 scripts/gpu/vae_full.py table DIR
"""

import importlib.util
import json
import re
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

CONFIG = dict(
    in_channels=3, out_channels=3, down_block_types=["CogVideoXDownBlock3D"] * 4,
    up_block_types=["CogVideoXUpBlock3D"] * 4, block_out_channels=[128, 256, 256, 512], latent_channels=16,
    layers_per_block=3, act_fn="silu", norm_eps=1e-6, norm_num_groups=32, temporal_compression_ratio=4,
    sample_height=480, sample_width=720, scaling_factor=0.7, shift_factor=None, latents_mean=None,
    latents_std=None, force_upcast=True, use_quant_conv=False, use_post_quant_conv=False,
)
FRAMES, LATENTS, H, W = 85, 22, 384, 672


def rel_l2(a, b):
    return float((a.double() - b.double()).norm() / b.double().norm())


def timed(fn, repeats):
    """Median seconds of `repeats` runs after one warm-up (none when repeats is 0), the output and peak GiB."""
    torch.cuda.reset_peak_memory_stats()
    times, out = [], None
    with torch.no_grad():
        for i in range(repeats + 1 if repeats else 1):
            torch.cuda.synchronize()
            start = time.perf_counter()
            out = fn()
            torch.cuda.synchronize()
            if i or not repeats:
                times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2], out.float().cpu(), torch.cuda.max_memory_allocated() / 2**30


def torch_side(out, void_vae_py):
    spec = importlib.util.spec_from_file_location("void_cogvideox_vae", void_vae_py)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    torch.manual_seed(0)
    model = module.AutoencoderKLCogVideoX(**CONFIG)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.copy_(0.05 * torch.randn_like(p))
            elif p.dim() == 1:
                p.copy_(1 + 0.1 * torch.randn_like(p))
    model = model.eval().cuda()
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps({"_class_name": "AutoencoderKLCogVideoX", **CONFIG}))
    half = model.to(torch.bfloat16)
    save_file({k: v.contiguous() for k, v in half.state_dict().items()}, out / "weights.safetensors")

    video = (torch.rand(1, 3, FRAMES, H, W, device="cuda") * 2 - 1).bfloat16()
    latent = torch.randn(1, 16, LATENTS, H // 8, W // 8, device="cuda").bfloat16()
    save_file({"video": video.cpu()}, out / "inputs_encode.safetensors")
    save_file({"latent": latent.cpu()}, out / "inputs_decode.safetensors")

    timing, results = {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__}, {}
    for name, fn, repeats in [
        ("latent_bf16", lambda: half.encode(video).latent_dist.mode(), 3),
        ("video_bf16", lambda: half.decode(latent).sample, 3),
    ]:
        timing[f"{name}_s"], results[name], timing[f"{name}_peak_gib"] = timed(fn, repeats)
        print(f"torch {name}: {timing[f'{name}_s']:.3f} s, peak {timing[f'{name}_peak_gib']:.1f} GiB", flush=True)
    half.enable_tiling()
    timing["video_tiled_bf16_s"], results["video_tiled_bf16"], timing["video_tiled_bf16_peak_gib"] = timed(
        lambda: half.decode(latent).sample, 1)
    half.disable_tiling()
    full = half.float()
    _, results["latent_f32"], _ = timed(lambda: full.encode(video.float()).latent_dist.mode(), 0)
    _, results["video_f32"], _ = timed(lambda: full.decode(latent.float()).sample, 0)
    save_file({k: v.contiguous() for k, v in results.items()}, out / "torch.safetensors")
    (out / "torch_timing.json").write_text(json.dumps(timing))


def table(out):
    ref = load_file(out / "torch.safetensors")
    timing = json.loads((out / "torch_timing.json").read_text())
    print(f"gpu: {timing['gpu']}, torch {timing['torch']}; VOID VAE, random weights, 85 frames 384x672 <-> 22x48x84 latents")
    print(f"{'run':34} {'void s':>8} {'torch s':>8} {'ratio':>6} {'void GiB':>9} {'torch GiB':>9} "
          f"{'void vs torch bf16':>19} {'void vs torch f32':>18} {'torch bf16 vs f32':>18}")
    for run, key, torch_key in [
        ("encode 85 frames, bf16", "encode", "latent_bf16"),
        ("decode 22 latents, bf16", "decode", "video_bf16"),
        ("decode, tiled 240x360 (auto)", "decode_tiled", "video_tiled_bf16"),
    ]:
        ours = load_file(out / f"void_{key}.safetensors")
        ours = ours["latent"] if "latent" in ours else ours["video"]
        log = (out / f"void_{key}.log").read_text()
        void_s = float(re.search(r"run ([0-9.]+) s", log).group(1))
        peak = float((out / f"void_{key}_peak_mib").read_text()) / 1024
        f32 = ref["latent_f32" if key == "encode" else "video_f32"]
        yard = rel_l2(ref[torch_key], f32)
        print(f"{run:34} {void_s:8.3f} {timing[torch_key + '_s']:8.3f} {timing[torch_key + '_s'] / void_s:6.2f} "
              f"{peak:9.1f} {timing[torch_key + '_peak_gib']:9.1f} {rel_l2(ours, ref[torch_key]):19.2e} "
              f"{rel_l2(ours, f32):18.2e} {yard:18.2e}")
    tiled = load_file(out / "void_decode_tiled.safetensors")["video"]
    untiled = load_file(out / "void_decode.safetensors")["video"]
    print(f"tiling error (void tiled vs void untiled decode): rel-L2 {rel_l2(tiled, untiled):.3e}; "
          f"torch tiled vs untiled: {rel_l2(ref['video_tiled_bf16'], ref['video_bf16']):.3e}")


if __name__ == "__main__":
    if sys.argv[1] == "torch":
        torch_side(Path(sys.argv[2]), sys.argv[3])
    else:
        table(Path(sys.argv[2]))

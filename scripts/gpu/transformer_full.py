"""Full-size VOID transformer on the GPU: PyTorch/diffusers side of the comparison.

Builds diffusers' CogVideoXTransformer3DModel with the real VOID architecture (42 layers,
48 heads x 64, 48 input channels, T5-XXL text width 4096) and random weights, one Pass-1
window of inputs (B=1, 22 latent frames of 48x84, 226 text tokens, t=999), and writes to DIR:

  config.json                 the model config (in_channels 48)
  weights.safetensors         bf16 weights, diffusers key names (11.1 GB)
  inputs.safetensors          hidden_states, encoder_hidden_states, timestep
  torch.safetensors           sample_bf16, sample_f32 (the bf16 and f32 forwards)
  torch_timing.json           median forward seconds and peak GPU memory, bf16 and f32

Run: python3 scripts/gpu/transformer_full.py DIR [--scaled]   (needs a CUDA GPU with >= 40 GB and diffusers)
"""

import json
import sys
import time
from pathlib import Path

import torch
from diffusers import CogVideoXTransformer3DModel
from diffusers.models.embeddings import get_3d_rotary_pos_embed
from safetensors.torch import save_file

CONFIG = dict(
    num_attention_heads=48, attention_head_dim=64, in_channels=48, out_channels=16, num_layers=42,
    patch_size=2, patch_size_t=2, text_embed_dim=4096, time_embed_dim=512, max_text_seq_length=226,
    flip_sin_to_cos=True, freq_shift=0, activation_fn="gelu-approximate", timestep_activation_fn="silu",
    norm_elementwise_affine=True, norm_eps=1e-5, attention_bias=True, use_rotary_positional_embeddings=True,
    use_learned_positional_embeddings=False, patch_bias=False, sample_height=384, sample_width=680,
    sample_frames=85, temporal_compression_ratio=4,
)
B, F, H, W, L = 1, 22, 48, 84, 226


def rope(device):
    p, pt = CONFIG["patch_size"], CONFIG["patch_size_t"]
    return get_3d_rotary_pos_embed(
        embed_dim=CONFIG["attention_head_dim"], crops_coords=None, grid_size=(H // p, W // p),
        temporal_size=(F + pt - 1) // pt, grid_type="slice",
        max_size=(CONFIG["sample_height"] // p, CONFIG["sample_width"] // p), device=device,
    )


def timed_forward(model, inputs, rotary, repeats=3):
    """Median seconds of `repeats` forwards after one warm-up, the output and peak memory."""
    torch.cuda.reset_peak_memory_stats()
    times, out = [], None
    with torch.no_grad():
        for i in range(repeats + 1):
            torch.cuda.synchronize()
            start = time.perf_counter()
            out = model(**inputs, image_rotary_emb=rotary, return_dict=False)[0]
            torch.cuda.synchronize()
            if i:
                times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2], out.float(), torch.cuda.max_memory_allocated() / 2**30


def main():
    out_dir = Path(sys.argv[1])
    out_dir.mkdir(parents=True, exist_ok=True)
    dev = torch.device("cuda")
    torch.manual_seed(0)
    inputs = dict(
        hidden_states=torch.randn(B, F, CONFIG["in_channels"], H, W),
        encoder_hidden_states=torch.randn(B, L, CONFIG["text_embed_dim"]),
        timestep=torch.tensor([999], dtype=torch.int64),
    )
    save_file(inputs, out_dir / "inputs.safetensors")

    # Built on the GPU (minutes faster than on the CPU), in f32 first. Weights: PyTorch's own
    # default initialisation (Linear: U(+-1/sqrt(fan_in))), or with --scaled N(0, 0.02) for every
    # weight and bias and 1 + N(0, 0.1) for LayerNorm scales, a harsher test of precision.
    with dev:
        model = CogVideoXTransformer3DModel(**CONFIG).eval()
        if "--scaled" in sys.argv:
            with torch.no_grad():
                for name, p in model.named_parameters():
                    if p.ndim == 1 and "norm" in name and name.endswith("weight"):
                        p.copy_(1 + 0.1 * torch.randn_like(p))
                    else:
                        p.copy_(0.02 * torch.randn_like(p))
    model.save_config(out_dir)
    rotary = rope(dev)
    # The f32 reference uses the bf16-rounded weights, so both runs compute the same function.
    model = model.to(torch.bfloat16).float()
    t_f32, out_f32, mem_f32 = timed_forward(model, {k: v.to(dev) for k, v in inputs.items()}, rotary, repeats=1)
    model = model.to(torch.bfloat16)
    bf16_in = {k: (v.to(dev, torch.bfloat16) if v.is_floating_point() else v.to(dev)) for k, v in inputs.items()}
    t_bf16, out_bf16, mem_bf16 = timed_forward(model, bf16_in, rotary)
    save_file({"sample_bf16": out_bf16.cpu(), "sample_f32": out_f32.cpu()}, out_dir / "torch.safetensors")
    save_file({k: v.contiguous().cpu() for k, v in model.state_dict().items()}, out_dir / "weights.safetensors")
    timing = dict(init="scaled" if "--scaled" in sys.argv else "default", bf16_forward_s=t_bf16, bf16_peak_gib=mem_bf16, f32_forward_s=t_f32, f32_peak_gib=mem_f32,
                  torch=torch.__version__, gpu=torch.cuda.get_device_name())
    (out_dir / "torch_timing.json").write_text(json.dumps(timing, indent=1))
    print(json.dumps(timing))


if __name__ == "__main__":
    main()

"""Golden fixtures for the Rust CogVideoX transformer (crates/void-models).

Builds two tiny diffusers CogVideoXTransformer3DModel configs in the
CogVideoX-Fun-V1.5 style (patch_size_t=2, rotary embeddings, no patch bias),
fills every parameter with seeded random values, and runs one forward pass
the way a CogVideoX 1.5 pipeline calls the transformer. For each config NAME
(a, b) it writes to <out>:

  transformer_NAME_config.json         config.json as model.save_config writes it
  transformer_NAME_weights.safetensors model.state_dict() in f32, diffusers key names
  transformer_NAME_io.safetensors      hidden_states f32 [B,F,C,H,W]
                                       encoder_hidden_states f32 [B,L,D]
                                       timestep [B] (i64 for a, f32 for b)
                                       rope_cos, rope_sin f32 [tokens, head_dim]
                                       sample f32 [B,F,out_channels,H,W]
                                       sample_bf16 f32: output of the same model
                                         in bf16 (inputs bf16, rope tables f32)

The io metadata records the script, library versions, seed, config name and
the bf16-vs-f32 relative L2 of the output (the yardstick for a bf16 port).

Usage:
  /path/to/python scripts/golden/transformer_goldens.py [--out DIR]

Default --out: crates/void-models/tests/golden (relative to the repo root).
"""

import argparse
import copy
import json
import shutil
import tempfile
from pathlib import Path

import diffusers
import safetensors
import torch
from diffusers import CogVideoXTransformer3DModel
from diffusers.models.embeddings import get_3d_rotary_pos_embed
from safetensors.torch import save_file

REPO = Path(__file__).resolve().parents[2]

BASE = dict(
    num_layers=2,
    num_attention_heads=2,
    attention_head_dim=16,
    in_channels=12,
    out_channels=4,
    patch_size=2,
    patch_size_t=2,
    text_embed_dim=24,
    time_embed_dim=16,
    max_text_seq_length=226,
    use_rotary_positional_embeddings=True,
    use_learned_positional_embeddings=False,
    flip_sin_to_cos=True,
    freq_shift=0,
    activation_fn="gelu-approximate",
    timestep_activation_fn="silu",
    norm_elementwise_affine=True,
    norm_eps=1e-5,
    attention_bias=True,
    sample_height=96,
    sample_width=160,
    sample_frames=49,
    temporal_compression_ratio=4,
    patch_bias=False,
)

# name -> (seed, config overrides, (B, F, H, W, L), timestep)
CASES = {
    "a": (0, {}, (1, 4, 6, 10, 7), torch.tensor([999], dtype=torch.int64)),
    "b": (
        1,
        dict(num_attention_heads=3, attention_head_dim=32, in_channels=8, text_embed_dim=20, time_embed_dim=24),
        (2, 6, 4, 14, 5),
        torch.tensor([500.0, 37.5], dtype=torch.float32),
    ),
}


def build_model(config):
    """The model with every parameter random: N(0, 0.2^2), LayerNorm weights 1 + N(0, 0.1^2)."""
    model = CogVideoXTransformer3DModel(**config)
    norm_weights = {id(m.weight) for m in model.modules() if isinstance(m, torch.nn.LayerNorm)}
    with torch.no_grad():
        for p in model.parameters():
            if id(p) in norm_weights:
                p.copy_(1 + 0.1 * torch.randn_like(p))
            else:
                p.copy_(0.2 * torch.randn_like(p))
    return model.eval()


def rotary_embeddings(config, num_frames, height, width):
    """CogVideoXPipeline._prepare_rotary_positional_embeddings, CogVideoX 1.5 branch (latent H, W)."""
    p, p_t = config["patch_size"], config["patch_size_t"]
    base_size_width = config["sample_width"] // p
    base_size_height = config["sample_height"] // p
    base_num_frames = (num_frames + p_t - 1) // p_t
    return get_3d_rotary_pos_embed(
        embed_dim=config["attention_head_dim"],
        crops_coords=None,
        grid_size=(height // p, width // p),
        temporal_size=base_num_frames,
        grid_type="slice",
        max_size=(base_size_height, base_size_width),
    )


def forward(model, hidden_states, encoder_hidden_states, timestep, rope):
    with torch.no_grad():
        return model(
            hidden_states=hidden_states,
            encoder_hidden_states=encoder_hidden_states,
            timestep=timestep,
            image_rotary_emb=rope,
            return_dict=False,
        )[0]


def generate(name, out):
    seed, overrides, (b, f, h, w, text_len), timestep = CASES[name]
    config = {**BASE, **overrides}
    torch.manual_seed(seed)
    model = build_model(config)
    hidden_states = torch.randn(b, f, config["in_channels"], h, w)
    encoder_hidden_states = torch.randn(b, text_len, config["text_embed_dim"])
    rope = rotary_embeddings(config, f, h, w)

    sample = forward(model, hidden_states, encoder_hidden_states, timestep, rope)
    sample_bf16 = forward(
        copy.deepcopy(model).to(torch.bfloat16),
        hidden_states.bfloat16(),
        encoder_hidden_states.bfloat16(),
        timestep,
        rope,
    ).float()
    std = sample.std().item()
    if not 0.1 < std < 100:
        raise RuntimeError(f"config {name}: output std {std} is out of range")
    rel_l2 = ((sample_bf16 - sample).norm() / sample.norm()).item()

    with tempfile.TemporaryDirectory() as tmp:
        model.save_config(tmp)
        shutil.copy(Path(tmp) / "config.json", out / f"transformer_{name}_config.json")
    save_file(
        {k: v.contiguous() for k, v in model.state_dict().items()},
        out / f"transformer_{name}_weights.safetensors",
    )
    tensors = {
        "hidden_states": hidden_states,
        "encoder_hidden_states": encoder_hidden_states,
        "timestep": timestep,
        "rope_cos": rope[0],
        "rope_sin": rope[1],
        "sample": sample,
        "sample_bf16": sample_bf16,
    }
    metadata = {
        "script": "scripts/golden/transformer_goldens.py",
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
        "safetensors": safetensors.__version__,
        "seed": str(seed),
        "config": name,
        "bf16_vs_f32_rel_l2": f"{rel_l2:.6e}",
    }
    save_file({k: v.contiguous() for k, v in tensors.items()}, out / f"transformer_{name}_io.safetensors", metadata)
    shapes = json.dumps({k: list(v.shape) for k, v in tensors.items()})
    print(f"config {name}: sample std={std:.4f} bf16_vs_f32_rel_l2={rel_l2:.4e} shapes={shapes}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "crates/void-models/tests/golden")
    args = parser.parse_args()
    diffusers.utils.logging.set_verbosity_error()  # model.to(bf16) warns that no module needs fp32
    args.out.mkdir(parents=True, exist_ok=True)
    for name in CASES:
        generate(name, args.out)
    for path in sorted(args.out.glob("transformer_*")):
        print(f"{path}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()

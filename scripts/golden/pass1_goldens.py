"""Tiny VOID model in the real on-disk layout, and a Pass-1 reference run on a real clip.

Writes crates/void-pipeline/tests/tiny-model/, laid out exactly like the real files:

  CogVideoX-Fun-V1.5-5b-InP/    model_index.json, transformer/config.json (no base weights),
                                vae/{config.json, diffusion_pytorch_model.safetensors},
                                text_encoder/{config.json, model.safetensors},
                                tokenizer/ (the 1000-piece SentencePiece model of the tokenizer
                                goldens, as T5Tokenizer.save_pretrained writes it),
                                scheduler/scheduler_config.json (the real values)
  void_pass1.safetensors        the transformer (48 -> here 12 input channels), bf16

Random weights, stored in bf16 like the real checkpoints; the reference run computes in f32 on
the bf16 values. Sizes: VAE with four levels (8, 8, 16, 16 channels, 4 latent channels), T5
with d_model 32 and 2 layers, transformer with 2 layers of 2 heads x 16.

Then Pass 1 is composed from diffusers components per void-inference-spec §1.3-§1.5, §6: the
reference preprocessing of scripts/golden/prep_goldens.py at 48x80 on sample BigBen (50 frames,
padded to 85), tokenizer + T5, VOID's own vendored VAE (its cogvideox_vae.py, read from a
Netflix/void-model checkout), diffusers' CogVideoXTransformer3DModel and DDIMScheduler, 5 steps,
a temporal window of 45 frames (12 latents, so three multidiffusion windows) with stride 16.
The initial latents and the video's noise augmentation are injected: standard normals from
`counter_normals` (splitmix64 + Box-Muller in f64), which the Rust test reproduces. Outputs in
tests/tiny-model/reference_bigben.safetensors: `latents` f32 [1,22,4,6,10] (final, before
decode) and `video_u8` u8 [85,3,48,80] (round(255 * frames)).

Two environments (transformers 4.57.1 and diffusers 0.42.1 pin incompatible huggingface-hub
versions), two stages:
  /path/to/transformers-env/python scripts/golden/pass1_goldens.py text
  git -C void-model show HEAD:videox_fun/models/cogvideox_vae.py > /tmp/void_vae.py
  /path/to/diffusers-env/python scripts/golden/pass1_goldens.py pipeline --void-vae /tmp/void_vae.py
The text stage leaves the prompt embeddings in tests/tiny-model/.text_stage.safetensors (deleted
by the pipeline stage).
"""

import argparse
import importlib.util
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "crates/void-pipeline/tests/tiny-model"
BASE = OUT / "CogVideoX-Fun-V1.5-5b-InP"
STAGE = OUT / ".text_stage.safetensors"
SAMPLE = "BigBen"
H, W = 48, 80
STEPS, WINDOW, STRIDE = 5, 45, 16
NOISE_AUG = 0.0563
SEED_LATENTS, SEED_VIDEO = 1, 2

T5 = dict(vocab_size=1100, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4,
          relative_attention_num_buckets=32, relative_attention_max_distance=128, dropout_rate=0.0,
          layer_norm_epsilon=1e-6, feed_forward_proj="gated-gelu", is_encoder_decoder=False,
          pad_token_id=0, eos_token_id=1, tie_word_embeddings=False, architectures=["T5EncoderModel"])
VAE = dict(in_channels=3, out_channels=3, down_block_types=["CogVideoXDownBlock3D"] * 4,
           up_block_types=["CogVideoXUpBlock3D"] * 4, block_out_channels=[8, 8, 16, 16], latent_channels=4,
           layers_per_block=1, act_fn="silu", norm_eps=1e-6, norm_num_groups=4, temporal_compression_ratio=4,
           sample_height=96, sample_width=160, scaling_factor=0.7, shift_factor=None, latents_mean=None,
           latents_std=None, force_upcast=True, use_quant_conv=False, use_post_quant_conv=False)
TRANSFORMER = dict(num_attention_heads=2, attention_head_dim=16, in_channels=12, out_channels=4, num_layers=2,
                   patch_size=2, patch_size_t=2, text_embed_dim=32, time_embed_dim=16, max_text_seq_length=226,
                   flip_sin_to_cos=True, freq_shift=0, activation_fn="gelu-approximate",
                   timestep_activation_fn="silu", norm_elementwise_affine=True, norm_eps=1e-5, attention_bias=True,
                   use_rotary_positional_embeddings=True, use_learned_positional_embeddings=False, patch_bias=False,
                   sample_height=12, sample_width=20, sample_frames=49, temporal_compression_ratio=4)
SCHEDULER = {"_class_name": "CogVideoXDDIMScheduler", "_diffusers_version": "0.31.0", "beta_end": 0.012,
             "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": False,
             "clip_sample_range": 1.0, "num_train_timesteps": 1000, "prediction_type": "v_prediction",
             "rescale_betas_zero_snr": True, "sample_max_value": 1.0, "set_alpha_to_one": True,
             "snr_shift_scale": 1.0, "steps_offset": 0, "timestep_spacing": "trailing", "trained_betas": None}


def counter_normals(seed, shape):
    """Standard normals from a counter: splitmix64 of seed + i, pairs through Box-Muller (f64),
    rounded to f32. The Rust parity test computes the same numbers."""
    n = int(np.prod(shape))
    pairs = (n + 1) // 2
    with np.errstate(over="ignore"):
        i = np.arange(2 * pairs, dtype=np.uint64)
        z = np.uint64(seed) + (i + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(11)).astype(np.float64) * 2.0**-53
    u1, u2 = 1.0 - u[0::2], u[1::2]
    r = np.sqrt(-2.0 * np.log(u1))
    out = np.empty(2 * pairs)
    out[0::2] = r * np.cos(2 * np.pi * u2)
    out[1::2] = r * np.sin(2 * np.pi * u2)
    return torch.from_numpy(out[:n].astype(np.float32).reshape(shape))


def bf16_state(model):
    return {k: v.detach().to(torch.bfloat16).contiguous() for k, v in model.state_dict().items()}


def text_stage():
    import transformers
    from transformers import T5EncoderModel, T5Config, T5Tokenizer
    from transformers.models.t5.modeling_t5 import T5Attention, T5LayerNorm

    prompt = json.loads((REPO.parent / "shared/samples" / SAMPLE / "prompt.json").read_text())["bg"]
    tokenizer = T5Tokenizer.from_pretrained(REPO / "crates/void-tokenizer/tests/golden/t5")
    shutil.rmtree(BASE / "tokenizer", ignore_errors=True)
    tokenizer.save_pretrained(BASE / "tokenizer")
    torch.manual_seed(0)
    model = T5EncoderModel(T5Config(**T5))
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, T5LayerNorm):
                m.weight.copy_(1 + 0.1 * torch.randn_like(m.weight))
            if isinstance(m, T5Attention) and m.has_relative_attention_bias:
                m.relative_attention_bias.weight.copy_(torch.randn_like(m.relative_attention_bias.weight))
    model = model.to(torch.bfloat16).eval()
    shutil.rmtree(BASE / "text_encoder", ignore_errors=True)
    model.save_pretrained(BASE / "text_encoder", safe_serialization=True)
    ids = tokenizer(prompt, padding="max_length", max_length=226, truncation=True, add_special_tokens=True,
                    return_tensors="pt").input_ids
    with torch.no_grad():
        embeds = model.float()(input_ids=ids)[0]
    save_file({"prompt_embeds": embeds.contiguous(), "input_ids": ids}, STAGE,
              {"transformers": transformers.__version__, "prompt": prompt})
    print(f"text: {ids.shape}, embeds std {embeds.std():.3f}; prompt {prompt!r}")


def pipeline_stage(void_vae):
    import diffusers
    from diffusers import CogVideoXTransformer3DModel, DDIMScheduler

    sys.path.insert(0, str(REPO / "scripts/golden"))
    import prep_goldens as prep
    from transformer_goldens import build_model, rotary_embeddings

    spec = importlib.util.spec_from_file_location("void_cogvideox_vae", void_vae)
    vae_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(vae_module)

    text = load_file(STAGE)
    prompt_embeds = text["prompt_embeds"]

    # Models, saved as the real layout holds them (bf16) and run in f32 on those values.
    torch.manual_seed(1)
    vae = vae_module.AutoencoderKLCogVideoX(**VAE)
    with torch.no_grad():
        for name, p in vae.named_parameters():
            if name.endswith("bias"):
                p.copy_(0.05 * torch.randn_like(p))
            elif p.dim() == 1:
                p.copy_(1 + 0.1 * torch.randn_like(p))
    (BASE / "vae").mkdir(parents=True, exist_ok=True)
    vae.save_config(BASE / "vae")
    save_file(bf16_state(vae), BASE / "vae/diffusion_pytorch_model.safetensors")
    vae = vae.to(torch.bfloat16).float().eval()

    torch.manual_seed(2)
    transformer = build_model(TRANSFORMER)
    (BASE / "transformer").mkdir(parents=True, exist_ok=True)
    transformer.save_config(BASE / "transformer")
    cfg = json.loads((BASE / "transformer/config.json").read_text())
    cfg["add_noise_in_inpaint_model"] = True  # as CogVideoX-Fun's config, read by the reference
    (BASE / "transformer/config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    save_file(bf16_state(transformer), OUT / "void_pass1.safetensors")
    transformer = transformer.to(torch.bfloat16).float().eval()

    (BASE / "scheduler").mkdir(parents=True, exist_ok=True)
    (BASE / "scheduler/scheduler_config.json").write_text(json.dumps(SCHEDULER, indent=2) + "\n")
    (BASE / "model_index.json").write_text(json.dumps({
        "_class_name": "CogVideoXFunInpaintPipeline", "_diffusers_version": "0.31.0",
        "scheduler": ["diffusers", "CogVideoXDDIMScheduler"], "text_encoder": ["transformers", "T5EncoderModel"],
        "tokenizer": ["transformers", "T5Tokenizer"], "transformer": ["diffusers", "CogVideoXTransformer3DModel"],
        "vae": ["diffusers", "AutoencoderKLCogVideoX"]}, indent=2) + "\n")
    scheduler = DDIMScheduler.from_pretrained(BASE / "scheduler")

    # Inputs: the reference preprocessing at 48x80.
    prep.H, prep.W = H, W
    video, mask, _, info = prep.prepare(REPO.parent / "shared/samples" / SAMPLE)
    frames = video.shape[0]
    video = video.permute(1, 0, 2, 3)[None]  # (1,3,F,H,W) in [0,1]
    mask = mask.permute(1, 0, 2, 3)[None]  # (1,1,F,H,W), 1 remove / 127/255 / 0

    with torch.no_grad():
        mask_image = 1 - torch.tile(mask, [1, 3, 1, 1, 1])
        mask_lat = vae.encode(mask_image).latent_dist.mode() * VAE["scaling_factor"]
        init_video = video * 2 - 1
        noise = counter_normals(SEED_VIDEO, init_video.shape) * NOISE_AUG
        noisy = init_video + torch.where(init_video == -1, torch.zeros_like(noise), noise)
        video_lat = vae.encode(noisy).latent_dist.mode() * VAE["scaling_factor"]
        inpaint = torch.cat([mask_lat.permute(0, 2, 1, 3, 4), video_lat.permute(0, 2, 1, 3, 4)], dim=2)
        latents = counter_normals(SEED_LATENTS, (1, inpaint.shape[1], 4, H // 8, W // 8))

        scheduler.set_timesteps(STEPS)
        window = (WINDOW - 1) // 4 + 1
        stride = STRIDE // 4

        def sample(z, cond, t):
            rope = rotary_embeddings(TRANSFORMER, z.shape[1], H // 8, W // 8)
            v = transformer(hidden_states=torch.cat([z, cond], 2), encoder_hidden_states=prompt_embeds,
                            timestep=t.expand(1), image_rotary_emb=rope, return_dict=False)[0].float()
            return scheduler.step(v, t, z, eta=0.0, return_dict=False)[0]

        for t in scheduler.timesteps:
            canvas = torch.zeros_like(latents)
            wsum = torch.zeros(1, latents.shape[1], 1, 1, 1)
            begin = 0
            while begin < latents.shape[1]:
                end = min(begin + window, latents.shape[1])
                z = sample(latents[:, begin:end], inpaint[:, begin:end], t)
                w = torch.ones(1, end - begin, 1, 1, 1)
                if begin > 0:
                    w[:, :stride] = torch.linspace(0.0, 1.0, stride + 2)[1:-1].reshape(1, stride, 1, 1, 1)
                if end < latents.shape[1]:
                    w[:, -stride:] = torch.linspace(1.0, 0.0, stride + 2)[1:-1].reshape(1, stride, 1, 1, 1)
                canvas[:, begin:end] += z * w
                wsum[:, begin:end] += w
                begin = end - stride
                if end >= latents.shape[1]:
                    break
            latents = canvas / wsum

        decoded = vae.decode(latents.permute(0, 2, 1, 3, 4) / VAE["scaling_factor"]).sample
        decoded = (decoded / 2 + 0.5).clamp(0, 1)[0].permute(1, 0, 2, 3)  # (F,3,H,W)

    assert decoded.shape[0] == frames, decoded.shape
    save_file({"latents": latents.contiguous(), "video_u8": (decoded * 255).round().to(torch.uint8).contiguous()},
              OUT / "reference_bigben.safetensors",
              {"script": "scripts/golden/pass1_goldens.py", "torch": torch.__version__,
               "diffusers": diffusers.__version__, "sample": SAMPLE, "size": f"{H}x{W}", "steps": str(STEPS),
               "window_frames": str(WINDOW), "stride_frames": str(STRIDE), "frames": str(frames),
               "source_frames": str(info["source_frames"]), "seed_latents": str(SEED_LATENTS),
               "seed_video": str(SEED_VIDEO)})
    STAGE.unlink()
    print(f"pipeline: {frames} frames, latents {list(latents.shape)} std {latents.std():.3f}, "
          f"video mean {decoded.mean():.3f} std {decoded.std():.3f}")
    for path in sorted(OUT.rglob("*")):
        if path.is_file():
            print(f"{path.relative_to(OUT)}: {path.stat().st_size} bytes")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=["text", "pipeline"])
    parser.add_argument("--void-vae", type=Path, help="VOID's videox_fun/models/cogvideox_vae.py (pipeline stage)")
    args = parser.parse_args()
    if args.stage == "text":
        text_stage()
    else:
        if not args.void_vae:
            parser.error("the pipeline stage needs --void-vae")
        pipeline_stage(args.void_vae)


if __name__ == "__main__":
    main()

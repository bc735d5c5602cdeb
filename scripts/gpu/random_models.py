"""Full-size VOID models with random weights, in the real on-disk layout, for GPU runs of
`void remove` (no real weights can be downloaded here).

Writes to DIR:
  CogVideoX-Fun-V1.5-5b-InP/transformer/config.json   the real config (in_channels 33, as shipped)
  CogVideoX-Fun-V1.5-5b-InP/vae/                      VOID's VAE (its cogvideox_vae.py), random
  CogVideoX-Fun-V1.5-5b-InP/text_encoder/             T5-XXL encoder, random, sharded bf16
  CogVideoX-Fun-V1.5-5b-InP/tokenizer/                the repo's small test SentencePiece model
  CogVideoX-Fun-V1.5-5b-InP/scheduler/                the real scheduler config
  void_pass1.safetensors                              the transformer with 48 input channels, bf16

Run: python3 scripts/gpu/random_models.py DIR VOID_VAE_PY   (CUDA GPU, torch, transformers,
diffusers)
"""

import importlib.util
import json
import shutil
import sys
import time
from pathlib import Path

import torch
from diffusers import CogVideoXTransformer3DModel
from safetensors.torch import save_file
from transformers import T5Config, T5EncoderModel

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts/gpu"))
from t5_full import CONFIG as T5_CONFIG  # noqa: E402
from vae_full import CONFIG as VAE_CONFIG  # noqa: E402


def main():
    out, void_vae = Path(sys.argv[1]), sys.argv[2]
    base = out / "CogVideoX-Fun-V1.5-5b-InP"
    start = time.time()
    torch.manual_seed(0)

    config = json.loads((REPO / "crates/void-models/tests/configs/cogvideox_fun_v15_5b_inp.json").read_text())
    (base / "transformer").mkdir(parents=True, exist_ok=True)
    (base / "transformer/config.json").write_text(json.dumps(config, indent=2))
    kwargs = {k: v for k, v in config.items() if not k.startswith("_") and k != "add_noise_in_inpaint_model"}
    kwargs["in_channels"] = 48
    with torch.device("cuda"):
        model = CogVideoXTransformer3DModel(**kwargs).to(torch.bfloat16)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, out / "void_pass1.safetensors")
    del model
    torch.cuda.empty_cache()

    spec = importlib.util.spec_from_file_location("void_cogvideox_vae", void_vae)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    vae = module.AutoencoderKLCogVideoX(**VAE_CONFIG)
    with torch.no_grad():
        for name, p in vae.named_parameters():
            if name.endswith("bias"):
                p.copy_(0.05 * torch.randn_like(p))
            elif p.dim() == 1:
                p.copy_(1 + 0.1 * torch.randn_like(p))
    (base / "vae").mkdir(parents=True, exist_ok=True)
    (base / "vae/config.json").write_text(json.dumps({"_class_name": "AutoencoderKLCogVideoX", **VAE_CONFIG}))
    save_file({k: v.to(torch.bfloat16).contiguous() for k, v in vae.state_dict().items()},
              base / "vae/diffusion_pytorch_model.safetensors")

    with torch.device("cuda"):
        t5 = T5EncoderModel(T5Config(**T5_CONFIG)).to(torch.bfloat16)
    t5.save_pretrained(base / "text_encoder", max_shard_size="5GB")
    del t5
    torch.cuda.empty_cache()

    shutil.copytree(REPO / "crates/void-tokenizer/tests/golden/t5", base / "tokenizer", dirs_exist_ok=True)
    tiny = REPO / "crates/void-pipeline/tests/tiny-model/CogVideoX-Fun-V1.5-5b-InP"
    shutil.copytree(tiny / "scheduler", base / "scheduler", dirs_exist_ok=True)
    print(f"random models in {out} ({time.time() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()

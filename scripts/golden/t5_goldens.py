"""Golden fixtures for the Rust T5 encoder (crates/void-models/src/t5).

Builds two tiny transformers T5EncoderModel configs, fills them with seeded random weights and
runs them the way VOID's pipeline calls its text encoder: input_ids only, no attention mask,
so every position (padding included) attends to every other. Configs:

  a  T5 v1.1 style: feed_forward_proj "gated-gelu" (gelu_new), d_model 32, 4 heads x d_kv 8,
     d_ff 48, 3 layers, vocab 100, 32 buckets, max distance 128
  b  original-T5 style: feed_forward_proj "relu" (not gated), d_model 24, 3 heads x d_kv 12
     (inner width 36 != d_model), d_ff 40, 2 layers, vocab 64, 16 buckets, max distance 20

Weights: T5's own initialisation (T5PreTrainedModel._init_weights, which already scales q by
1/sqrt(d_model * d_kv)), then RMSNorm weights 1 + N(0, 0.1^2) and the relative attention bias
N(0, 1) so that positions matter. For each config NAME it writes to <out>:

  t5_NAME_config.json          config.json as save_pretrained writes it
  t5_NAME_weights.safetensors  model.safetensors as save_pretrained writes it (f32; the tied
                               embedding is stored once, as `shared.weight`)
  t5_NAME_io.safetensors       input_ids i64 [B,226]: a few random ids, </s> (1), then 0s, as
                               the pipeline's tokenizer pads (B = 2 for a, 1 for b)
                               last_hidden_state f32 [B,226,d_model]
                               last_hidden_state_bf16 f32: the same model cast to bf16
                                 (model.to(torch.bfloat16); like from_pretrained in bf16,
                                 `wo` is not kept in f32), the yardstick for a bf16 port
  t5_a_short_io.safetensors    the same for input_ids [1,9] without padding

and t5_buckets.safetensors: `relative_position` i64 [-512..512] and `buckets_NB_MD`, the
bidirectional bucket of each relative position for NB buckets and max distance MD
(T5Attention._relative_position_bucket), for the configs above and (64, 512).

The io metadata records the script, library versions, seed, config and the bf16-vs-f32
relative L2 of the output.

transformers 4.57.1 needs its own environment: it requires huggingface-hub < 1.0, diffusers
0.42.1 (requirements.txt) >= 1.32. For example:
  python3 -m venv /tmp/pyref-t5 && /tmp/pyref-t5/bin/pip install torch==2.15.0 \
      transformers==4.57.1 sentencepiece safetensors==0.8.0 numpy

Usage:
  /path/to/python scripts/golden/t5_goldens.py [--out DIR]

Default --out: crates/void-models/tests/golden (relative to the repo root).
"""

import argparse
import copy
import json
import shutil
import tempfile
from pathlib import Path

import safetensors
import torch
import transformers
from safetensors.torch import save_file
from transformers import T5Config, T5EncoderModel
from transformers.models.t5.modeling_t5 import T5Attention, T5LayerNorm

REPO = Path(__file__).resolve().parents[2]
LENGTH = 226  # VOID's max_sequence_length

# name -> (seed, config, number of real tokens per row of the padded input)
CASES = {
    "a": (
        0,
        dict(d_model=32, d_kv=8, num_heads=4, d_ff=48, num_layers=3, vocab_size=100,
             relative_attention_num_buckets=32, relative_attention_max_distance=128,
             feed_forward_proj="gated-gelu"),
        [30, 11],
    ),
    "b": (
        1,
        dict(d_model=24, d_kv=12, num_heads=3, d_ff=40, num_layers=2, vocab_size=64,
             relative_attention_num_buckets=16, relative_attention_max_distance=20,
             feed_forward_proj="relu"),
        [5],
    ),
}
SHORT_LENGTH = 9
BUCKET_TABLES = [(32, 128), (16, 20), (64, 512)]
BUCKET_RANGE = 512


def build_model(config):
    """T5's own init, then RMSNorm weights 1 + N(0, 0.1^2) and position bias N(0, 1)."""
    model = T5EncoderModel(T5Config(**config))
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, T5LayerNorm):
                m.weight.copy_(1 + 0.1 * torch.randn_like(m.weight))
            if isinstance(m, T5Attention) and m.has_relative_attention_bias:
                m.relative_attention_bias.weight.copy_(torch.randn_like(m.relative_attention_bias.weight))
    return model.eval()


def padded_ids(vocab_size, real_tokens):
    """One row per entry: that many random ids in [2, vocab), </s> = 1, then 0s to LENGTH."""
    rows = []
    for n in real_tokens:
        row = torch.zeros(LENGTH, dtype=torch.int64)
        row[:n] = torch.randint(2, vocab_size, (n,))
        row[n] = 1
        rows.append(row)
    return torch.stack(rows)


def run(model, input_ids):
    with torch.no_grad():
        return model(input_ids=input_ids).last_hidden_state


def write_io(model, model_bf16, input_ids, path, metadata):
    out = run(model, input_ids)
    out_bf16 = run(model_bf16, input_ids).float()
    std = out.std().item()
    if not 0.1 < std < 100:
        raise RuntimeError(f"{path.name}: output std {std} is out of range")
    rel_l2 = ((out_bf16 - out).norm() / out.norm()).item()
    tensors = {"input_ids": input_ids, "last_hidden_state": out, "last_hidden_state_bf16": out_bf16}
    save_file({k: v.contiguous() for k, v in tensors.items()}, path,
              {**metadata, "bf16_vs_f32_rel_l2": f"{rel_l2:.6e}"})
    shapes = json.dumps({k: list(v.shape) for k, v in tensors.items()})
    print(f"{path.name}: std={std:.4f} bf16_vs_f32_rel_l2={rel_l2:.4e} shapes={shapes}")


def generate(name, out):
    seed, config, real_tokens = CASES[name]
    torch.manual_seed(seed)
    model = build_model(config)
    model_bf16 = copy.deepcopy(model).to(torch.bfloat16)
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp)
        shutil.copy(Path(tmp) / "config.json", out / f"t5_{name}_config.json")
        shutil.copy(Path(tmp) / "model.safetensors", out / f"t5_{name}_weights.safetensors")
    metadata = {
        "script": "scripts/golden/t5_goldens.py",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "safetensors": safetensors.__version__,
        "seed": str(seed),
        "config": name,
    }
    write_io(model, model_bf16, padded_ids(config["vocab_size"], real_tokens),
             out / f"t5_{name}_io.safetensors", metadata)
    if name == "a":
        short = torch.randint(0, config["vocab_size"], (1, SHORT_LENGTH))
        write_io(model, model_bf16, short, out / f"t5_{name}_short_io.safetensors", metadata)


def bucket_tables(out):
    relative = torch.arange(-BUCKET_RANGE, BUCKET_RANGE + 1, dtype=torch.int64)
    tensors = {"relative_position": relative}
    for buckets, max_distance in BUCKET_TABLES:
        tensors[f"buckets_{buckets}_{max_distance}"] = T5Attention._relative_position_bucket(
            relative, bidirectional=True, num_buckets=buckets, max_distance=max_distance)
    save_file(tensors, out / "t5_buckets.safetensors",
              {"script": "scripts/golden/t5_goldens.py", "torch": torch.__version__,
               "transformers": transformers.__version__})


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "crates/void-models/tests/golden")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name in CASES:
        generate(name, args.out)
    bucket_tables(args.out)
    total = 0
    for path in sorted(args.out.glob("t5_*")):
        total += path.stat().st_size
        print(f"{path}: {path.stat().st_size} bytes")
    print(f"total {total} bytes")


if __name__ == "__main__":
    main()

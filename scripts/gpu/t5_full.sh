#!/usr/bin/env bash
# One device call: full-size T5-XXL encoder, void (CUDA build) vs PyTorch/transformers on the same
# random bf16 weights and input. Carry `.gpu` holding the stripped CUDA binary
# (`strip -o .gpu/void target/cuda/release/void`); uses the machine's own torch and transformers.
# Writes logs under $OUT and prints a table last. Peak GPU memory of void is sampled with
# nvidia-smi (process memory as the driver reports it, every 100 ms).
set -euo pipefail
source scripts/gpu/lib.sh
export PYTHONUNBUFFERED=1
work=/tmp/void-t5
out=${OUT:-/tmp/out}
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
python3 -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)' | tee "$out/versions.txt"
python3 scripts/gpu/t5_full.py "$work" 2>&1 | tee "$out/torch.log"
cp "$work/text_encoder/config.json" "$out/config.json"

mem_start void
# --config: the base-model folder (text_encoder/config.json inside); --weights: the sharded folder.
.gpu/void parity t5 --config "$work" --weights "$work/text_encoder" \
  --inputs "$work/inputs.safetensors" --out "$work/void.safetensors" --dtype bf16 --device cuda --repeat 10 \
  2>&1 | tee "$out/void.log"
peak=$(mem_stop void)
python3 scripts/gpu/compare.py "$work" "$work/void.safetensors" "$out/void.log" "$peak" | tee "$out/table.txt"

#!/usr/bin/env bash
# One device call: full-size VOID transformer, void (CUDA build) vs PyTorch/diffusers on the same
# random weights and inputs. Carry `.whl` (diffusers wheels) and `.gpu` holding the stripped CUDA
# binary (`strip -o .gpu/void target/cuda/release/void`). Arguments go to transformer_full.py
# (`--scaled` for the harsher weight init).
# Writes logs under $OUT and prints a table last. Peak GPU memory of void is sampled with
# nvidia-smi (process memory as the driver reports it, every 100 ms).
set -euo pipefail
source scripts/gpu/lib.sh
install_wheels
export PYTHONUNBUFFERED=1
work=/tmp/void-full
out=${OUT:-/tmp/out}
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
python3 scripts/gpu/transformer_full.py "$work" "$@" 2>&1 | tee "$out/torch.log"

mem_start void
.gpu/void parity transformer --config "$work/config.json" --weights "$work/weights.safetensors" \
  --inputs "$work/inputs.safetensors" --out "$work/void.safetensors" --dtype bf16 --device cuda --repeat 3 \
  2>&1 | tee "$out/void.log"
peak=$(mem_stop void)
python3 scripts/gpu/compare.py "$work" "$work/void.safetensors" "$out/void.log" "$peak" | tee "$out/table.txt"

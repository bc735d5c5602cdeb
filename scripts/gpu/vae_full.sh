#!/usr/bin/env bash
# One device call: full-size VOID VAE, void (CUDA build) vs PyTorch running VOID's own vendored
# VAE on the same random weights and inputs. Carry `.whl` (diffusers wheels) and `.gpu`, holding
# the stripped CUDA binary (`.gpu/void`) and VOID's videox_fun/models/cogvideox_vae.py as
# `.gpu/void_vae.py` (read from a checkout of Netflix/void-model; it is not part of this repo).
# Logs under $OUT; the table is printed last. Peak GPU memory of void is sampled with nvidia-smi.
set -euo pipefail
source scripts/gpu/lib.sh
install_wheels
export PYTHONUNBUFFERED=1
work=/tmp/void-vae
out=${OUT:-/tmp/out}
mkdir -p "$out"
python3 scripts/gpu/vae_full.py torch "$work" .gpu/void_vae.py 2>&1 | tee "$out/vae_torch.log"

run_void() { # name, subcommand, inputs, extra args...
  local name=$1 cmd=$2 inputs=$3
  shift 3
  mem_start "$name"
  .gpu/void parity "$cmd" --config "$work/config.json" --weights "$work/weights.safetensors" \
    --inputs "$work/$inputs" --out "$work/void_$name.safetensors" --dtype bf16 --device cuda "$@" \
    2>&1 | tee "$work/void_$name.log" "$out/void_$name.log"
  mem_stop "$name" > "$work/void_${name}_peak_mib"
}
run_void encode vae-encode inputs_encode.safetensors --repeat 3
run_void decode vae-decode inputs_decode.safetensors --repeat 3
run_void decode_tiled vae-decode inputs_decode.safetensors --tile auto
python3 scripts/gpu/vae_full.py table "$work" | tee "$out/vae_table.txt"

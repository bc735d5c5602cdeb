#!/usr/bin/env bash
# Issue 6's benchmark, one device call: attention at the VOID shape, the full transformer forward
# and the VAE's encode/decode, void (the carried CUDA binary) against PyTorch/diffusers on the
# same random weights and inputs; each step checks agreement (rel-L2), and one table ends the run:
# measure | void | peer | peer/void | floor | rel-L2 vs peer.
# Carry `.whl` (diffusers) and `.gpu/` with void.xz (the stripped CUDA binary, xz) and void_vae.py
# (VOID's cogvideox_vae.py). Logs and per-step tables go to $OUT. Builds nothing.
# Arguments: the parts to run, any of `attention transformer vae profile` (default: the first
# three; `profile` needs the transformer and vae parts before it).
set -euo pipefail
source scripts/gpu/lib.sh
install_wheels
export PYTHONUNBUFFERED=1
out=${OUT:-/tmp/out}
mkdir -p "$out"
unpack_void
parts=" ${*:-attention transformer vae} "
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader | tee "$out/gpu.txt"

# 1. attention: the VOID window, then an odd shape (partial tiles, batch 2) for correctness.
work=/tmp/void-attn
[[ $parts == *" attention "* ]] && for case in "voidshape 1 48 11314 11314" "odd 2 3 1000 777"; do
  set -- $case
  python3 scripts/gpu/attention_full.py "$work/$1" "$2" "$3" "$4" "$5" > "$out/attn_torch_$1.log" 2>&1
  /tmp/void parity attention --inputs "$work/$1/inputs.safetensors" --out "$work/$1/void.safetensors" \
    --dtype bf16 --device cuda --repeat 30 2>&1 | tee "$work/$1/void.log"
  python3 scripts/gpu/compare.py "$work/$1" "$work/$1/void.safetensors" "$work/$1/void.log" 0 | tee "$out/attn_$1.txt"
done

# 2. the transformer, one window.
work=/tmp/void-full
if [[ $parts == *" transformer "* ]]; then
python3 scripts/gpu/transformer_full.py "$work" > "$out/transformer_torch.log" 2>&1
mem_start transformer
/tmp/void parity transformer --config "$work/config.json" --weights "$work/weights.safetensors" \
  --inputs "$work/inputs.safetensors" --out "$work/void.safetensors" --dtype bf16 --device cuda --repeat 5 \
  2>&1 | tee "$work/void.log"
peak=$(mem_stop transformer)
python3 scripts/gpu/compare.py "$work" "$work/void.safetensors" "$work/void.log" "$peak" | tee "$out/transformer.txt"
fi

# 3. the VAE, 85 frames <-> 22 latents.
work=/tmp/void-vae
if [[ $parts == *" vae "* ]]; then
python3 scripts/gpu/vae_full.py torch "$work" .gpu/void_vae.py > "$out/vae_torch.log" 2>&1
for run in "encode vae-encode inputs_encode.safetensors" "decode vae-decode inputs_decode.safetensors" \
           "decode_tiled vae-decode inputs_decode.safetensors --tile auto"; do
  set -- $run
  name=$1 cmd=$2 inputs=$3
  shift 3
  mem_start "$name"
  /tmp/void parity "$cmd" --config "$work/config.json" --weights "$work/weights.safetensors" \
    --inputs "$work/$inputs" --out "$work/void_$name.safetensors" --dtype bf16 --device cuda --repeat 3 "$@" \
    2>&1 | tee "$work/void_$name.log"
  mem_stop "$name" > "$work/void_${name}_peak_mib"
done
python3 scripts/gpu/vae_full.py table "$work" | tee "$out/vae.txt"
fi

# 4. where the time goes: every kernel of a 2-layer transformer forward and of a 9-frame VAE
#    encode / 3-latent decode (the parts above left their weights), timed by Nsight Compute.
if [[ $parts == *" profile "* ]]; then
  bash scripts/gpu/profile.sh /tmp/void-full /tmp/void-vae "$out"
fi
rm -f /tmp/void-full/weights.safetensors

python3 scripts/gpu/summary.py /tmp/void-attn/voidshape /tmp/void-full /tmp/void-vae | tee "$out/summary.txt"

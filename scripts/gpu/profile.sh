#!/usr/bin/env bash
# Every kernel of one small run of each network, timed by Nsight Compute (the device has no
# nsys): a 2-layer transformer forward at the full window shape and a 9-frame VAE encode and
# 3-latent decode at 384x672, with the weights bench.sh's transformer and vae parts wrote.
# One table per run (scripts/gpu/kernel_table.py): launches, ms and share per kernel name.
# Arguments: TRANSFORMER_DIR VAE_DIR OUT.
set -uo pipefail
full=$1 vae=$2 out=$3
ncu=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu | head -1)
profile() { # name, void arguments...
  local name=$1
  shift
  timeout 150 "$ncu" --clock-control none --metrics gpu__time_duration.sum --csv \
    --log-file "$out/ncu_$name.csv" /tmp/void "$@" > "$out/ncu_$name.log" 2>&1
  echo "ncu $name: exit $?"
  python3 scripts/gpu/kernel_table.py "$out/ncu_$name.csv" "$name" | tee "$out/profile_$name.txt"
}
python3 - "$full" "$vae" <<'PY'
import json, sys
from safetensors.torch import load_file, save_file
full, vae = sys.argv[1], sys.argv[2]
config = json.load(open(f"{full}/config.json"))
config["num_layers"] = 2
json.dump(config, open(f"{full}/config_2layers.json", "w"))
save_file({"video": load_file(f"{vae}/inputs_encode.safetensors")["video"][:, :, :9].contiguous()},
          f"{vae}/inputs_encode_9.safetensors")
save_file({"latent": load_file(f"{vae}/inputs_decode.safetensors")["latent"][:, :, :3].contiguous()},
          f"{vae}/inputs_decode_3.safetensors")
PY
profile transformer_2layers parity transformer --config "$full/config_2layers.json" \
  --weights "$full/weights.safetensors" --inputs "$full/inputs.safetensors" \
  --out /tmp/profile_transformer.safetensors --dtype bf16 --device cuda
for run in "encode_9 vae-encode inputs_encode_9" "decode_3 vae-decode inputs_decode_3"; do
  set -- $run
  profile "vae_$1" parity "$2" --config "$vae/config.json" --weights "$vae/weights.safetensors" \
    --inputs "$vae/$3.safetensors" --out "/tmp/profile_$1.safetensors" --dtype bf16 --device cuda
done

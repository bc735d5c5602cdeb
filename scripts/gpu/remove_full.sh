#!/usr/bin/env bash
# One device call: `void remove` on a sample at full size (384x672) with full-size random
# models, in each memory mode, recording wall time, stage times and peak GPU memory.
# Carry `.whl` (diffusers wheels) and `.gpu/` holding: void.xz (the stripped CUDA binary, xz),
# ffmpeg.xz (a static ffmpeg, e.g. imageio-ffmpeg's, xz), void_vae.py (VOID's
# cogvideox_vae.py) and the sequence folder SEQ. Arguments: SEQ STEPS [FP8_STEPS (4)].
set -euo pipefail
source scripts/gpu/lib.sh
install_wheels
export PYTHONUNBUFFERED=1
seq=$1 steps=$2
work=/tmp/void-remove
out=${OUT:-/tmp/out}
mkdir -p "$work" "$out"
unpack_void
python3 -c 'import lzma, shutil; shutil.copyfileobj(lzma.open(".gpu/ffmpeg.xz"), open("/tmp/ffmpeg", "wb"))'
chmod +x /tmp/ffmpeg
python3 scripts/gpu/random_models.py "$work/models" .gpu/void_vae.py 2>&1 | tee "$out/models.log"
# name, steps, then the memory flags. The fp8 comparison runs at FP8_STEPS (a few steps, as issue 5
# asks) against offload with the same tiled VAE, isolating fp8's effect from tiling's.
fp8_steps=${3:-4}
# EXTRA (environment): more `void remove` arguments for every run.
# RUNS (environment) picks and orders them: names from full, low_fp8, offload_tiled_fp8, offload,
# low.
declare -A runs=(
  [full]="full $steps --memory full"
  [low_fp8]="low_$fp8_steps $fp8_steps --memory low"
  [offload_tiled_fp8]="offload_tiled_$fp8_steps $fp8_steps --memory offload --vae-tile auto"
  [offload]="offload $steps --memory offload"
  [low]="low $steps --memory low"
)
for name in ${RUNS:-full low_fp8 offload_tiled_fp8 offload low}; do
  set -- ${runs[$name]}
  mode=$1 n=$2
  shift 2
  sync
  mem_start "$mode"
  start=$(date +%s.%N)
  /tmp/void --ffmpeg /tmp/ffmpeg remove ".gpu/$seq" --model-dir "$work/models" --out "$work/out_$mode" \
    --steps "$n" "$@" ${EXTRA:-} 2>&1 | tee "$out/remove_$mode.log" || echo "FAILED: $mode" | tee -a "$out/summary.txt"
  end=$(date +%s.%N)
  peak=$(mem_stop "$mode")
  echo "$mode ($n steps): wall $(python3 -c "print(f'{$end - $start:.1f}')") s, peak GPU memory $peak MiB" | tee -a "$out/summary.txt"
done
ls -la "$work"/out_* | tee -a "$out/summary.txt"
# fp8's effect on the result: low vs offload_tiled (both tiled), decoded frames, relative L2
# (includes the two encodes' crf-18 coding noise); offload vs full must be identical.
python3 - "$work" "$seq" "$fp8_steps" "$steps" <<'PY' | tee -a "$out/summary.txt"
import subprocess, sys
import numpy as np
work, seq = sys.argv[1], sys.argv[2]
def frames(mode):
    raw = subprocess.run(["/tmp/ffmpeg", "-v", "error", "-i", f"{work}/out_{mode}/{seq}.mp4", "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "-"], check=True, capture_output=True).stdout
    return np.frombuffer(raw, np.uint8).astype(np.float64)
rel = lambda a, b: np.linalg.norm(a - b) / np.linalg.norm(b)
n = sys.argv[3]
for a, b, what in [("low_" + n, "offload_tiled_" + n, f"low (fp8) vs offload_tiled (bf16), {n} steps"),
                   ("offload", "full", "offload vs full"),
                   ("low", "full", f"low (fp8, tiled VAE) vs full, {sys.argv[4]} steps"),
                   ("low", "offload", f"low (fp8, tiled VAE) vs offload, {sys.argv[4]} steps")]:
    try:
        print(f"rel-L2 {what}, decoded frames: {rel(frames(a), frames(b)):.3e}")
    except (subprocess.CalledProcessError, FileNotFoundError):
        pass
PY

#!/usr/bin/env bash
# One device call: `void remove` on a sample at full size (384x672) with full-size random
# models, in each memory mode, recording wall time, stage times and peak GPU memory.
# Carry `.whl` (diffusers wheels) and `.gpu/` holding: void.xz (the stripped CUDA binary, xz),
# ffmpeg.xz (a static ffmpeg, e.g. imageio-ffmpeg's, xz), void_vae.py (VOID's
# cogvideox_vae.py) and the sequence folder SEQ. Arguments: SEQ STEPS.
set -euo pipefail
source scripts/gpu/lib.sh
install_wheels
export PYTHONUNBUFFERED=1
seq=$1 steps=$2
work=/tmp/void-remove
out=${OUT:-/tmp/out}
mkdir -p "$work" "$out"
python3 - <<'PY'
import lzma, os, shutil
for name in ("void", "ffmpeg"):
    with lzma.open(f".gpu/{name}.xz") as src, open(f"/tmp/{name}", "wb") as dst:
        shutil.copyfileobj(src, dst)
    os.chmod(f"/tmp/{name}", 0o755)
PY
python3 scripts/gpu/random_models.py "$work/models" .gpu/void_vae.py 2>&1 | tee "$out/models.log"
# name, then the memory flags: offload_tiled isolates fp8's effect from tiling's for `low`.
for run in "full --memory full" "offload --memory offload" "low --memory low" \
           "offload_tiled --memory offload --vae-tile auto"; do
  set -- $run
  mode=$1
  shift
  sync
  mem_start "$mode"
  start=$(date +%s.%N)
  /tmp/void --ffmpeg /tmp/ffmpeg remove ".gpu/$seq" --model-dir "$work/models" --out "$work/out_$mode" \
    --steps "$steps" "$@" 2>&1 | tee "$out/remove_$mode.log"
  end=$(date +%s.%N)
  peak=$(mem_stop "$mode")
  echo "$mode: wall $(python3 -c "print(f'{$end - $start:.1f}')") s, peak GPU memory $peak MiB" | tee -a "$out/summary.txt"
done
ls -la "$work"/out_* | tee -a "$out/summary.txt"
# fp8's effect on the result: low vs offload_tiled (both tiled), decoded frames, relative L2
# (includes the two encodes' crf-18 coding noise); offload vs full must be identical.
python3 - "$work" "$seq" <<'PY' | tee -a "$out/summary.txt"
import subprocess, sys
import numpy as np
work, seq = sys.argv[1], sys.argv[2]
def frames(mode):
    raw = subprocess.run(["/tmp/ffmpeg", "-v", "error", "-i", f"{work}/out_{mode}/{seq}.mp4", "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "-"], check=True, capture_output=True).stdout
    return np.frombuffer(raw, np.uint8).astype(np.float64)
rel = lambda a, b: np.linalg.norm(a - b) / np.linalg.norm(b)
print(f"rel-L2 low (fp8) vs offload_tiled (bf16), decoded frames: {rel(frames('low'), frames('offload_tiled')):.3e}")
print(f"rel-L2 offload vs full: {rel(frames('offload'), frames('full')):.3e}")
print(f"rel-L2 offload_tiled vs offload (tiling): {rel(frames('offload_tiled'), frames('offload')):.3e}")
PY

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
for mode in full offload; do
  sync
  mem_start "$mode"
  start=$(date +%s.%N)
  /tmp/void --ffmpeg /tmp/ffmpeg remove ".gpu/$seq" --model-dir "$work/models" --out "$work/out_$mode" \
    --steps "$steps" --memory "$mode" 2>&1 | tee "$out/remove_$mode.log"
  end=$(date +%s.%N)
  peak=$(mem_stop "$mode")
  echo "$mode: wall $(python3 -c "print(f'{$end - $start:.1f}')") s, peak GPU memory $peak MiB" | tee -a "$out/summary.txt"
done
ls -la "$work"/out_* | tee -a "$out/summary.txt"

#!/usr/bin/env bash
# Everything measured on the GPU in one device call, for a short lease: the fused-attention test
# binary, the VAE on the tiny golden model (outputs come back to be checked against the CPU
# goldens), the bench.sh parts, and remove_full.sh. Each stage has a time limit so a slow or
# failing one cannot eat the others' time. The device returns at most 8 files from $OUT, so
# every log goes into $OUT/logs.tar.gz; the tables are printed last.
# Carry `.whl` and `.gpu/` (void.xz, cuda_kernels.xz: the test binary of
# crates/void-models/tests/cuda_kernels.rs, optionally void_base.xz: a known-good binary timed
# instead when the kernel tests fail, ffmpeg.xz, void_vae.py, vae_tiny/, the sample).
# The remove runs are remove_full.sh's RUNS (environment), default all five; VAE_TINY=0 skips
# the tiny VAE runs.
# Arguments: STEPS (remove_full.sh's timed runs; 0 skips them) then bench parts, e.g. `0
# attention transformer vae`. A 30-minute lease fits two calls: `all.sh 0 attention transformer
# vae` (about 6 min) and `remove_full.sh lime 50` (about 9 min at today's speed).
set -uo pipefail
steps=${1:-50}
shift
final_out=${OUT:-/tmp/out}
export OUT=/tmp/all-logs
mkdir -p "$OUT" "$final_out"
source scripts/gpu/lib.sh
unpack_void

stage() { # name, seconds, command...
  local name=$1 limit=$2
  shift 2
  local start=$SECONDS
  timeout "$limit" "$@" > "$OUT/$name.log" 2>&1
  echo "stage $name: exit $?, $((SECONDS - start)) s" | tee -a "$OUT/stages.txt"
  save_logs
}
# The logs, now and every 20 s: a call killed at its limit still returns what it had.
save_logs() { tar -czf /tmp/logs.tar.gz -C "$OUT" . && mv /tmp/logs.tar.gz "$final_out/logs.tar.gz"; }
(while sleep 20; do save_logs; done) &
saver=$!
trap 'kill $saver 2>/dev/null; save_logs' EXIT

if [ -f .gpu/cuda_kernels.xz ]; then
  python3 -c 'import lzma, shutil; shutil.copyfileobj(lzma.open(".gpu/cuda_kernels.xz"), open("/tmp/cuda_kernels", "wb"))'
  chmod +x /tmp/cuda_kernels
  stage cuda_kernels 60 /tmp/cuda_kernels --test-threads 1 --nocapture
  # A binary whose kernels fail their tests is not timed: fall back to the carried baseline.
  if ! grep -q "test result: ok" "$OUT/cuda_kernels.log" && [ -f .gpu/void_base.xz ]; then
    echo "kernel tests failed: timing .gpu/void_base.xz instead" | tee -a "$OUT/stages.txt"
    python3 -c 'import lzma, shutil; shutil.copyfileobj(lzma.open(".gpu/void_base.xz"), open("/tmp/void", "wb"))'
    chmod +x /tmp/void
  fi
fi
[ "${VAE_TINY:-1}" = 0 ] || for dtype in f32 bf16; do
  for dir in encode decode; do
    input=$([ $dir = encode ] && echo enc || echo dec)
    stage "vae_tiny_${dir}_$dtype" 30 /tmp/void parity "vae-$dir" \
      --config crates/void-models/tests/golden/vae_config.json \
      --weights crates/void-models/tests/golden/vae_weights.safetensors \
      --inputs ".gpu/vae_tiny/$input.safetensors" --out "$final_out/vae_tiny_${dir}_$dtype.safetensors" \
      --dtype "$dtype" --device cuda
  done
done
[ $# -gt 0 ] && stage bench "${BENCH_LIMIT:-240}" bash scripts/gpu/bench.sh "$@"
[ "$steps" -gt 0 ] && stage remove "${REMOVE_LIMIT:-420}" bash scripts/gpu/remove_full.sh lime "$steps"

grep -h "rel-L2\|test result" "$OUT/cuda_kernels.log" 2>/dev/null
cat "$OUT/stages.txt"
for f in "$OUT"/remove_*.log; do echo "== $f"; tail -16 "$f" | cut -c1-150; done
cat "$OUT/summary.txt" 2>/dev/null
cat "$OUT/attn_voidshape.txt" "$OUT/attn_odd.txt" "$OUT/vae.txt" 2>/dev/null
for f in "$OUT"/profile_*.txt; do head -22 "$f" | cut -c1-110; done 2>/dev/null

#!/usr/bin/env bash
# Issue 7's GPU figures, one device call: SAM2 (sam2.1_hiera_l, random weights) propagating
# through T frames at 1024x1024, void (`void parity sam2-video --device cuda`) against the
# `sam2` package on the same weights, frames and prompts: seconds, frames/s, peak GPU memory,
# rel-L2 of the masks; then `void mask segment` on a 4K clip of F frames (host memory).
# Carry `.whl` holding the sam2 1.1.0 wheel and its pure-Python dependencies (hydra-core,
# omegaconf, antlr4-python3-runtime, iopath, portalocker; `pip wheel` them, SAM2_BUILD_CUDA=0)
# and `.gpu/` with void.xz and ffmpeg.xz. Arguments: T (16) F (200).
set -euo pipefail
source scripts/gpu/lib.sh
install_wheels
export PYTHONUNBUFFERED=1
frames=${1:-16} long=${2:-200}
out=${OUT:-/tmp/out}
work=/tmp/void-sam2
mkdir -p "$out" "$work"
unpack_void
python3 -c 'import lzma, shutil; shutil.copyfileobj(lzma.open(".gpu/ffmpeg.xz"), open("/tmp/ffmpeg", "wb"))'
chmod +x /tmp/ffmpeg
python3 scripts/gpu/sam2_full.py "$work" "$frames" 2>&1 | tee "$out/sam2_torch.log"
mem_start void
/tmp/void parity sam2-video --config sam2.1_hiera_l --weights "$work/weights.safetensors" \
  --inputs "$work/inputs.safetensors" --out "$work/void.safetensors" --device cuda 2>&1 | tee "$out/sam2_void.log"
peak=$(mem_stop void)
python3 - "$work" "$peak" <<'PY' | tee "$out/sam2_summary.txt"
import json, sys
from safetensors.torch import load_file
work, peak = sys.argv[1], int(sys.argv[2])
t = json.load(open(f"{work}/torch_timing.json"))
ours, theirs = load_file(f"{work}/void.safetensors")["pred_masks"], load_file(f"{work}/torch.safetensors")["pred_masks"]
rel = ((ours - theirs).norm() / theirs.norm()).item()
agree = ((ours > 0) == (theirs > 0)).float().mean().item()
print(f"gpu {t['gpu']}, torch {t['torch']}; sam2.1_hiera_l random weights, {t['frames']} frames at 1024x1024, f32")
print(f"sam2 package: {t['seconds']:.2f} s, {t['fps']:.2f} frames/s, peak {t['peak_gib']:.1f} GiB (allocator)")
print(f"void: peak {peak} MiB (process, nvidia-smi); timing in sam2_void.log; rel-L2 of the logits vs sam2 {rel:.2e}, same sign on {100 * agree:.3f}% of pixels")
PY
grep -h "forward" "$out/sam2_void.log" | tail -1
# A 4K clip of $long frames: void mask segment's wall time and host memory (frames kept as
# 1024x1024 bytes, not as float tensors).
/tmp/ffmpeg -v error -f lavfi -i "testsrc2=size=3840x2160:rate=24" -frames:v "$long" -c:v libx264 -crf 20 "$work/long.mp4"
python3 - "$work" "$long" <<'PY' | tee -a "$out/sam2_summary.txt"
import resource, subprocess, sys, time
work, n = sys.argv[1], sys.argv[2]
start = time.perf_counter()
run = subprocess.run(["/tmp/void", "--ffmpeg", "/tmp/ffmpeg", "mask", "segment", f"{work}/long.mp4", "--out", f"{work}/long_out",
                      "--sam2-checkpoint", f"{work}/weights.safetensors", "--sam2-config", "sam2.1_hiera_l",
                      "--points", "10:1900,1000", "--device", "cuda", "-q"], capture_output=True, text=True)
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
print(run.stderr.strip().splitlines()[-1] if run.stderr.strip() else f"exit {run.returncode}")
print(f"void mask segment, {n} frames of 3840x2160: exit {run.returncode}, {time.perf_counter() - start:.1f} s wall, peak host memory {rss:.2f} GiB")
PY

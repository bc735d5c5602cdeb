#!/usr/bin/env bash
# Decode + preprocess of one sample sequence: void vs the reference's Python path, same run.
#
#   scripts/bench/prep_bench.sh [SEQ] [SAMPLES_DIR]      (default: lime ../shared/samples)
#
# Needs: a release build (built here if missing), ffmpeg, GNU time, and a Python with the
# packages of scripts/golden/requirements.txt ($PYTHON, default python3). Prints a table last.
# Rows:
#   ffmpeg decode only     - the floor: ffmpeg decoding the video to nowhere (no RGB, no pipe)
#   ffmpeg video+mask RGB  - both streams decoded and converted the way void reads them, to nowhere
#   void preprocess        - whole command (decode, resize, quantise, pad, write safetensors)
#   reference (python)     - mediapy read + torch area resize + quantise + pad, in-process timing
#                            and whole-process time (includes importing torch)
set -euo pipefail
seq=${1:-lime}
samples=${2:-$(cd "$(dirname "$0")/../../.." && pwd)/shared/samples}
python=${PYTHON:-python3}
repo=$(cd "$(dirname "$0")/../.." && pwd)
dir=$samples/$seq
mask=$(ls "$dir"/quadmask_*.mp4 2>/dev/null | head -1 || true)
[ -n "$mask" ] || mask=$dir/trimask_quadmask.mp4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd "$repo" && cargo build --release -q -p void-cli)
void=$repo/target/release/void

# Runs a command under GNU time; prints "wall_s peak_rss_mb".
measure() {
  /usr/bin/time -f '%e %M' -o "$tmp/time" "$@" >"$tmp/out" 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
  awk '{printf "%.2f %.0f\n", $1, $2/1024}' "$tmp/time"
}

frames=$(ffmpeg -v error -i "$dir/input_video.mp4" -map 0:v:0 -f null -progress pipe:1 - | awk -F= '/^frame=/{n=$2} END{print n}')
read -r t_decode r_decode < <(measure ffmpeg -v error -i "$dir/input_video.mp4" -f null -)
read -r t_rgb r_rgb < <(measure bash -c "ffmpeg -v error -i '$dir/input_video.mp4' -pix_fmt rgb24 -f null - &
  ffmpeg -v error -i '$mask' -vf format=rgb24,extractplanes=r -f null - & wait")
read -r t_void r_void < <(measure "$void" --quiet preprocess "$dir" --out "$tmp/x.safetensors")
void_internal=$(grep -o 'decode + preprocess [0-9.]* s' "$tmp/err" | awk '{print $4}')
read -r t_py r_py < <(measure "$python" "$repo/scripts/golden/prep_goldens.py" --samples "$samples" --bench "$seq")
py_internal=$(grep -o 'wall_s=[0-9.]*' "$tmp/out" | cut -d= -f2)

fps() { awk -v n="$frames" -v t="$1" 'BEGIN{printf "%.1f", n/t}'; }
echo
echo "$seq: $frames frames, $(ffmpeg -hide_banner -i "$dir/input_video.mp4" 2>&1 | grep -o '[0-9]\{3,\}x[0-9]\{3,\}' | head -1), $(nproc) cores, $(date -u +%F)"
printf '%-34s %9s %9s %12s\n' "what" "wall s" "frames/s" "peak RSS MB"
printf '%-34s %9s %9s %12s\n' "ffmpeg decode only (video)" "$t_decode" "$(fps "$t_decode")" "$r_decode"
printf '%-34s %9s %9s %12s\n' "ffmpeg video+mask to RGB (no pipe)" "$t_rgb" "$(fps "$t_rgb")" "-"
printf '%-34s %9s %9s %12s\n' "void preprocess (whole command)" "$t_void" "$(fps "$t_void")" "$r_void"
printf '%-34s %9s %9s %12s\n' "  of which decode + preprocess" "$void_internal" "$(fps "$void_internal")" ""
printf '%-34s %9s %9s %12s\n' "reference python (whole process)" "$t_py" "$(fps "$t_py")" "$r_py"
printf '%-34s %9s %9s %12s\n' "  of which read + preprocess" "$py_internal" "$(fps "$py_internal")" ""

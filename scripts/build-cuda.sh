#!/usr/bin/env bash
# build-cuda.sh: build the CUDA-enabled `void` binary on a machine with no GPU and no CUDA toolkit.
#
# What it does (idempotent; each step is skipped when its result is already there):
#   1. Creates or reuses a Python venv at ${VOID_CUDA_VENV:-$HOME/.cache/void/cuda-venv} and
#      pip-installs the pinned CUDA 13.0 wheels (nvcc, runtime, crt, nvvm, cccl, nvrtc, cuBLAS,
#      cuRAND; about 1.2 GB). Kept at 13.0 on purpose: the GPU box runs driver 580 (CUDA 13.0),
#      and PTX from a newer nvcc may not JIT there.
#   2. Builds a CUDA root folder, $VOID_CUDA_VENV/cuda-root, with bin/include/nvvm links into
#      site-packages/nvidia/cu13 and a lib/ with unversioned .so links (libcublas.so, ...).
#   3. Generates a stub libcuda.so (soname libcuda.so.1) in cuda-root/lib/stubs: one empty C
#      function for every cu* driver function cudarc declares for this CUDA version. candle
#      forces cudarc's `dynamic-linking`, so -lcuda must resolve at link time; no wheel ships
#      libcuda (it belongs to the driver). The real driver library is used at run time.
#   4. Runs `cargo build --release --features cuda -p void-cli` (under `nice`) into target/cuda,
#      with CUDA_COMPUTE_CAP=90 (H100) and prints the artefact path and size.
#
# Needs: Debian 12 (or similar glibc x86_64 Linux), python3 with the venv module, gcc,
#        a Rust toolchain, and network access to PyPI (and crates.io) for the first run.
#
# Usage:
#   scripts/build-cuda.sh [extra cargo args...]     e.g. scripts/build-cuda.sh --locked
# Environment knobs:
#   VOID_CUDA_VENV     venv location (default $HOME/.cache/void/cuda-venv)
#   CUDA_COMPUTE_CAP   target compute capability (default 90 = H100/H200)
#   VOID_NICE          niceness for the build (default 10)
#   CUDAFORGE_THREADS  parallel nvcc jobs in candle-kernels' build script (default: all cores;
#                      cudaforge's own default is half of them, i.e. 1 on a 2-core machine)
#
# Running on the GPU box: copy target/cuda/release/void there and run it. It uses the box's
# driver (libcuda.so.1) and the CUDA 13 cuBLAS/cudart/cuRAND/NVRTC libraries from ldconfig,
# so no LD_LIBRARY_PATH is needed. The first start JIT-compiles candle's PTX (~7 s); carry a
# warm CUDA_CACHE_PATH folder along to skip that.
# To smoke-test the binary here (no GPU: only things like --version work):
#   LD_LIBRARY_PATH=$VOID_CUDA_VENV/cuda-root/lib:$VOID_CUDA_VENV/cuda-root/lib/stubs \
#     target/cuda/release/void --version
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VOID_CUDA_VENV:-$HOME/.cache/void/cuda-venv}"
ROOT="$VENV/cuda-root"
COMPUTE_CAP="${CUDA_COMPUTE_CAP:-90}"
NICE="${VOID_NICE:-10}"

PINS=(
  nvidia-cuda-nvcc==13.0.88
  nvidia-cuda-runtime==13.0.96
  nvidia-cuda-crt==13.0.88
  nvidia-nvvm==13.0.88
  nvidia-cuda-cccl==13.0.85
  nvidia-cuda-nvrtc==13.0.88
  nvidia-cublas==13.0.2.14
  nvidia-curand==10.4.0.35
)

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- 1. venv + CUDA wheels
if [[ ! -x "$VENV/bin/python" ]]; then
  log "creating venv $VENV"
  mkdir -p "$(dirname "$VENV")"
  python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"

# Every pin present with exactly that version?
installed="$("$PY" -m pip list --format=freeze 2>/dev/null | tr 'A-Z_' 'a-z-')"
missing=()
for pin in "${PINS[@]}"; do
  grep -qxF "$pin" <<<"$installed" || missing+=("$pin")
done
if ((${#missing[@]})); then
  log "installing CUDA 13.0 wheels (${#missing[@]} missing): ${missing[*]}"
  "$PY" -m pip install --disable-pip-version-check "${PINS[@]}"
else
  log "CUDA 13.0 wheels already installed in $VENV"
fi

SITE="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
NV="$SITE/nvidia/cu13"
[[ -x "$NV/bin/nvcc" ]] || die "nvcc not found at $NV/bin/nvcc (wheel layout changed?)"

# ---------------------------------------------------------------- 2. CUDA root folder
mkdir -p "$ROOT/lib/stubs"
for d in bin include nvvm; do
  [[ -e "$NV/$d" ]] || die "missing $NV/$d"
  ln -sfn "$NV/$d" "$ROOT/$d"
done
for lib in cublas cublasLt cudart curand nvrtc; do
  # Pick the SONAME file (libX.so.N, shortest name), not libX.so.N.M.P or an alias-less variant.
  target="$(find "$NV/lib" -maxdepth 1 -name "lib$lib.so.*" -printf '%f\n' | awk '{ print length, $0 }' | sort -n | head -n1 | cut -d' ' -f2-)"
  [[ -n "$target" ]] || die "lib$lib.so.* not found in $NV/lib"
  ln -sfn "$NV/lib/$target" "$ROOT/lib/lib$lib.so"
  # Also link the versioned name, so LD_LIBRARY_PATH=$ROOT/lib is enough at run time here.
  ln -sfn "$NV/lib/$target" "$ROOT/lib/$target"
done

export CUDA_ROOT="$ROOT" CUDA_HOME="$ROOT" CUDA_PATH="$ROOT"
export PATH="$ROOT/bin:$PATH"
export CUDA_COMPUTE_CAP="$COMPUTE_CAP"
export LIBRARY_PATH="$ROOT/lib:$ROOT/lib/stubs${LIBRARY_PATH:+:$LIBRARY_PATH}"
# candle-kernels' nvcc compiles (~15 GGUF/MoE files, most of a clean build) are the critical
# path; cudaforge uses only half the cores unless told. Not a rebuild trigger.
export CUDAFORGE_THREADS="${CUDAFORGE_THREADS:-$(nproc)}"

nvcc_release="$(nvcc --version | sed -n 's/.*release \([0-9]*\)\.\([0-9]*\),.*/\1 \2/p')"
read -r cuda_major cuda_minor <<<"$nvcc_release"
[[ -n "${cuda_minor:-}" ]] || die "cannot parse nvcc --version"
log "nvcc $cuda_major.$cuda_minor at $(command -v nvcc)"

# ---------------------------------------------------------------- 3. stub libcuda.so
cd "$REPO_ROOT"
cudarc_version="$(awk '/^name = "cudarc"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)"
[[ -n "$cudarc_version" ]] || die "cudarc not found in Cargo.lock"
cudarc_src=""
for d in "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/cudarc-"$cudarc_version"; do
  [[ -d "$d" ]] && cudarc_src="$d" && break
done
if [[ -z "$cudarc_src" ]]; then
  log "fetching crates (cudarc $cudarc_version source not unpacked yet)"
  cargo fetch --locked >/dev/null
  for d in "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/cudarc-"$cudarc_version"; do
    [[ -d "$d" ]] && cudarc_src="$d" && break
  done
fi
bindings="$cudarc_src/src/driver/sys/mod.rs"
[[ -f "$bindings" ]] || die "cudarc driver bindings not found ($bindings)"

# cudarc 0.19 keeps all versions in one file, gating version-specific functions with
# #[cfg(any(feature = "cuda-XXXXX", ...))]. candle enables `cuda-version-from-build-system`,
# so cudarc's build.rs picks the feature from `nvcc --version`: cuda-${major}0${minor}0.
feature="cuda-${cuda_major}0${cuda_minor}0"
stub_c="$ROOT/lib/stubs/libcuda-stub.c"
stub_so="$ROOT/lib/stubs/libcuda.so"
stub_key="cudarc-$cudarc_version $feature $(md5sum <"$bindings" | cut -c1-32)"
if [[ ! -f "$stub_so" || "$(cat "$ROOT/lib/stubs/.stamp" 2>/dev/null)" != "$stub_key" ]]; then
  log "generating stub libcuda.so from $bindings ($feature)"
  awk -v feat="\"$feature\"" '
    /^pub unsafe fn cu[A-Za-z0-9_]*\(/ {
      if (prev !~ /^#\[cfg\(any\(feature = "cuda-/ || index(prev, feat)) {
        name = $0; sub(/^pub unsafe fn /, "", name); sub(/\(.*/, "", name); print name
      }
    }
    { prev = $0 }
  ' "$bindings" | sort -u >"$ROOT/lib/stubs/symbols.txt"
  n="$(wc -l <"$ROOT/lib/stubs/symbols.txt")"
  ((n > 100)) || die "only $n cu* symbols found in $bindings"
  {
    echo "/* Generated by scripts/build-cuda.sh: link-time stub of the CUDA driver API. Never load at run time. */"
    while read -r sym; do echo "int $sym(void) { return 999; }"; done <"$ROOT/lib/stubs/symbols.txt"
  } >"$stub_c"
  gcc -shared -fPIC -O0 -Wl,-soname,libcuda.so.1 -o "$stub_so" "$stub_c"
  ln -sfn libcuda.so "$ROOT/lib/stubs/libcuda.so.1"
  echo "$stub_key" >"$ROOT/lib/stubs/.stamp"
  log "stub libcuda.so: $n symbols"
fi

# ---------------------------------------------------------------- 4. cargo build
export CARGO_TARGET_DIR="$REPO_ROOT/target/cuda"
log "cargo build --release --features cuda -p void-cli${*:+ $*} (CUDA_COMPUTE_CAP=$CUDA_COMPUTE_CAP, nice $NICE)"
start=$SECONDS
nice -n "$NICE" cargo build --release --features cuda -p void-cli "$@"
log "build took $((SECONDS - start)) s"

bin="$CARGO_TARGET_DIR/release/void"
[[ -x "$bin" ]] || die "no artefact at $bin"
size_bytes="$(stat -c %s "$bin")"
echo "artefact: ${bin#"$REPO_ROOT"/} ($(numfmt --to=iec-i --suffix=B "$size_bytes"), $size_bytes bytes)"
echo "smoke test here: LD_LIBRARY_PATH=$ROOT/lib:$ROOT/lib/stubs $bin --version"

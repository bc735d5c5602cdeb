# Shared by the scripts/gpu/*_full.sh benchmarks (source it).
#
# install_wheels: puts the carried .whl/*.whl (diffusers and what it needs) on PYTHONPATH.
# mem_start NAME / mem_stop NAME: sample the GPU's used memory every 100 ms with nvidia-smi
#   between the two calls (files under $work); mem_stop prints the peak above the level at
#   mem_start, in MiB: the process's memory as the driver reports it, CUDA context included.

install_wheels() {
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site
}

mem_start() {
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits | head -1 > "$work/mem_$1.base"
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 100 > "$work/mem_$1.csv" &
  echo $! > "$work/mem_$1.pid"
}

mem_stop() {
  kill "$(cat "$work/mem_$1.pid")"
  echo $(( $(sort -n "$work/mem_$1.csv" | tail -1) - $(cat "$work/mem_$1.base") ))
}

# unpack_void: .gpu/void.xz (the stripped CUDA binary, xz-compressed to fit the carry limit) to
#   /tmp/void unless a caller put one there.
unpack_void() {
  if [ ! -x /tmp/void ]; then
    python3 -c 'import lzma, shutil; shutil.copyfileobj(lzma.open(".gpu/void.xz"), open("/tmp/void", "wb"))'
    chmod +x /tmp/void
  fi
}

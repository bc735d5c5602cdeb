"""Compares void's transformer output with PyTorch's (see transformer_full.py) and prints a table.

Run: python3 scripts/gpu/compare.py DIR VOID_OUT.safetensors VOID_LOG VOID_PEAK_MIB
"""

import json
import re
import sys
from pathlib import Path

from safetensors.torch import load_file


def rel_l2(a, b):
    return float((a.double() - b.double()).norm() / b.double().norm())


def main():
    out_dir, void_out, void_log, void_peak_mib = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), float(sys.argv[4])
    ref = load_file(out_dir / "torch.safetensors")
    ours = load_file(void_out)["sample"]
    timing = json.loads((out_dir / "torch_timing.json").read_text())
    void_s = float(re.search(r"forward ([0-9.]+) s", void_log.read_text()).group(1))
    print(f"gpu: {timing['gpu']}, torch {timing['torch']}; one window B=1, 22x48x84 latents, 226 text tokens;"
          f" {timing['init']} random init")
    print(f"{'comparison':38} {'rel-L2':>10}")
    print(f"{'void bf16 vs torch bf16':38} {rel_l2(ours, ref['sample_bf16']):10.2e}")
    print(f"{'void bf16 vs torch f32':38} {rel_l2(ours, ref['sample_f32']):10.2e}")
    print(f"{'torch bf16 vs torch f32 (yardstick)':38} {rel_l2(ref['sample_bf16'], ref['sample_f32']):10.2e}")
    print(f"{'forward':38} {'seconds':>10} {'peak GiB':>10}")
    print(f"{'torch bf16 (diffusers eager)':38} {timing['bf16_forward_s']:10.3f} {timing['bf16_peak_gib']:10.1f}")
    print(f"{'torch f32':38} {timing['f32_forward_s']:10.3f} {timing['f32_peak_gib']:10.1f}")
    print(f"{'void bf16 (chunked attention)':38} {void_s:10.3f} {void_peak_mib / 1024:10.1f}")


if __name__ == "__main__":
    main()

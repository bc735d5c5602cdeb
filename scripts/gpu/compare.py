"""Compares void's output with PyTorch's and prints a table, for any network.

DIR holds what the PyTorch side wrote (transformer_full.py, t5_full.py):
  torch.safetensors   {OUTPUT}_bf16 and {OUTPUT}_f32, PyTorch's bf16 output and the f32 reference
  torch_timing.json   gpu, torch, bf16/f32 forward seconds and peak GiB, and optionally
                      output (the tensor name OUTPUT, default "sample"), description (the first
                      line), torch_label / void_label (row names) and notes (lines printed last)
VOID_OUT is `void parity ... --out`, holding OUTPUT; VOID_LOG its stderr (the "forward N s" line).

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
    timing = json.loads((out_dir / "torch_timing.json").read_text())
    key = timing.get("output", "sample")
    ref = load_file(out_dir / "torch.safetensors")
    ours = load_file(void_out)[key]
    ref_bf16, ref_f32 = ref[f"{key}_bf16"], ref[f"{key}_f32"]
    log = void_log.read_text()
    void_s = float(re.search(r"forward ([0-9.]+) s", log).group(1))
    load = re.search(r"load ([0-9.]+) s", log)
    description = timing.get(
        "description", f"one window B=1, 22x48x84 latents, 226 text tokens; {timing.get('init')} random init")
    torch_label = timing.get("torch_label", "torch bf16 (diffusers eager)")
    void_label = timing.get("void_label", "void bf16 (chunked attention)")
    print(f"gpu: {timing['gpu']}, torch {timing['torch']}; {description}")
    print(f"{'comparison':38} {'rel-L2':>10}")
    print(f"{'void bf16 vs torch bf16':38} {rel_l2(ours, ref_bf16):10.2e}")
    print(f"{'void bf16 vs torch f32':38} {rel_l2(ours, ref_f32):10.2e}")
    print(f"{'torch bf16 vs torch f32 (yardstick)':38} {rel_l2(ref_bf16, ref_f32):10.2e}")
    print(f"{'forward':38} {'seconds':>10} {'peak GiB':>10}")
    print(f"{torch_label:38} {timing['bf16_forward_s']:10.4f} {timing['bf16_peak_gib']:10.1f}")
    print(f"{'torch f32':38} {timing['f32_forward_s']:10.4f} {timing['f32_peak_gib']:10.1f}")
    print(f"{void_label:38} {void_s:10.4f} {void_peak_mib / 1024:10.1f}")
    if load:
        print(f"void load (mmap -> GPU): {float(load.group(1)):.2f} s")
    for note in timing.get("notes", []):
        print(note)


if __name__ == "__main__":
    main()

"""Attention at the VOID shape on the GPU: PyTorch side of the comparison with `void parity attention`.

Writes to DIR (the file set scripts/gpu/compare.py reads):
  inputs.safetensors   q, k, v [B,H,Sq,64] / [B,H,Sk,64] bf16, N(0,1) (fresh seed per case)
  torch.safetensors    out_bf16 (SDPA in bf16, PyTorch's default backend: cuDNN on Hopper) and
                       out_f32 (SDPA in f32 on the same bf16-rounded inputs: the reference)
  torch_timing.json    median seconds of the bf16 SDPA (CUDA events, 50 runs after warm-up) and
                       of the FlashAttention-2 backend, peak memory, TFLOP/s

Run: python3 scripts/gpu/attention_full.py DIR [B H SQ SK]   (default 1 48 11314 11314: one VOID window)
"""

import json
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch.nn.attention import SDPBackend, sdpa_kernel


def median_seconds(fn, repeats=50):
    for _ in range(5):
        fn()
    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1e3)
    return sorted(times)[len(times) // 2]


def main():
    out_dir = Path(sys.argv[1])
    b, h, sq, sk = (int(x) for x in sys.argv[2:6]) if len(sys.argv) > 2 else (1, 48, 11314, 11314)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(sq * 7 + sk)
    dev = torch.device("cuda")
    q = torch.randn(b, h, sq, 64, device=dev, dtype=torch.bfloat16)
    k = torch.randn(b, h, sk, 64, device=dev, dtype=torch.bfloat16)
    v = torch.randn(b, h, sk, 64, device=dev, dtype=torch.bfloat16)
    save_file({"q": q.cpu(), "k": k.cpu(), "v": v.cpu()}, out_dir / "inputs.safetensors")
    torch.cuda.reset_peak_memory_stats()
    with torch.no_grad():
        out_bf16 = F.scaled_dot_product_attention(q, k, v)
        peak = torch.cuda.max_memory_allocated() / 2**30
        out_f32 = F.scaled_dot_product_attention(q.float(), k.float(), v.float())
        t_default = median_seconds(lambda: F.scaled_dot_product_attention(q, k, v))
        with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
            t_flash2 = median_seconds(lambda: F.scaled_dot_product_attention(q, k, v))
    flop = 4 * b * h * sq * sk * 64
    save_file({"out_bf16": out_bf16.float().contiguous().cpu(), "out_f32": out_f32.float().contiguous().cpu()}, out_dir / "torch.safetensors")
    timing = dict(
        output="out", description=f"attention q [{b},{h},{sq},64], k/v [{b},{h},{sk},64], bf16, N(0,1) inputs",
        torch_label="torch bf16 SDPA (default: cuDNN)", void_label="void bf16 (fused kernel)",
        bf16_forward_s=t_default, bf16_peak_gib=peak, f32_forward_s=float("nan"), f32_peak_gib=float("nan"),
        flash2_s=t_flash2, flop=flop, torch=torch.__version__, gpu=torch.cuda.get_device_name(),
        notes=[f"TFLOP/s: torch default {flop / t_default / 1e12:.0f}, torch FlashAttention-2 backend "
               f"{flop / t_flash2 / 1e12:.0f} ({t_flash2:.5f} s)"],
    )
    (out_dir / "torch_timing.json").write_text(json.dumps(timing, indent=1))
    print(json.dumps(timing))


if __name__ == "__main__":
    main()

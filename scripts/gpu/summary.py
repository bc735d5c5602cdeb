"""Issue 6's table from the work folders of scripts/gpu/bench.sh: measure | void | peer |
peer/void | floor | rel-L2 vs peer (bf16 both sides).

Floors (H100/H200 dense bf16 ~790 TFLOP/s measured): attention 4*B*H*S^2*64 FLOP; transformer
173.7 TFLOP (spec §10); VAE encode ~190 TFLOP, decode ~390 TFLOP (docs/perf.md's count).

Run: python3 scripts/gpu/summary.py ATTN_DIR TRANSFORMER_DIR VAE_DIR
"""

import json
import re
import sys
from pathlib import Path

from safetensors.torch import load_file

PEAK = 790e12


def rel_l2(a, b):
    return float((a.double() - b.double()).norm() / b.double().norm())


def seconds(log, word):
    return float(re.search(word + r" ([0-9.]+) s", Path(log).read_text()).group(1))


def main():
    attn, tr, vae = (Path(p) for p in sys.argv[1:4])
    rows = []
    if (attn / "void.log").exists():
        rows.append(attention_row(attn))
    if (tr / "void.log").exists():
        rows.append(transformer_row(tr))
    if (vae / "void_decode.log").exists():
        rows.extend(vae_rows(vae))
    print(f"{'measure':58} {'void s':>9} {'peer s':>9} {'peer/void':>9} {'floor s':>9} {'rel-L2':>9}")
    for name, ours, peer, floor, err in rows:
        print(f"{name:58} {ours:9.4f} {peer:9.4f} {peer / ours:9.2f} {floor:9.4f} {err:9.2e}")


def attention_row(attn):
    t = json.loads((attn / "torch_timing.json").read_text())
    ref = load_file(attn / "torch.safetensors")["out_bf16"]
    ours = load_file(attn / "void.safetensors")["out"]
    s = seconds(attn / "void.log", "forward")
    print(f"gpu: {t['gpu']}, torch {t['torch']}")
    return (f"attention 1x48x11314x64 (TFLOP/s: void {t['flop'] / s / 1e12:.0f}, peer {t['flop'] / t['bf16_forward_s'] / 1e12:.0f})",
            s, t["bf16_forward_s"], t["flop"] / PEAK, rel_l2(ours, ref))


def transformer_row(tr):
    t = json.loads((tr / "torch_timing.json").read_text())
    ref = load_file(tr / "torch.safetensors")["sample_bf16"]
    ours = load_file(tr / "void.safetensors")["sample"]
    return ("transformer forward, one window", seconds(tr / "void.log", "forward"), t["bf16_forward_s"],
            173.7e12 / PEAK, rel_l2(ours, ref))


def vae_rows(vae):
    rows = []
    t = json.loads((vae / "torch_timing.json").read_text())
    ref = load_file(vae / "torch.safetensors")
    for name, key, torch_key, flop in [("VAE encode 85 frames", "encode", "latent_bf16", 190e12),
                                        ("VAE decode 22 latents", "decode", "video_bf16", 390e12)]:
        ours = load_file(vae / f"void_{key}.safetensors")
        ours = ours["latent"] if "latent" in ours else ours["video"]
        rows.append((name, seconds(vae / f"void_{key}.log", "run"), t[torch_key + "_s"], flop / PEAK,
                     rel_l2(ours, ref[torch_key])))
    return rows


if __name__ == "__main__":
    main()

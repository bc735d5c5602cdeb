"""Golden fixtures for void-prep's Pillow-exact bicubic resize (crates/void-prep/src/bicubic.rs).

SAM2's video predictor resizes every frame with PIL `Image.resize((S, S))`, whose default
filter for RGB images is BICUBIC. This writes seeded random RGB images and their resizes
(downsampling, which Pillow antialiases, upsampling and mixed) as raw bytes:

  crates/void-prep/tests/golden/pillow_bicubic.json   [{w, h, out_w, out_h, input, output}]
                                                      (input/output: hex strings of the RGB bytes)

Usage: /root/.cache/void/sam2-venv/bin/python scripts/golden/pillow_goldens.py
(any Python with numpy and Pillow; the version is recorded in the file).
"""

import json
from pathlib import Path

import numpy as np
import PIL
from PIL import Image

OUT = Path(__file__).resolve().parents[2] / "crates/void-prep/tests/golden/pillow_bicubic.json"
CASES = [(53, 37, 16, 20), (53, 37, 90, 70), (40, 30, 96, 96), (120, 67, 32, 32), (72, 48, 96, 96), (192, 108, 64, 64)]


def main():
    rng = np.random.default_rng(0)
    cases = []
    for w, h, ow, oh in CASES:
        # Smooth structure plus noise, so both the support and the clipping matter.
        yy, xx = np.mgrid[0:h, 0:w]
        base = 127 + 120 * np.sin(xx[..., None] / 3.0 + yy[..., None] / 5.0 + np.arange(3))
        img = np.clip(base + rng.normal(0, 40, (h, w, 3)), 0, 255).astype(np.uint8)
        out = np.asarray(Image.fromarray(img, "RGB").resize((ow, oh)))
        # Pillow 13 sometimes runs the vertical pass first (tall inputs, mixed scaling; the rule is
        # not documented). void implements the horizontal-first order of every earlier Pillow,
        # which Pillow 13 keeps for landscape frames: only such cases are fixtures.
        width_first = Image.fromarray(np.asarray(Image.fromarray(img, "RGB").resize((ow, h))), "RGB").resize((ow, oh))
        assert (np.asarray(width_first) == out).all(), f"Pillow ran {w}x{h} -> {ow}x{oh} height first"
        cases.append(dict(w=w, h=h, out_w=ow, out_h=oh, input=img.tobytes().hex(), output=out.tobytes().hex()))
    OUT.write_text(json.dumps(dict(pillow=PIL.__version__, numpy=np.__version__, cases=cases)))
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


main()

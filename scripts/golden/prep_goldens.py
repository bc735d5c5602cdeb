"""Golden fixtures for the Rust preprocessing (crates/void-sequence).

Runs Netflix/void-model's reference preprocessing (videox_fun/utils/utils.py
get_video_mask_input with use_quadmask=True, then the use_trimask requantisation
of pipeline_cogvideox_fun_inpaint.py) on every sample sequence and writes
compact statistics of its output to <out>/prep_<sequence>.safetensors:

  video_frame_sums, video_frame_sq_sums, video_frame_weighted  f64 [F,3]
  video_band_top   f32 [2,3,8,W]   rows 0..8 of padded frames 0 and L-1
  video_band_mid   f32 [2,3,16,W]  rows 184..200 of padded frames 0 and L-1
  mask_level_counts   i64 [F,4]    pixels at quadmask level 0, 63, 127, 255
  mask_level_checksum i64 [F]      sum of (k+1) * ((y*W+x) % 65521 + 1), k = level index
  mask_levels_mid     u8  [H,W]    levels of padded frame L//2
  mask_pass1_sums     f64 [F]      sum of the final pass-1 mask
  pad_indices         i64 [F]      source frame shown by each padded frame

F is the padded frame count, L the number of source frames used; the weighted
sum uses w(y,x) = ((7y + 13x) % 17) / 16.

Usage:
  /path/to/python scripts/golden/prep_goldens.py [--samples DIR] [--out DIR]
  /path/to/python scripts/golden/prep_goldens.py --bench SEQ

Defaults: --samples ../shared/samples (relative to the repo root),
--out crates/void-sequence/tests/golden. --bench times the reference path for
one sequence (nothing saved) and prints wall_s, peak_rss_mb and frames.
"""

import argparse
import resource
import subprocess
import time
from pathlib import Path

import mediapy as media
import numpy as np
import safetensors
import torch
import torch.nn.functional as F
from safetensors.numpy import save_file

REPO = Path(__file__).resolve().parents[2]
H, W = 384, 672
MAXLEN = 197
WINDOW = 85
LEVELS = (0, 63, 127, 255)


def temporal_padding(video, min_length=WINDOW, max_length=MAXLEN, dim=2):
    """videox_fun.utils.utils.temporal_padding: bounce-pad to an odd 4k+1 length."""
    length = video.size(dim)
    min_len = (length // 4) * 4 + 1
    if min_len < length:
        min_len += 4
    if (min_len // 4) % 2 == 0:
        min_len += 4
    target = max(min_length, min(min_len, max_length))
    video = video.narrow(dim, 0, min(target, video.size(dim)))
    while video.size(dim) < target:
        video = torch.cat([video, torch.flip(video, [dim])], dim=dim)
        video = video.narrow(dim, 0, min(target, video.size(dim)))
    return video


def mask_path(seq_dir):
    quads = sorted(seq_dir.glob("quadmask_*.mp4"))
    return quads[0] if quads else seq_dir / "trimask_quadmask.mp4"


def prepare(seq_dir):
    """Reference path; returns video (F,3,H,W), pass-1 mask (F,1,H,W), levels (F,H,W), info."""
    raw = media.read_video(seq_dir / "input_video.mp4")
    video_meta = raw.metadata
    v = torch.from_numpy(np.array(raw))[:MAXLEN]
    del raw
    source_frames = v.shape[0]
    v = v.permute([3, 0, 1, 2]).float() / 255
    v = F.interpolate(v, (H, W), mode="area").unsqueeze(0)

    raw = media.read_video(mask_path(seq_dir))
    mask_meta = raw.metadata
    m = torch.from_numpy(raw).float()[:MAXLEN]
    del raw
    mask_frames = m.shape[0]
    if m.ndim == 4:
        m = m[..., 0]
    m = F.interpolate(m.unsqueeze(0), (H, W), mode="area").unsqueeze(0)
    m = torch.where(m <= 31, 0, m)
    m = torch.where((m > 31) * (m <= 95), 63, m)
    m = torch.where((m > 95) * (m <= 191), 127, m)
    m = torch.where(m > 191, 255, m)
    levels = m.clone()
    m = 255 - m

    v, m, levels = (temporal_padding(t) for t in (v, m, levels))
    m = m / 255.0
    m = torch.where(m > 0.75, 1.0, m)
    m = torch.where((m <= 0.75) * (m >= 0.25), 127.0 / 255.0, m)
    m = torch.where(m < 0.25, 0.0, m)
    m = m.to(torch.float32)

    info = dict(
        source_frames=source_frames,
        mask_source_frames=mask_frames,
        video_height=video_meta.shape[0],
        video_width=video_meta.shape[1],
        mask_height=mask_meta.shape[0],
        mask_width=mask_meta.shape[1],
        fps=video_meta.fps,
    )
    return v[0].permute(1, 0, 2, 3), m[0].permute(1, 0, 2, 3), levels[0, 0], info


def fixture(video, mask, levels, source_frames):
    v64 = video.double()
    y = torch.arange(H, dtype=torch.int64)[:, None]
    x = torch.arange(W, dtype=torch.int64)[None, :]
    weight = ((y * 7 + x * 13) % 17).double() / 16.0
    position = (y * W + x) % 65521 + 1

    assert torch.isin(levels, torch.tensor(LEVELS, dtype=levels.dtype)).all()
    level_index = torch.zeros(levels.shape, dtype=torch.int64)
    for k, level in enumerate(LEVELS):
        level_index[levels == level] = k
    ends = [0, source_frames - 1]
    return {
        "video_frame_sums": v64.sum((2, 3)),
        "video_frame_sq_sums": (v64 * v64).sum((2, 3)),
        "video_frame_weighted": (v64 * weight).sum((2, 3)),
        "video_band_top": video[ends, :, 0:8],
        "video_band_mid": video[ends, :, 184:200],
        "mask_level_counts": torch.stack(
            [(levels == level).sum((1, 2)) for level in LEVELS], dim=1
        ),
        "mask_level_checksum": ((level_index + 1) * position).sum((1, 2)),
        "mask_levels_mid": levels[source_frames // 2].to(torch.uint8),
        "mask_pass1_sums": mask.double().sum((1, 2, 3)),
        "pad_indices": temporal_padding(torch.arange(source_frames), dim=0),
    }


def provenance():
    ffmpeg = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True, check=True)
    return {
        "script": "scripts/golden/prep_goldens.py",
        "torch": torch.__version__,
        "numpy": np.__version__,
        "mediapy": media.__version__,
        "safetensors": safetensors.__version__,
        "ffmpeg": ffmpeg.stdout.splitlines()[0],
    }


def bench(seq_dir):
    start = time.perf_counter()
    video, _, _, info = prepare(seq_dir)
    wall = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"sequence={seq_dir.name} torch_threads={torch.get_num_threads()}")
    print(f"wall_s={wall:.2f} peak_rss_mb={peak_kb / 1024:.0f}")
    print(f"frames={info['source_frames']} padded_frames={video.shape[0]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, default=REPO.parent / "shared" / "samples")
    parser.add_argument("--out", type=Path, default=REPO / "crates/void-sequence/tests/golden")
    parser.add_argument("--bench", metavar="SEQ", help="time the reference path for one sequence")
    args = parser.parse_args()

    if args.bench:
        bench(args.samples / args.bench)
        return

    args.out.mkdir(parents=True, exist_ok=True)
    common = provenance()
    for seq_dir in sorted(p.parent for p in args.samples.glob("*/input_video.mp4")):
        video, mask, levels, info = prepare(seq_dir)
        tensors = fixture(video, mask, levels, info["source_frames"])
        del video, mask, levels
        metadata = {
            "sequence": seq_dir.name,
            "video_file": "input_video.mp4",
            "mask_file": mask_path(seq_dir).name,
            "padded_frames": str(len(tensors["pad_indices"])),
            "sample_size": f"{H}x{W}",
            **{key: str(value) for key, value in info.items()},
            **common,
        }
        path = args.out / f"prep_{seq_dir.name}.safetensors"
        save_file({k: np.ascontiguousarray(t.numpy()) for k, t in tensors.items()}, path, metadata)
        print(f"{path}: {path.stat().st_size} bytes, {metadata['source_frames']} -> {metadata['padded_frames']} frames")


if __name__ == "__main__":
    main()

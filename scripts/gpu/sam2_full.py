"""Full-size SAM2 (sam2.1_hiera_l, random weights) on the GPU: the `sam2` package's side of the
comparison with `void parity sam2-video`.

Builds the video predictor from the package's sam2.1_hiera_l config with random weights
(PyTorch's default init; hole filling is skipped, as without the package's CUDA extension),
makes T frames (a smooth moving pattern, 1024x1024 JPEGs as the predictor loads them), prompts
a box and two clicks on frame T // 2, propagates forward then backward, and writes to DIR:

  weights.safetensors   the state dict (official key names), f32
  inputs.safetensors    frames (T,1024,1024,3) u8 as the predictor decoded them, point_coords,
                        point_labels (model pixels, box corners first), prompt_frame
  torch.safetensors     pred_masks (T,1,256,256): the low-resolution logits of every frame
  torch_timing.json     seconds for encode+track of all frames, frames/s, peak GPU memory

TF32 is off so the f32 comparison is meaningful. Run: python3 sam2_full.py DIR [T]
(DEVICE=cpu for a dry run without a GPU).
"""

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file
from sam2.build_sam import build_sam2_video_predictor

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False


def main():
    out = Path(sys.argv[1])
    frames_n = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    device = os.environ.get("DEVICE", "cuda")
    cuda = device == "cuda"
    predictor = build_sam2_video_predictor("configs/sam2.1/sam2.1_hiera_l.yaml", ckpt_path=None, device=device)
    predictor.fill_hole_area = 0
    save_file({k: v.float().contiguous().cpu() for k, v in predictor.state_dict().items()}, out / "weights.safetensors")

    size = predictor.image_size
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    with tempfile.TemporaryDirectory() as jpegs:
        decoded = []
        for t in range(frames_n):
            img = np.stack([127 + 100 * np.sin((xx + 9 * t) / 37 + c) * np.cos((yy - 5 * t) / 53) for c in range(3)], -1)
            img = np.clip(img, 0, 255).astype(np.uint8)
            Image.fromarray(img).save(f"{jpegs}/{t:05d}.jpg", quality=95)
            decoded.append(np.asarray(Image.open(f"{jpegs}/{t:05d}.jpg").convert("RGB").resize((size, size))))
        prompt_frame = frames_n // 2
        box = np.array([300, 280, 700, 760], np.float32)
        points = np.array([[500, 500], [650, 300]], np.float32)
        labels = np.array([1, 0], np.int32)
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        with torch.inference_mode():
            state = predictor.init_state(video_path=jpegs)
            predictor.add_new_points_or_box(state, frame_idx=prompt_frame, obj_id=1, points=points, labels=labels, box=box)
            masks = {}
            for reverse in (False, True):
                for f, _, _ in predictor.propagate_in_video(state, reverse=reverse):
                    masks[f] = state["output_dict_per_obj"][0]["cond_frame_outputs"].get(f) or \
                        state["output_dict_per_obj"][0]["non_cond_frame_outputs"][f]
        if cuda:
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
    pred = torch.cat([masks[f]["pred_masks"].float().cpu() for f in range(frames_n)], 0)
    coords = np.concatenate([box.reshape(2, 2), points]) / np.array([size, size], np.float32) * size
    save_file({"pred_masks": pred}, out / "torch.safetensors")
    save_file({
        "frames": torch.from_numpy(np.stack(decoded)),
        "point_coords": torch.from_numpy(coords[None].astype(np.float32)),
        "point_labels": torch.tensor([[2, 3, 1, 0]], dtype=torch.float32),
        "prompt_frame": torch.tensor(prompt_frame),
    }, out / "inputs.safetensors")
    timing = dict(frames=frames_n, seconds=seconds, fps=frames_n / seconds,
                  peak_gib=torch.cuda.max_memory_allocated() / 2**30 if cuda else 0.0,
                  torch=torch.__version__, gpu=torch.cuda.get_device_name() if cuda else "cpu")
    (out / "torch_timing.json").write_text(json.dumps(timing))
    print(json.dumps(timing))


main()

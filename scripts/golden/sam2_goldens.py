r"""Golden fixtures for the Rust SAM 2.1 video predictor (crates/void-models), plus SAM 2.0.

Reference: the `sam2` PyPI package 1.1.0, built from its sdist with SAM2_BUILD_CUDA=0 (no CUDA
extension), run on CPU in f32. The model has the SAM 2.1 architecture of
configs/sam2.1/sam2.1_hiera_t.yaml (same classes, same SAM2Base options), is built by
sam2.build_sam.build_sam2_video_predictor from a yaml that this script writes, and is reduced
in size, with seeded random weights:

  image_size 96 (backbone stride 16 -> 6x6 top-level grid; low-res masks 24x24).
  Hiera: embed_dim 6, num_heads 1, stages (1, 2, 3, 1) -> dims 6/12/24/48, heads 1/2/4/8 (head
    dim 6), window_spec (8, 4, 4, 2), global_att_blocks (5,), window_pos_embed_bkg_spatial_size
    (7, 7), q_pool blocks 1, 3, 6. Stage grids are 24/12/6/3. Block 4 (window 4 on 6x6) and the
    stage-4 q-pool block 6 (window 4 on 6x6, pooled to 2 on 3x3) pad their windows, as stages 3
    and 4 of the real tiny model do at 1024. window_spec[3] is unused because stage 4 has only
    its q-pool block, which takes stage 3's window.
  FpnNeck: d_model 32 (= SAM2Base hidden_dim = prompt embed dim = the mask decoder's
    transformer_dim), PositionEmbeddingSine(32), scalp 1, fpn_top_down_levels [2, 3], nearest.
  MemoryAttention: d_model 32, 2 layers, dim_feedforward 64, RoPEAttention with 1 head (head
    dim 32), feat_sizes [6, 6] (= image_size / 16), cross-attention kv_in_dim 8.
  MemoryEncoder: in_dim 32, out_dim 8 (= mem_dim, so an object pointer is split into 32 / 8 = 4
    memory tokens, as 256 / 64 in the real model), PositionEmbeddingSine(8), Fuser of 2
    CXBlock(dim 32, kernel 7, padding 3, depthwise), and MaskDownSampler(embed_dim 32,
    kernel_size 4, stride 4, padding 0, total_stride 16).
    NOTE: the real yaml has kernel_size 3, stride 2, padding 1, that is 4 conv layers whose last
    one maps 64 -> 256 channels with 3x3 kernels (147k weights, too many for the size budget).
    The class defaults used here give 2 layers (1 -> 16 -> 256 channels, then a 1x1 conv to 32).
    A port must read kernel/stride/padding from the config: num_layers =
    log2(total_stride) / log2(stride), and each layer multiplies the channels by stride^2.
  SAM2Base options are exactly those of sam2.1_hiera_t.yaml: num_maskmem 7, sigmoid scale/bias
    20/-10, use_mask_input_as_output_without_sam, directly_add_no_mem_embed,
    no_obj_embed_spatial, use_high_res_features_in_sam, multimask_output_in_sam,
    iou_prediction_use_sigmoid, use_obj_ptrs_in_encoder, add/proj/signed tpos enc of the obj
    ptrs, only_obj_ptrs_in_the_past_for_eval, pred_obj_scores(+mlp), fixed_no_obj_ptr,
    multimask_output_for_tracking, use_multimask_token_for_obj_ptr, multimask pt num 0..1,
    use_mlp_for_obj_ptr_proj, compile_image_encoder False. On top of them come the
    post-processing overrides that build_sam2_video_predictor adds
    (dynamic_multimask_via_stability true, delta 0.05, thresh 0.98;
    binarize_mask_from_pts_for_mem_enc true; fill_hole_area 8). The one exception is
    fill_hole_area, which is set to 0 on the built model: without the CUDA extension, sam2 skips
    hole filling with a warning. Hole filling has its own golden (sam2_fill_holes, below).
  SAM2Base._build_sam_heads hard-codes two dims: mlp_dim 2048 for the mask decoder's
    TwoWayTransformer and hidden dim 256 for the IoU head (266k + 74k weights at d 32). After the
    build, this script replaces sam_mask_decoder.transformer with TwoWayTransformer(depth 2,
    embedding_dim 32, num_heads 8, mlp_dim 64) and sam_mask_decoder.iou_prediction_head with
    MLP(32, 32, 4, 3, sigmoid_output=True). The classes and key names stay the same and only
    the dims shrink, so a port needs these two as config values. Everything else hard-coded
    there is kept: depth 2, 8 heads (head dims: self-attention 4, cross-attention 2 after the
    downsample rate 2), mask_in_chans 16, 3 multimask outputs, iou depth 3.

Weights: every parameter and buffer is redrawn from a torch.Generator(seed 0), in
named_parameters order. Linear/Conv weights are N(0, 1/fan_in), and the last layer of each
output_hypernetworks_mlps MLP is 4x that, so that mask logits span a few units. Biases are
N(0, 0.05^2), LayerNorm weights 1 + N(0, 0.1^2), embeddings N(0, 1) (point embeddings
N(0, 0.5^2)), CXBlock gamma 0.5 + N(0, 0.1^2), the prompt encoder's random-Fourier matrix N(0, 1),
and the other free tensors (pos embeds, maskmem_tpos_enc, no_mem_*, no_obj_*) N(0, 0.2^2). The
last bias of pred_obj_score_head is set to 1.0 so that the object is present on every frame
(scores about 0.25..0.32); otherwise every mask would be NO_OBJ_SCORE (-1024).

Images: frames 0, 8, ..., 40 of shared/samples/BigBen/input_video.mp4 (544x360), scaled by
ffmpeg (imageio-ffmpeg's binary, flags=area) to 72x48. That is the video size the predictor
sees: video_width 72, video_height 48. The frames are written as JPEG (Pillow, quality 95) for
init_state's JPEG-folder loader, and `*frame*_u8` hold the pixels Pillow decodes from those
files, so they are exactly what sam2 read. sam2's loader (sam2/utils/misc.py:
_load_img_as_tensor and load_video_frames_from_jpg_images) does
PIL `img.convert("RGB").resize((S, S))`, whose default filter for RGB is Pillow's BICUBIC. That
filter is antialiased (support scaled by the ratio when downscaling; here it upscales
72x48 -> 96x96) and keeps an 8-bit intermediate between the horizontal and the vertical pass.
Its output is stored as `*_resized_u8`. Then x = float32(u8 / 255.0 computed in float64), and
x = (x - mean) / std in float32, with mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225)
as float32. The preprocessed tensors are bit-exact functions of `*_resized_u8` (the script
checks this).

Files written to <out> (default crates/void-models/tests/golden):

  sam2_config.json          constructor values: the yaml (as a string), the composed config,
                            the build overrides, the head overrides, dims, preprocessing, seed
  sam2_void_config.json     the same model as `void --sam2-config` takes it (the yaml's model
                            section plus the head sizes in `sam_heads`)
  sam2_weights.safetensors  model.state_dict() in f32, with the official checkpoint key names
                            (the keys of sam2.1_hiera_tiny.pt["model"], e.g.
                            image_encoder.trunk.blocks.0.attn.qkv.weight)
  sam2_weights.pt           torch.save({"model": state_dict}) of the same tensors, in the
                            format of the official checkpoints (torch zip pickle); run 2 below
                            loads it with torch.load(weights_only=True), as sam2's
                            _load_checkpoint does
  sam2_encode_io.safetensors   the image encoder on video frame 0: image [1,3,96,96];
                            trunk.patch_embed / trunk.pos_embed (bicubic-interpolated pos_embed
                            + tiled pos_embed_window) / trunk.pos_embed_added / trunk.blocks.i,
                            all NHWC as Hiera keeps them; trunk.stage1..4 (NCHW trunk outputs);
                            neck.backbone_fpn.0..3 (NCHW neck outputs before scalp drops level
                            3); vision_pos_enc.0..2; vision_feats.0..2 ([HW,1,C], what
                            _prepare_backbone_features hands on: level 0/1 after the mask
                            decoder's conv_s0/conv_s1, which forward_image applies); the last
                            vision_pos_embeds.2 [36,1,32]; feat_sizes i32 [3,2]
  sam2_prompt_io.safetensors   1-frame video: 2 points (labels 1, 0) and a box
  sam2_video_io.safetensors    6-frame video: prompt on frame 2, propagation both ways
  sam2_fill_holes.safetensors  sam2.utils.misc.fill_holes_in_mask_scores on small arrays
  sam2_v20_*                the SAM 2.0 variant (below)

Prompt path (sam2_prompt_io): init_state(<dir with 00000.jpg>), then
add_new_points_or_box(state, frame_idx=0, obj_id=1, points=PROMPT_POINTS, labels=[1, 0],
box=PROMPT_BOX). Coordinates are in video pixels (normalize_coords=True: / (W, H) *
image_size), and the box becomes two leading points with labels 2 and 3. There are 4 points,
more than multimask_max_pt_num 1, so multimask_output is False. The mask decoder's dynamic
multimask-via-stability then keeps single-mask token 0 if its stability score (the IoU of
logits > 0.05 against logits > -0.05) is >= 0.98; otherwise it takes the best of tokens 1..3 by
predicted IoU. Here token 0 is stable (stability 1.0), while on the video's prompted frame
it is not (0.9375) and token 3 is taken: both branches are covered. The metadata "margins"
give the numbers.
The prompt encoder pads the points with one (0, 0) point of label -1, giving 5 sparse tokens,
because SAM2Base never passes boxes. Keys: frame_u8 [48,72,3], frame_resized_u8 [96,96,3],
points/labels/box (as given), point_coords [1,4,2] and point_labels i32 [1,4] (as the model
gets them), sparse_embeddings [1,5,32], dense_embeddings [1,32,6,6], dense_pe [1,32,6,6],
decoder.masks / iou_pred / mask_tokens_out / object_score_logits (MaskDecoder.predict_masks:
all 4 tokens), decoder.single_mask_stability, decoder.out.* (MaskDecoder.forward, after the
dynamic selection), low_res_multimasks [1,1,24,24] (after the object-score gate), ious, obj_ptr
[1,32], object_score_logits, pred_masks [1,1,24,24], and video_res_masks [1,1,48,72] (the
returned logits).

Video path (sam2_video_io). This is the exact order of calls; the Rust side must replay this
state machine:
  1. state = init_state(<dir with 00000.jpg .. 00005.jpg>)   (computes frame 0's features)
  2. add_new_points_or_box(state, frame_idx=2, obj_id=1, points=VIDEO_POINTS, labels=[1, 0],
     box=VIDEO_BOX). Frame 2 becomes an initial conditioning frame, with no memory
     (directly_add_no_mem_embed: pix_feat = vision_feats[-1] + no_mem_embed), SAM heads with
     the 4 points, and run_mem_encoder=False. It returns "add.video_res_masks".
  3. list(propagate_in_video(state)) yields frames 2, 3, 4, 5. Its preflight first runs the
     memory encoder on frame 2: high_res = bilinear(pred_masks 24x24 -> 96x96,
     align_corners False), binarized (> 0) because the mask comes from points, then
     * 20 - 10 (keys "cond.*"). Frame 2 is yielded from its stored output. Frames 3, 4 and 5
     are tracked with multimask output (the best of 3 by IoU, and the object pointer from that
     token); after each, the memory encoder runs on sigmoid(high_res_masks) * 20 - 10.
  4. list(propagate_in_video(state, reverse=True)) yields frames 2, 1, 0. Frames 1 and 0 are
     tracked in reverse: their memories include the non-conditioning frames 3, 4 and 5 stored
     by step 3 (the previous frame is t + 1, t + 2, ...), and the t_diff of the object pointers
     flips sign.
  Every yielded mask is bilinear(pred_masks 24x24 -> 48x72, align_corners False); the yields
  for frame 2 equal "add.video_res_masks" (checked, not stored again).
  sam2 stores maskmem_features as bfloat16 (.to(torch.bfloat16) in _run_single_frame_inference
  and _run_memory_encoder). Memory attention reads them back promoted to f32 by torch.cat with
  the f32 object pointers. "*.maskmem_features" are the f32 values before that rounding, and
  "*.maskmem_features_bf16" are the stored values (as f32).
  Keys: frames_u8 [6,48,72,3], frames_resized_u8 [6,96,96,3], points/labels/box;
  add.point_coords/point_labels, add.pix_feat_with_mem [1,32,6,6], add.decoder.* (as in the
  prompt file), add.low_res_multimasks, add.ious, add.obj_ptr, add.object_score_logits,
  add.pred_masks, add.video_res_masks; cond.maskmem_features(_bf16) [1,8,6,6];
  maskmem_pos_enc [1,8,6,6] (the same for every frame). For each tracked frame t (fwd.f3,
  fwd.f4, fwd.f5, bwd.f1, bwd.f0): pix_feat_with_mem [1,32,6,6] (memory attention output as
  BCHW), low_res_multimasks [1,3,24,24] (after the NO_OBJ_SCORE gate), ious [1,3], pred_masks
  [1,1,24,24], obj_ptr [1,32], object_score_logits [1,1], maskmem_features(_bf16) [1,8,6,6],
  multimask_output u8, video_res_masks [1,1,48,72]. fwd.f5 and bwd.f0 also have the memory
  attention inputs, memory / memory_pos [N,1,8] (spatial memories first, then
  num_obj_ptr_tokens object-pointer tokens without RoPE), num_obj_ptr_tokens i32, and
  memory_attention_out [36,1,32].

SAM 2.0 variant (sam2_v20_*, written by a second pass after every 2.1 file, or alone with
--only-v20, which leaves the 2.1 files untouched). configs/sam2/*.yaml differ from
configs/sam2.1/*.yaml only in four SAM2Base options, all false here: no_obj_embed_spatial,
add_tpos_enc_to_obj_ptrs, proj_tpos_enc_in_obj_ptrs, use_signed_tpos_enc_to_obj_ptrs. So the
model is MODEL_CFG with those four flags false (yaml sam2_hiera_golden.yaml), built the same
way (same head overrides, fill_hole_area 0) and randomized by the same scheme from the same
seed. Its checkpoint lacks no_obj_embed_spatial and obj_ptr_tpos_proj.weight/.bias (checked).
SAM2Base's own tensors come first in named_parameters order (maskmem_tpos_enc, no_mem_embed,
no_mem_pos_enc, no_obj_ptr, then no_obj_embed_spatial), so every later draw shifts: apart from
those four, the weights are a different draw from the 2.1 model's. In memory attention the
object pointers' positions are zeros (checked); no no-object embedding is added to the
memories (the object is present on every frame in both fixtures anyway). The frames and the
video prompt are those of sam2_video_io (frames_resized_u8 checked equal to that file's when
it exists), with the same call order. Files:
  sam2_v20_weights.safetensors  its state_dict in f32, official key names
  sam2_v20_void_config.json     as sam2_void_config.json (the composed yaml's model section
                                plus "sam_heads")
  sam2_v20_video_io.safetensors a subset of the video keys above (no video_res_masks, no
                                pix_feat_with_mem / decoder.* / low_res_multimasks / ious /
                                f32 maskmem_features, to keep the three files under 1.2 MB):
                                frames_resized_u8, points/labels/box, add.point_coords,
                                add.point_labels, cond.maskmem_features_bf16 (the prompted
                                frame's memory); pred_masks, obj_ptr, object_score_logits for
                                add and each tracked frame (fwd.f3, fwd.f4, fwd.f5, bwd.f1,
                                bwd.f0), whose maskmem_features_bf16 too; memory, memory_pos,
                                num_obj_ptr_tokens for fwd.f5 and bwd.f0. Its metadata holds the
                                run-2 / run-3 checks (run 2 loads sam2_v20_weights.safetensors'
                                tensors) and the margins, as for the 2.1 video file.

Hole filling (sam2_fill_holes). sam2 1.1.0's fill_holes_in_mask_scores(mask, max_area) does:
labels, areas = get_connected_components(mask <= 0), using the CUDA kernel
sam2/csrc/connected_components.cu (block-based union find with 8-connectivity, so diagonal
neighbours are connected; it needs even H and W). Every pixel of a background component
(mask <= 0, exact 0 included) whose area is <= max_area is set to 0.1, wherever the component
lies (touching the border or not). Every other pixel is unchanged; small foreground islands
("sprinkles") are NOT removed in 1.1.0. Here get_connected_components is replaced by a numpy
8-connectivity flood fill, checked against a sequential emulation of the CUDA kernel, and
sam2's own fill_holes_in_mask_scores is called. Keys per case (case0 [3,1,24,24], case1
[2,1,16,20]): mask f32 (the input), areas_bg i32 (the area of each background pixel's
component, 0 on foreground), and filled_<A> for max_area A in (1, 8).

Every io file's metadata records the script, versions and seed, plus two checks. The
run-to-run check runs the whole pipeline twice: run 1 with torch's default threads, run 2
rebuilt from sam2_weights.pt with 1 thread. The sensitivity check (run 3) multiplies every
weight by (1 + 1e-6 N(0,1)), about the noise of another f32 summation order. For each, the
metadata stores max |diff| and the max over keys of the relative L2. The video and prompt
metadata also record the margins of the discrete decisions: object score signs, IoU argmax
gaps, stability scores, binarization margins, and maskmem values near a bf16 rounding tie.

Setup and usage (CPU only):
  python3 -m venv /root/.cache/void/sam2-venv
  /root/.cache/void/sam2-venv/bin/pip install torch==2.15.0 numpy==2.4.6 safetensors==0.8.0 \
      imageio-ffmpeg==0.8.1
  SAM2_BUILD_CUDA=0 /root/.cache/void/sam2-venv/bin/pip install --no-build-isolation sam2==1.1.0
  /root/.cache/void/sam2-venv/bin/python scripts/golden/sam2_goldens.py [--out DIR] \
      [--video PATH/TO/BigBen/input_video.mp4] [--only-v20]
scripts/golden/requirements-sam2.txt pins everything that ended up installed. The default
--video is <repo>/../shared/samples/BigBen/input_video.mp4, falling back to
/work/shared/samples/BigBen/input_video.mp4.
"""

import argparse
import json
import math
import subprocess
import tempfile
from collections import deque
from pathlib import Path

import hydra
import imageio_ffmpeg
import numpy as np
import PIL
import safetensors
import torch
import torch.nn as nn
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf
from PIL import Image
from safetensors.torch import load_file, save_file

import sam2  # noqa: F401  (initialises hydra with sam2's configs; cleared below)
import sam2.utils.misc as sam2_misc
from sam2.build_sam import build_sam2_video_predictor
from sam2.modeling.sam.transformer import TwoWayTransformer
from sam2.modeling.sam2_utils import MLP, LayerNorm2d
from sam2.modeling.memory_encoder import CXBlock

REPO = Path(__file__).resolve().parents[2]
SEED = 0
S = 96  # image_size
E = 6  # Hiera embed_dim
D = 32  # hidden_dim (neck d_model, memory attention d_model, transformer_dim)
MEM = 8  # mem_dim (memory encoder out_dim)
MLP_DIM = 64  # replaces the hard-coded 2048 of the mask decoder's TwoWayTransformer
IOU_HIDDEN = 32  # replaces the hard-coded 256 of the IoU head
VIDEO_W, VIDEO_H = 72, 48
SOURCE_FRAMES = [0, 8, 16, 24, 32, 40]
PROMPT_POINTS = [[44.0, 22.0], [12.0, 38.0]]
PROMPT_LABELS = [1, 0]
PROMPT_BOX = [26.0, 6.0, 62.0, 40.0]
VIDEO_FRAME = 2
VIDEO_POINTS = [[30.0, 20.0], [62.0, 42.0]]
VIDEO_LABELS = [1, 0]
VIDEO_BOX = [16.0, 4.0, 52.0, 36.0]
HOLE_AREAS = (1, 8)
HYPER_OUT = "sam_mask_decoder.output_hypernetworks_mlps."
HYPER_GAIN = 4.0  # last layer of the hypernetwork MLPs: mask logits with a spread of a few units
OBJ_SCORE_BIAS = 1.0  # last bias of pred_obj_score_head: object present (score > 0) on every frame

MODEL_CFG = {
    "_target_": "sam2.modeling.sam2_base.SAM2Base",
    "image_encoder": {
        "_target_": "sam2.modeling.backbones.image_encoder.ImageEncoder",
        "scalp": 1,
        "trunk": {
            "_target_": "sam2.modeling.backbones.hieradet.Hiera",
            "embed_dim": E,
            "num_heads": 1,
            "stages": [1, 2, 3, 1],
            "global_att_blocks": [5],
            "window_spec": [8, 4, 4, 2],
            "window_pos_embed_bkg_spatial_size": [7, 7],
        },
        "neck": {
            "_target_": "sam2.modeling.backbones.image_encoder.FpnNeck",
            "position_encoding": {
                "_target_": "sam2.modeling.position_encoding.PositionEmbeddingSine",
                "num_pos_feats": D,
                "normalize": True,
                "scale": None,
                "temperature": 10000,
            },
            "d_model": D,
            "backbone_channel_list": [8 * E, 4 * E, 2 * E, E],
            "fpn_top_down_levels": [2, 3],
            "fpn_interp_model": "nearest",
        },
    },
    "memory_attention": {
        "_target_": "sam2.modeling.memory_attention.MemoryAttention",
        "d_model": D,
        "pos_enc_at_input": True,
        "layer": {
            "_target_": "sam2.modeling.memory_attention.MemoryAttentionLayer",
            "activation": "relu",
            "dim_feedforward": 2 * D,
            "dropout": 0.1,
            "pos_enc_at_attn": False,
            "self_attention": {
                "_target_": "sam2.modeling.sam.transformer.RoPEAttention",
                "rope_theta": 10000.0,
                "feat_sizes": [S // 16, S // 16],
                "embedding_dim": D,
                "num_heads": 1,
                "downsample_rate": 1,
                "dropout": 0.1,
            },
            "d_model": D,
            "pos_enc_at_cross_attn_keys": True,
            "pos_enc_at_cross_attn_queries": False,
            "cross_attention": {
                "_target_": "sam2.modeling.sam.transformer.RoPEAttention",
                "rope_theta": 10000.0,
                "feat_sizes": [S // 16, S // 16],
                "rope_k_repeat": True,
                "embedding_dim": D,
                "num_heads": 1,
                "downsample_rate": 1,
                "dropout": 0.1,
                "kv_in_dim": MEM,
            },
        },
        "num_layers": 2,
    },
    "memory_encoder": {
        "_target_": "sam2.modeling.memory_encoder.MemoryEncoder",
        "out_dim": MEM,
        "in_dim": D,
        "position_encoding": {
            "_target_": "sam2.modeling.position_encoding.PositionEmbeddingSine",
            "num_pos_feats": MEM,
            "normalize": True,
            "scale": None,
            "temperature": 10000,
        },
        "mask_downsampler": {
            "_target_": "sam2.modeling.memory_encoder.MaskDownSampler",
            "embed_dim": D,
            "kernel_size": 4,
            "stride": 4,
            "padding": 0,
            "total_stride": 16,
        },
        "fuser": {
            "_target_": "sam2.modeling.memory_encoder.Fuser",
            "layer": {
                "_target_": "sam2.modeling.memory_encoder.CXBlock",
                "dim": D,
                "kernel_size": 7,
                "padding": 3,
                "layer_scale_init_value": 1e-6,
                "use_dwconv": True,
            },
            "num_layers": 2,
        },
    },
    "num_maskmem": 7,
    "image_size": S,
    "sigmoid_scale_for_mem_enc": 20.0,
    "sigmoid_bias_for_mem_enc": -10.0,
    "use_mask_input_as_output_without_sam": True,
    "directly_add_no_mem_embed": True,
    "no_obj_embed_spatial": True,
    "use_high_res_features_in_sam": True,
    "multimask_output_in_sam": True,
    "iou_prediction_use_sigmoid": True,
    "use_obj_ptrs_in_encoder": True,
    "add_tpos_enc_to_obj_ptrs": True,
    "proj_tpos_enc_in_obj_ptrs": True,
    "use_signed_tpos_enc_to_obj_ptrs": True,
    "only_obj_ptrs_in_the_past_for_eval": True,
    "pred_obj_scores": True,
    "pred_obj_scores_mlp": True,
    "fixed_no_obj_ptr": True,
    "multimask_output_for_tracking": True,
    "use_multimask_token_for_obj_ptr": True,
    "multimask_min_pt_num": 0,
    "multimask_max_pt_num": 1,
    "use_mlp_for_obj_ptr_proj": True,
    "compile_image_encoder": False,
}

# What build_sam2_video_predictor(apply_postprocessing=True) adds (sam2 1.1.0, build_sam.py);
# checked against the built model below.
BUILD_OVERRIDES = [
    "++model._target_=sam2.sam2_video_predictor.SAM2VideoPredictor",
    "++model.sam_mask_decoder_extra_args.dynamic_multimask_via_stability=true",
    "++model.sam_mask_decoder_extra_args.dynamic_multimask_stability_delta=0.05",
    "++model.sam_mask_decoder_extra_args.dynamic_multimask_stability_thresh=0.98",
    "++model.binarize_mask_from_pts_for_mem_enc=true",
    "++model.fill_hole_area=8",
]
YAML_NAME = "sam2.1_hiera_golden.yaml"


# SAM 2.0 (configs/sam2/*.yaml) differs from 2.1 only in these SAM2Base options; its
# checkpoints then lack no_obj_embed_spatial and obj_ptr_tpos_proj.*.
V20_FLAGS = {
    "no_obj_embed_spatial": False,
    "add_tpos_enc_to_obj_ptrs": False,
    "proj_tpos_enc_in_obj_ptrs": False,
    "use_signed_tpos_enc_to_obj_ptrs": False,
}
MODEL_CFG_V20 = {**MODEL_CFG, **V20_FLAGS}
YAML_NAME_V20 = "sam2_hiera_golden.yaml"
V20_ABSENT_KEYS = {"no_obj_embed_spatial", "obj_ptr_tpos_proj.weight", "obj_ptr_tpos_proj.bias"}
V20_PREFIXES = ("add", "fwd.f3", "fwd.f4", "fwd.f5", "bwd.f1", "bwd.f0")


def model_yaml(model_cfg=MODEL_CFG):
    return "# @package _global_\n\n" + OmegaConf.to_yaml(OmegaConf.create({"model": model_cfg}))


def build_model(tmp, model_cfg=MODEL_CFG, yaml_name=YAML_NAME):
    """SAM2VideoPredictor from the yaml via sam2's own builder, heads shrunk, fill_hole_area 0."""
    cfg_dir = Path(tmp) / "configs"
    cfg_dir.mkdir(exist_ok=True)
    (cfg_dir / yaml_name).write_text(model_yaml(model_cfg))
    GlobalHydra.instance().clear()
    initialize_config_dir(config_dir=str(cfg_dir), version_base="1.2")
    model = build_sam2_video_predictor(yaml_name, ckpt_path=None, device="cpu", mode="eval")
    dec = model.sam_mask_decoder
    assert model.fill_hole_area == 8 and model.binarize_mask_from_pts_for_mem_enc
    assert dec.dynamic_multimask_via_stability
    assert dec.dynamic_multimask_stability_delta == 0.05
    assert dec.dynamic_multimask_stability_thresh == 0.98
    assert type(model).__name__ == "SAM2VideoPredictor"
    model.fill_hole_area = 0
    t = dec.transformer
    dec.transformer = TwoWayTransformer(depth=t.depth, embedding_dim=D, num_heads=t.num_heads, mlp_dim=MLP_DIM)
    dec.iou_prediction_head = MLP(D, IOU_HIDDEN, dec.num_mask_tokens, 3, sigmoid_output=True)
    composed = compose(config_name=yaml_name, overrides=BUILD_OVERRIDES)
    OmegaConf.resolve(composed)
    return model.eval(), OmegaConf.to_container(composed)


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)

    def randn(shape):
        return torch.randn(shape, generator=g)

    owner = {}
    for mname, m in model.named_modules():
        for pname, _ in m.named_parameters(recurse=False):
            owner[f"{mname}.{pname}" if mname else pname] = (m, pname)
    with torch.no_grad():
        for name, p in model.named_parameters():
            m, pname = owner[name]
            if isinstance(m, (nn.LayerNorm, LayerNorm2d)):
                p.copy_(1 + 0.1 * randn(p.shape) if pname == "weight" else 0.05 * randn(p.shape))
            elif isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
                if pname == "bias":
                    p.copy_(0.05 * randn(p.shape))
                else:
                    if isinstance(m, nn.Linear):
                        fan_in = m.in_features
                    elif isinstance(m, nn.ConvTranspose2d):
                        fan_in = m.in_channels
                    else:
                        fan_in = m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
                    gain = HYPER_GAIN if name.startswith(HYPER_OUT) and name.endswith(".layers.2.weight") else 1.0
                    p.copy_(gain * randn(p.shape) / math.sqrt(fan_in))
            elif isinstance(m, nn.Embedding):
                std = 0.5 if ".point_embeddings." in name else 1.0
                p.copy_(std * randn(p.shape))
            elif isinstance(m, CXBlock) and pname == "gamma":
                p.copy_(0.5 + 0.1 * randn(p.shape))
            else:
                p.copy_(0.2 * randn(p.shape))
        model.sam_mask_decoder.pred_obj_score_head.layers[-1].bias.fill_(OBJ_SCORE_BIAS)
        for name, b in model.named_buffers():
            assert name.endswith("positional_encoding_gaussian_matrix"), name
            b.copy_(randn(b.shape))


# ---------------------------------------------------------------------------------- frames


def read_frames(video):
    """Frames SOURCE_FRAMES of `video`, scaled to VIDEO_W x VIDEO_H by ffmpeg, uint8 [N,H,W,3]."""
    sel = "+".join(f"eq(n\\,{i})" for i in SOURCE_FRAMES)
    cmd = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(video),
        "-vf", f"select='{sel}',scale={VIDEO_W}:{VIDEO_H}:flags=area",
        "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "-",
    ]
    raw = subprocess.run(cmd, check=True, capture_output=True).stdout
    frames = np.frombuffer(raw, np.uint8).reshape(-1, VIDEO_H, VIDEO_W, 3)
    assert frames.shape[0] == len(SOURCE_FRAMES), frames.shape
    return frames


def write_jpeg_dir(frames, path):
    """JPEG folder as sam2's loader wants it; returns what Pillow decodes and resizes."""
    path.mkdir(parents=True)
    decoded, resized = [], []
    for i, f in enumerate(frames):
        p = path / f"{i:05d}.jpg"
        Image.fromarray(f).save(p, quality=95)
        img = Image.open(p)
        decoded.append(np.array(img.convert("RGB")))
        resized.append(np.array(img.convert("RGB").resize((S, S))))
    return np.stack(decoded), np.stack(resized)


def preprocess(resized_u8):
    """sam2's arithmetic on the resized pixels: f64 /255 -> f32, - mean, / std in f32."""
    x = torch.from_numpy(resized_u8 / 255.0).permute(0, 3, 1, 2).to(torch.float32)
    mean = torch.tensor((0.485, 0.456, 0.406), dtype=torch.float32)[:, None, None]
    std = torch.tensor((0.229, 0.224, 0.225), dtype=torch.float32)[:, None, None]
    return (x - mean) / std


# ---------------------------------------------------------------------------- recording


def snap(t):
    """A plain CPU copy (bf16 as f32), outside inference mode's bookkeeping."""
    t = t.detach().cpu()
    if t.dtype in (torch.bfloat16, torch.float16):
        t = t.float()
    return torch.from_numpy(t.numpy().copy())


class Recorder:
    """Wraps model methods (on the instance) to record intermediates under a current prefix."""

    def __init__(self, model):
        self.model = model
        self.out = {}
        self.prefix = None
        self.patched = []

    def put(self, key, t):
        k = f"{self.prefix}.{key}"
        assert k not in self.out, k
        self.out[k] = snap(t) if isinstance(t, torch.Tensor) else t

    def wrap(self, obj, name, fn):
        orig = getattr(obj, name)
        setattr(obj, name, lambda *a, **kw: fn(orig, *a, **kw))
        self.patched.append((obj, name))

    def unwrap(self):
        for obj, name in self.patched:
            delattr(obj, name)
        self.patched = []


def stability(dec, logits):
    return dec._get_stability_scores(logits)


def decoder_margins(dec, masks, iou_pred):
    """How far the single/multi-mask choices of the mask decoder are from flipping."""
    single = masks[:, 0:1].flatten()
    multi = torch.sort(iou_pred[0, 1:], descending=True)
    return {
        "single_mask_stability": float(stability(dec, masks[:, 0:1])),
        "stability_thresh": dec.dynamic_multimask_stability_thresh,
        "single_mask_min_abs_dist_to_pm_delta": float(torch.minimum((single - 0.05).abs(), (single + 0.05).abs()).min()),
        "best_multimask_token": int(multi.indices[0]) + 1,
        "multimask_iou_top2_gap": float(multi.values[0] - multi.values[1]),
    }


def encode_io(model, image):
    """Image encoder intermediates and outputs for image [1,3,S,S]."""
    out = {"image": image.clone()}
    trunk = model.image_encoder.trunk
    hooks = [trunk.patch_embed.register_forward_hook(lambda m, i, o: out.__setitem__("trunk.patch_embed", snap(o)))]
    for i, blk in enumerate(trunk.blocks):
        hooks.append(blk.register_forward_hook(lambda m, inp, o, i=i: out.__setitem__(f"trunk.blocks.{i}", snap(o))))
        if i == 0:
            hooks.append(blk.register_forward_pre_hook(lambda m, inp: out.__setitem__("trunk.pos_embed_added", snap(inp[0]))))
    hooks.append(trunk.register_forward_hook(
        lambda m, i, o: out.update({f"trunk.stage{k + 1}": snap(x) for k, x in enumerate(o)})))
    hooks.append(model.image_encoder.neck.register_forward_hook(
        lambda m, i, o: out.update({f"neck.backbone_fpn.{k}": snap(x) for k, x in enumerate(o[0])})))
    with torch.inference_mode():
        backbone_out = model.forward_image(image)
        _, vision_feats, vision_pos_embeds, feat_sizes = model._prepare_backbone_features(backbone_out)
        out["trunk.pos_embed"] = snap(trunk._get_pos_embed(out["trunk.patch_embed"].shape[1:3]))
    for h in hooks:
        h.remove()
    for k in range(3):
        out[f"vision_pos_enc.{k}"] = snap(backbone_out["vision_pos_enc"][k])
        out[f"vision_feats.{k}"] = snap(vision_feats[k])
    # forward_image's backbone_fpn 0/1 (after conv_s0/conv_s1) and 2 are vision_feats.0/1/2
    # in NCHW: vision_feats.k = backbone_fpn[k].flatten(2).permute(2, 0, 1)
    out["vision_pos_embeds.2"] = snap(vision_pos_embeds[2])
    out["feat_sizes"] = torch.tensor(feat_sizes, dtype=torch.int32)
    # sanity: the Hiera pos-embed step and that trunk stage 1 is block 0
    assert torch.equal(out["trunk.pos_embed_added"], out["trunk.patch_embed"] + out["trunk.pos_embed"])
    return out


def record_sam_heads(rec):
    """Record _forward_sam_heads, the prompt encoder and the mask decoder under rec.prefix."""
    model = rec.model
    dec = model.sam_mask_decoder

    def sam_heads(orig, *a, **kw):
        res = orig(*a, **kw)
        names = ["low_res_multimasks", "high_res_multimasks", "ious", "low_res_masks", "high_res_masks",
                 "obj_ptr", "object_score_logits"]
        for n, t in zip(names, res):
            if n in rec.keep:
                rec.put(n, t)
        rec.put("multimask_output", torch.tensor(bool(kw.get("multimask_output", False)), dtype=torch.uint8))
        return res

    def prompt_enc(orig, *a, **kw):
        sparse, dense = orig(*a, **kw)
        if "sparse_embeddings" in rec.keep:
            rec.put("sparse_embeddings", sparse)
            rec.put("dense_embeddings", dense)
        return sparse, dense

    def predict_masks(orig, *a, **kw):
        res = orig(*a, **kw)
        if "decoder.masks" in rec.keep and not rec.prefix.startswith(("fwd", "bwd")):
            for n, t in zip(["decoder.masks", "decoder.iou_pred", "decoder.mask_tokens_out",
                             "decoder.object_score_logits"], res):
                rec.put(n, t)
            rec.put("decoder.single_mask_stability", stability(dec, res[0][:, 0:1]))
        rec.last_decoder = res
        return res

    def dec_forward(orig, *a, **kw):
        res = orig(*a, **kw)
        if "decoder.out.masks" in rec.keep:
            for n, t in zip(["decoder.out.masks", "decoder.out.iou_pred", "decoder.out.sam_tokens_out",
                             "decoder.out.object_score_logits"], res):
                rec.put(n, t)
        return res

    rec.wrap(model, "_forward_sam_heads", sam_heads)
    rec.wrap(model.sam_prompt_encoder, "forward", prompt_enc)
    rec.wrap(dec, "predict_masks", predict_masks)
    rec.wrap(dec, "forward", dec_forward)


def prompt_io(model, jpeg_dir):
    rec = Recorder(model)
    rec.prefix = "prompt"
    rec.keep = {"low_res_multimasks", "ious", "low_res_masks", "obj_ptr", "object_score_logits",
                "sparse_embeddings", "decoder.masks", "decoder.out.masks"}
    record_sam_heads(rec)
    state = model.init_state(str(jpeg_dir))
    rec.put("image", state["images"][0:1])
    _, obj_ids, video_res = model.add_new_points_or_box(
        state, frame_idx=0, obj_id=1, points=PROMPT_POINTS, labels=PROMPT_LABELS, box=PROMPT_BOX)
    rec.unwrap()
    pin = state["point_inputs_per_obj"][0][0]
    rec.put("point_coords", pin["point_coords"])
    rec.put("point_labels", pin["point_labels"].to(torch.int32))
    rec.put("dense_pe", model.sam_prompt_encoder.get_dense_pe())
    rec.put("pred_masks", state["temp_output_dict_per_obj"][0]["cond_frame_outputs"][0]["pred_masks"])
    rec.put("video_res_masks", video_res)
    assert obj_ids == [1]
    rec.margins = decoder_margins(model.sam_mask_decoder, rec.out["prompt.decoder.masks"],
                                  rec.out["prompt.decoder.iou_pred"])
    rec.margins["object_score_logit"] = float(rec.out["prompt.object_score_logits"].flatten()[0])
    return rec.out, rec.margins


def video_io(model, jpeg_dir):
    rec = Recorder(model)
    rec.keep = {"low_res_multimasks", "ious", "obj_ptr", "object_score_logits", "decoder.masks"}
    record_sam_heads(rec)
    margins = {}

    def track_step(orig, *a, **kw):
        res = orig(*a, **kw)
        if rec.prefix.startswith(("fwd", "bwd")):
            rec.put("pred_masks", res["pred_masks"])
        return res

    def mem_cond(orig, *a, **kw):
        res = orig(*a, **kw)
        if rec.prefix.startswith(("fwd", "bwd", "add")):
            rec.put("pix_feat_with_mem", res)
        return res

    def mem_attn(orig, *a, **kw):
        if rec.prefix in ("fwd.f5", "bwd.f0"):
            rec.put("memory", kw["memory"])
            rec.put("memory_pos", kw["memory_pos"])
            rec.put("num_obj_ptr_tokens", torch.tensor(kw["num_obj_ptr_tokens"], dtype=torch.int32))
            rec.put("memory_attention_out", orig(*a, **kw))
            return rec.out[f"{rec.prefix}.memory_attention_out"].clone()
        return orig(*a, **kw)

    def enc_mem(orig, *a, **kw):
        feats, pos = orig(*a, **kw)
        rec.put("maskmem_features", feats)
        rec.put("maskmem_features_bf16", feats.to(torch.bfloat16))
        hr = kw["pred_masks_high_res"]
        binar = model.binarize_mask_from_pts_for_mem_enc and kw["is_mask_from_pts"]
        margins[f"{rec.prefix}.mem_input"] = {
            "binarized": bool(binar),
            "min_abs_high_res_logit": float(hr[hr > -1000].abs().min()) if (hr > -1000).any() else None,
        }
        if "maskmem_pos_enc" not in rec.out:
            rec.out["maskmem_pos_enc"] = snap(pos[0])
        return feats, pos

    rec.wrap(model, "track_step", track_step)
    rec.wrap(model, "_prepare_memory_conditioned_features", mem_cond)
    rec.wrap(model.memory_attention, "forward", mem_attn)
    rec.wrap(model, "_encode_new_memory", enc_mem)

    state = model.init_state(str(jpeg_dir))
    rec.out["images"] = snap(state["images"])
    rec.prefix = "add"
    _, _, video_res = model.add_new_points_or_box(
        state, frame_idx=VIDEO_FRAME, obj_id=1, points=VIDEO_POINTS, labels=VIDEO_LABELS, box=VIDEO_BOX)
    pin = state["point_inputs_per_obj"][0][VIDEO_FRAME]
    rec.put("point_coords", pin["point_coords"])
    rec.put("point_labels", pin["point_labels"].to(torch.int32))
    rec.put("video_res_masks", video_res)
    rec.put("pred_masks", state["temp_output_dict_per_obj"][0]["cond_frame_outputs"][VIDEO_FRAME]["pred_masks"])

    order = {}
    for direction, reverse in (("fwd", False), ("bwd", True)):
        rec.prefix = "cond" if direction == "fwd" else "bwd.preflight"  # preflight memory encoder
        gen = model.propagate_in_video(state, reverse=reverse)
        order[direction] = []
        while True:
            # the next frame is processed inside next(); name it before
            nxt = None if not order[direction] else (order[direction][-1] + (-1 if reverse else 1))
            if nxt is not None:
                rec.prefix = f"{direction}.f{nxt}"
            try:
                frame_idx, obj_ids, masks = next(gen)
            except StopIteration:
                break
            if nxt is not None:
                assert frame_idx == nxt
            order[direction].append(frame_idx)
            if frame_idx == VIDEO_FRAME:  # the stored conditioning output, as add_new_points_or_box gave it
                assert torch.equal(snap(masks), rec.out["add.video_res_masks"])
            else:
                rec.out[f"{direction}.f{frame_idx}.video_res_masks"] = snap(masks)
    rec.unwrap()
    assert order == {"fwd": [2, 3, 4, 5], "bwd": [2, 1, 0]}, order
    # the stored (bf16) memories are what the state machine used
    for t in (3, 4, 5):
        stored = state["output_dict_per_obj"][0]["non_cond_frame_outputs"][t]["maskmem_features"]
        assert stored.dtype == torch.bfloat16 and torch.equal(snap(stored), rec.out[f"fwd.f{t}.maskmem_features_bf16"])
    cond = state["output_dict_per_obj"][0]["cond_frame_outputs"][VIDEO_FRAME]
    assert torch.equal(snap(cond["maskmem_features"]), rec.out["cond.maskmem_features_bf16"])

    # margins of the discrete decisions
    dec = model.sam_mask_decoder
    for k, v in list(rec.out.items()):
        if k.endswith(".object_score_logits") and ".decoder." not in k:
            margins.setdefault(k.rsplit(".", 1)[0], {})["object_score_logit"] = float(v.flatten()[0])
        if k.endswith(".ious") and v.shape[-1] == 3:
            s = torch.sort(v.flatten(), descending=True).values
            margins.setdefault(k.rsplit(".", 1)[0], {})["iou_top2_gap"] = float(s[0] - s[1])
        if k.endswith(".decoder.masks"):
            pre = k.rsplit(".", 2)[0]
            margins.setdefault(pre, {}).update(decoder_margins(dec, v, rec.out[f"{pre}.decoder.iou_pred"]))
        if k.endswith("maskmem_features"):
            # how many values lie within 1e-5 (relative) of a bf16 rounding tie, where a port's
            # f32 rounding noise could flip the stored bf16 value by one bf16 ulp
            f = v.flatten().double()
            ulp = torch.exp2(torch.floor(torch.log2(f.abs().clamp_min(1e-30))) - 7)
            tie_dist = (ulp / 2 - (f - f.float().to(torch.bfloat16).double()).abs()).abs()
            margins.setdefault(k.rsplit(".", 1)[0], {})["maskmem_values_near_bf16_tie"] = int(
                (tie_dist < 1e-5 * f.abs()).sum())
    return rec.out, margins, state


# ---------------------------------------------------------------------------- hole filling


def cc8(bg):
    """8-connected components of a 2D bool array: labels (1..K, 0 off) and per-pixel areas."""
    h, w = bg.shape
    labels = np.zeros((h, w), np.int32)
    areas = np.zeros((h, w), np.int32)
    k = 0
    for y in range(h):
        for x in range(w):
            if bg[y, x] and not labels[y, x]:
                k += 1
                labels[y, x] = k
                comp, queue = [], deque([(y, x)])
                while queue:
                    cy, cx = queue.popleft()
                    comp.append((cy, cx))
                    for dy in (-1, 0, 1):
                        for dx in (-1, 0, 1):
                            ny, nx = cy + dy, cx + dx
                            if 0 <= ny < h and 0 <= nx < w and bg[ny, nx] and not labels[ny, nx]:
                                labels[ny, nx] = k
                                queue.append((ny, nx))
                for cy, cx in comp:
                    areas[cy, cx] = len(comp)
    return labels, areas


def bke_emulation(img):
    """Sequential emulation of sam2/csrc/connected_components.cu (labels as the kernel gives them)."""
    h, w = img.shape
    assert h % 2 == 0 and w % 2 == 0
    flat = img.astype(np.uint8).flatten()
    label = np.zeros(h * w, np.int64)

    def find(n):
        while label[n] != n:
            n = label[n]
        return n

    def union(a, b):
        a, b = find(a), find(b)
        if a < b:
            label[b] = a
        elif b < a:
            label[a] = b

    for row in range(0, h, 2):
        for col in range(0, w, 2):
            label[row * w + col] = row * w + col
    W = w
    for row in range(0, h, 2):
        for col in range(0, w, 2):
            idx = row * W + col
            P = 0
            if flat[idx]:
                P |= 0x777
            if row + 1 < h and flat[idx + W]:
                P |= 0x777 << 4
            if col + 1 < w and flat[idx + 1]:
                P |= 0x777 << 1
            if col == 0:
                P &= 0xEEEE
            if col + 1 >= w:
                P &= 0x3333
            elif col + 2 >= w:
                P &= 0x7777
            if row == 0:
                P &= 0xFFF0
            if row + 1 >= h:
                P &= 0xFF
            bit = lambda p: (P >> p) & 1  # noqa: E731
            if P > 0:
                if bit(0) and flat[idx - W - 1]:
                    union(idx, idx - 2 * W - 2)
                if (bit(1) and flat[idx - W]) or (bit(2) and flat[idx - W + 1]):
                    union(idx, idx - 2 * W)
                if bit(3) and flat[idx + 2 - W]:
                    union(idx, idx - 2 * W + 2)
                if (bit(4) and flat[idx - 1]) or (bit(8) and flat[idx + W - 1]):
                    union(idx, idx - 2)
    out = np.zeros(h * w, np.int64)
    for row in range(0, h, 2):
        for col in range(0, w, 2):
            idx = row * W + col
            y = find(idx) + 1
            for j in (idx, idx + 1, idx + W, idx + W + 1):
                out[j] = y if flat[j] else 0
    return out.reshape(h, w)


def same_partition(a, b):
    pairs = set(zip(a.flatten().tolist(), b.flatten().tolist()))
    return len(pairs) == len({p[0] for p in pairs}) == len({p[1] for p in pairs})


def numpy_connected_components(mask):
    m = mask.to(torch.uint8).numpy()
    labels = np.zeros(m.shape, np.int32)
    areas = np.zeros(m.shape, np.int32)
    for n in range(m.shape[0]):
        labels[n, 0], areas[n, 0] = cc8(m[n, 0].astype(bool))
    return torch.from_numpy(labels), torch.from_numpy(areas)


def hole_masks():
    """Hand-made [N,1,H,W] logits: holes of areas 1, 4, 8, 9, diagonal links, border pieces, sprinkles."""
    g = torch.Generator().manual_seed(SEED + 7)
    a = torch.full((24, 24), -3.0)
    a[2:20, 2:22] = 2.5  # big foreground blob (rows 2-19, cols 2-21) in an outer background
    a[4, 4] = -1.0  # hole of area 1
    a[4:6, 8:10] = -0.5  # hole of area 4
    a[8:10, 4:8] = -2.0  # hole of area 8 (== max_area 8: filled)
    a[13:16, 4:7] = -1.5  # hole of area 9 (> 8: kept)
    a[12, 12] = 0.0  # exact 0 counts as background: area 1 ...
    a[13, 13] = -0.2  # ... joined diagonally with this one: one component of area 2
    # two 4-connected 5-pixel pieces touching only at a corner ((6, 15)-(7, 16)):
    # one 8-connected component of area 10, kept at max_area 8 (4-connectivity would fill both)
    a[4:6, 14:16] = -1.0
    a[6, 15] = -1.0
    a[7, 16] = -1.0
    a[7:9, 17:19] = -1.0
    # a background pixel whose 4 neighbours are foreground but whose diagonals (20, 11) and
    # (20, 13) are the outer background: part of the outer background, not a hole
    a[20, 12] = 2.5
    a[19, 12] = -1.0
    a[17, 10] = -1.0  # another hole of area 1
    a[22, 3] = 1.5  # sprinkles (small foreground islands): never removed by 1.1.0
    a[0, 23] = 0.7
    a[21:23, 8:10] = 3.0
    b = torch.full((24, 24), 1.0) + 0.5 * torch.randn((24, 24), generator=g)
    b[0:2, 0:3] = -1.0  # background in the corner: area 6, filled (no border rule)
    b[22:24, 20:24] = -2.0  # border background of area 8
    b[10, 10] = -1.0
    b[11, 11] = -1.0  # diagonal pair
    b[10, 11] = 1.0
    b[11, 10] = 1.0
    c = 2.0 * torch.randn((24, 24), generator=g)  # noise: many components of all sizes
    d = torch.full((16, 20), -1024.0)  # NO_OBJ_SCORE everywhere: one component, kept
    d2 = torch.randn((16, 20), generator=g) - 0.8
    return [torch.stack([a, b, c])[:, None], torch.stack([d, d2])[:, None]]


def fill_holes_io():
    out = {}
    orig = sam2_misc.get_connected_components
    sam2_misc.get_connected_components = numpy_connected_components
    try:
        for i, mask in enumerate(hole_masks()):
            labels, areas = numpy_connected_components(mask <= 0)
            for n in range(mask.shape[0]):
                emu = bke_emulation((mask[n, 0] <= 0).numpy())
                assert same_partition(emu, labels[n, 0].numpy()), "CUDA-kernel emulation disagrees"
            out[f"case{i}.mask"] = mask.clone()
            out[f"case{i}.areas_bg"] = areas
            for a in HOLE_AREAS:
                out[f"case{i}.filled_{a}"] = sam2_misc.fill_holes_in_mask_scores(mask.clone(), a)
    finally:
        sam2_misc.get_connected_components = orig
    # spot checks of the rule
    f8, f1 = out["case0.filled_8"][0, 0], out["case0.filled_1"][0, 0]
    fill = torch.tensor(0.1)
    assert f8[8, 4] == fill and f8[13, 4] == -1.5 and f8[12, 12] == fill and f8[13, 13] == fill
    assert f8[4, 14] == -1.0 and f8[8, 18] == -1.0 and f8[19, 12] == -1.0 and f8[22, 3] == 1.5
    assert f1[4, 4] == fill and f1[12, 12] == 0.0 and f1[4, 8] == -0.5
    return out


# ---------------------------------------------------------------------------------- main


def stats(name, t):
    t = t.float()
    std = t.std().item() if t.numel() > 1 else 0.0
    return f"{name}: shape={list(t.shape)} mean={t.mean():.4f} std={std:.4f} min={t.min():.4f} max={t.max():.4f}"


def compare(a, b):
    worst_abs, worst_rel = 0.0, 0.0
    for k in a:
        x, y = a[k].double(), b[k].double()
        worst_abs = max(worst_abs, float((x - y).abs().max()) if x.numel() else 0.0)
        n = float(x.norm())
        if n > 0:
            worst_rel = max(worst_rel, float((x - y).norm()) / n)
    return worst_abs, worst_rel


def common_meta():
    return {
        "script": "scripts/golden/sam2_goldens.py",
        "torch": torch.__version__,
        "sam2": "1.1.0",
        "numpy": np.__version__,
        "pillow": PIL.__version__,
        "hydra": hydra.__version__,
        "imageio_ffmpeg": imageio_ffmpeg.__version__,
        "safetensors": safetensors.__version__,
        "seed": str(SEED),
        "image_size": str(S),
        "video_width": str(VIDEO_W),
        "video_height": str(VIDEO_H),
        "fill_hole_area": "0",
    }


def v20_video_keys(video):
    """The subset of video_io's keys that sam2_v20_video_io keeps (what the Rust test reads)."""
    keep = ["add.point_coords", "add.point_labels", "cond.maskmem_features_bf16"]
    for p in V20_PREFIXES:
        keep += [f"{p}.pred_masks", f"{p}.obj_ptr", f"{p}.object_score_logits"]
        if p != "add":
            keep.append(f"{p}.maskmem_features_bf16")
    for p in ("fwd.f5", "bwd.f0"):
        keep += [f"{p}.memory", f"{p}.memory_pos", f"{p}.num_obj_ptr_tokens"]
    return {k: video[k] for k in keep}


def write_v20(args):
    """The SAM 2.0 pass: MODEL_CFG with V20_FLAGS, the same seed, init scheme, heads, frames
    and video prompt as the 2.1 model; writes only the sam2_v20_* files."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        keys_v21 = set(build_model(tmp)[0].state_dict())
        model, composed = build_model(tmp, MODEL_CFG_V20, YAML_NAME_V20)
        assert model.no_obj_embed_spatial is None and isinstance(model.obj_ptr_tpos_proj, nn.Identity)
        assert not (model.add_tpos_enc_to_obj_ptrs or model.proj_tpos_enc_in_obj_ptrs
                    or model.use_signed_tpos_enc_to_obj_ptrs)
        randomize(model, SEED)
        state_dict = {k: v.detach().clone().float().contiguous() for k, v in model.state_dict().items()}
        assert set(state_dict) == keys_v21 - V20_ABSENT_KEYS, set(state_dict) ^ (keys_v21 - V20_ABSENT_KEYS)

        frames = read_frames(args.video)
        jpg = tmp / "video_jpg"
        _, v_res = write_jpeg_dir(frames, jpg)
        v21_video = args.out / "sam2_video_io.safetensors"
        if v21_video.exists():  # the same frames as the 2.1 fixture
            assert np.array_equal(load_file(v21_video)["frames_resized_u8"].numpy(), v_res)
        with torch.inference_mode():
            video, margins, _ = video_io(model, jpg)
        assert torch.equal(preprocess(v_res), video.pop("images"))
        # SAM 2.0: the object pointers' positions are zeros
        for p in ("fwd.f5", "bwd.f0"):
            n = int(video[f"{p}.num_obj_ptr_tokens"])
            assert n > 0 and not video[f"{p}.memory_pos"][-n:].any(), p

        # run 2: rebuilt, weights read back from their safetensors, 1 thread; run 3: run 2's
        # model with every weight times (1 + 1e-6 N(0,1)) (as for the 2.1 files)
        weights_tmp = tmp / "weights.safetensors"
        save_file(state_dict, weights_tmp)
        model2, _ = build_model(tmp, MODEL_CFG_V20, YAML_NAME_V20)
        missing, unexpected = model2.load_state_dict(load_file(weights_tmp))
        assert not missing and not unexpected
        default_threads = torch.get_num_threads()
        torch.set_num_threads(1)
        with torch.inference_mode():
            video2, _, _ = video_io(model2, jpg)
        torch.set_num_threads(default_threads)
        g = torch.Generator().manual_seed(SEED + 1)
        with torch.no_grad():
            for p in model2.parameters():
                p.mul_(1 + 1e-6 * torch.randn(p.shape, generator=g))
        with torch.inference_mode():
            video3, _, _ = video_io(model2, jpg)

    out = v20_video_keys(video)
    keys = [k for k in out if out[k].is_floating_point()]
    rerun = compare({k: out[k] for k in keys}, {k: video2[k] for k in keys})
    perturbed = compare({k: out[k] for k in keys}, {k: video3[k] for k in keys})
    print(f"v20 video: run1 vs run2 (rebuilt, 1 thread): max|diff|={rerun[0]:.3e} max rel-L2={rerun[1]:.3e}; "
          f"weights x (1 + 1e-6 n): max|diff|={perturbed[0]:.3e} max rel-L2={perturbed[1]:.3e}")
    out["frames_resized_u8"] = torch.from_numpy(v_res.copy())
    out["points"] = torch.tensor(VIDEO_POINTS)
    out["labels"] = torch.tensor(VIDEO_LABELS, dtype=torch.int32)
    out["box"] = torch.tensor(VIDEO_BOX)

    common = common_meta()
    variant = {"variant": "SAM 2.0: " + ", ".join(f"{k}={v}" for k, v in V20_FLAGS.items())}
    meta = {
        **common, **variant,
        "rerun_max_abs_diff": f"{rerun[0]:.6e}",
        "rerun_max_rel_l2": f"{rerun[1]:.6e}",
        "rerun": "run 2: model rebuilt, weights loaded from sam2_v20_weights.safetensors, torch.set_num_threads(1)",
        "perturbed_max_abs_diff": f"{perturbed[0]:.6e}",
        "perturbed_max_rel_l2": f"{perturbed[1]:.6e}",
        "perturbed": "run 3: run 2's model with every weight times (1 + 1e-6 N(0,1)), max over keys",
        "video_frame_prompted": str(VIDEO_FRAME),
        "source_frames": json.dumps(SOURCE_FRAMES),
        "call_order": "init_state(dir); add_new_points_or_box(state, frame_idx=2, obj_id=1, points, labels, box); "
                      "list(propagate_in_video(state)) -> 2,3,4,5; list(propagate_in_video(state, reverse=True)) -> 2,1,0",
        "margins": json.dumps(margins),
    }
    save_file({k: v.contiguous() for k, v in out.items()}, args.out / "sam2_v20_video_io.safetensors", meta)
    save_file(state_dict, args.out / "sam2_v20_weights.safetensors", {**common, **variant})
    void_config = dict(composed["model"], sam_heads={"mlp_dim": MLP_DIM, "iou_head_hidden_dim": IOU_HIDDEN})
    (args.out / "sam2_v20_void_config.json").write_text(json.dumps(void_config, indent=1) + "\n")
    for k, v in out.items():
        if v.is_floating_point() and ("masks" in k or "logits" in k):
            print(stats(f"v20:{k}", v))
    print("v20 margins:", json.dumps(margins, indent=1))
    for name in ("sam2_v20_weights.safetensors", "sam2_v20_void_config.json", "sam2_v20_video_io.safetensors"):
        print(f"{args.out / name}: {(args.out / name).stat().st_size} bytes")


def run_all(model, dirs):
    with torch.inference_mode():
        prompt, prompt_margins = prompt_io(model, dirs["prompt"])
        video, margins, _ = video_io(model, dirs["video"])
    enc = encode_io(model, prompt["prompt.image"])
    margins["prompt"] = prompt_margins
    return enc, prompt, video, margins


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "crates/void-models/tests/golden")
    parser.add_argument("--video", type=Path, default=REPO.parent / "shared/samples/BigBen/input_video.mp4")
    parser.add_argument("--only-v20", action="store_true",
                        help="write only the SAM 2.0 files (sam2_v20_*), leaving the SAM 2.1 ones as they are")
    args = parser.parse_args()
    if not args.video.exists():
        args.video = Path("/work/shared/samples/BigBen/input_video.mp4")
    args.out.mkdir(parents=True, exist_ok=True)
    if args.only_v20:
        write_v20(args)
        return
    torch.manual_seed(SEED)
    default_threads = torch.get_num_threads()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model, composed = build_model(tmp)
        randomize(model, SEED)
        state_dict = {k: v.detach().clone().float().contiguous() for k, v in model.state_dict().items()}

        frames = read_frames(args.video)
        dirs = {"prompt": tmp / "prompt_jpg", "video": tmp / "video_jpg"}
        p_dec, p_res = write_jpeg_dir(frames[:1], dirs["prompt"])
        v_dec, v_res = write_jpeg_dir(frames, dirs["video"])
        assert np.array_equal(p_dec[0], v_dec[0])

        enc, prompt, video, margins = run_all(model, dirs)

        # preprocessing is a bit-exact function of the resized pixels
        assert torch.equal(preprocess(p_res), prompt["prompt.image"])
        assert torch.equal(preprocess(v_res), video["images"])

        pt_path = args.out / "sam2_weights.pt"
        torch.save({"model": state_dict}, pt_path)

        # run 2: fresh build, weights from the .pt the way sam2's _load_checkpoint reads them, 1 thread
        model2, _ = build_model(tmp)
        sd = torch.load(pt_path, map_location="cpu", weights_only=True)["model"]
        missing, unexpected = model2.load_state_dict(sd)
        assert not missing and not unexpected
        torch.set_num_threads(1)
        enc2, prompt2, video2, _ = run_all(model2, dirs)
        torch.set_num_threads(default_threads)

        # run 3 (sensitivity): every weight times (1 + 1e-6 n), about the rounding noise of a
        # different f32 summation order; how far do the outputs move?
        g = torch.Generator().manual_seed(SEED + 1)
        with torch.no_grad():
            for p in model2.parameters():
                p.mul_(1 + 1e-6 * torch.randn(p.shape, generator=g))
        enc3, prompt3, video3, _ = run_all(model2, dirs)

    enc.pop("image")  # stored as "image" below (same tensor as prompt.image)
    enc = {"image": prompt["prompt.image"], **enc}
    prompt.pop("prompt.image")
    prompt = {k[len("prompt."):]: v for k, v in prompt.items()}
    prompt2 = {k[len("prompt."):]: v for k, v in prompt2.items() if k != "prompt.image"}
    prompt3 = {k[len("prompt."):]: v for k, v in prompt3.items() if k != "prompt.image"}
    enc2 = {"image": enc["image"], **{k: v for k, v in enc2.items() if k != "image"}}
    enc3 = {"image": enc["image"], **{k: v for k, v in enc3.items() if k != "image"}}
    for v in (video, video2, video3):
        v.pop("images")

    prompt["frame_u8"] = torch.from_numpy(p_dec[0].copy())
    prompt["frame_resized_u8"] = torch.from_numpy(p_res[0].copy())
    prompt["points"] = torch.tensor(PROMPT_POINTS)
    prompt["labels"] = torch.tensor(PROMPT_LABELS, dtype=torch.int32)
    prompt["box"] = torch.tensor(PROMPT_BOX)
    video["frames_u8"] = torch.from_numpy(v_dec.copy())
    video["frames_resized_u8"] = torch.from_numpy(v_res.copy())
    video["points"] = torch.tensor(VIDEO_POINTS)
    video["labels"] = torch.tensor(VIDEO_LABELS, dtype=torch.int32)
    video["box"] = torch.tensor(VIDEO_BOX)
    holes = fill_holes_io()

    common = common_meta()
    results, perturbed = {}, {}
    for name, a, b, c in (("encode", enc, enc2, enc3), ("prompt", prompt, prompt2, prompt3),
                          ("video", video, video2, video3)):
        keys = [k for k in a if k in b and a[k].is_floating_point()]
        assert len(keys) == len([k for k in b if b[k].is_floating_point()]), name
        results[name] = compare({k: a[k] for k in keys}, {k: b[k] for k in keys})
        perturbed[name] = compare({k: a[k] for k in keys}, {k: c[k] for k in keys})
        print(f"{name}: run1 vs run2 (rebuilt from .pt, 1 thread): max|diff|={results[name][0]:.3e} "
              f"max rel-L2={results[name][1]:.3e}; weights x (1 + 1e-6 n): max|diff|={perturbed[name][0]:.3e} "
              f"max rel-L2={perturbed[name][1]:.3e}")

    def meta(name, extra=None):
        m = dict(common)
        m["rerun_max_abs_diff"] = f"{results[name][0]:.6e}"
        m["rerun_max_rel_l2"] = f"{results[name][1]:.6e}"
        m["rerun"] = "run 2: model rebuilt, weights loaded from sam2_weights.pt, torch.set_num_threads(1)"
        m["perturbed_max_abs_diff"] = f"{perturbed[name][0]:.6e}"
        m["perturbed_max_rel_l2"] = f"{perturbed[name][1]:.6e}"
        m["perturbed"] = "run 3: run 2's model with every weight times (1 + 1e-6 N(0,1)), max over keys"
        m.update(extra or {})
        return m

    prompt_margins = margins.pop("prompt")
    video_meta = meta("video", {
        "video_frame_prompted": str(VIDEO_FRAME),
        "source_frames": json.dumps(SOURCE_FRAMES),
        "call_order": "init_state(dir); add_new_points_or_box(state, frame_idx=2, obj_id=1, points, labels, box); "
                      "list(propagate_in_video(state)) -> 2,3,4,5; list(propagate_in_video(state, reverse=True)) -> 2,1,0",
        "margins": json.dumps(margins),
    })
    files = {
        "sam2_encode_io.safetensors": (enc, meta("encode")),
        "sam2_prompt_io.safetensors": (prompt, meta("prompt", {
            "margins": json.dumps(prompt_margins),
            "call_order": "init_state(dir with 1 frame); add_new_points_or_box(state, frame_idx=0, obj_id=1, "
                          "points, labels, box)"})),
        "sam2_video_io.safetensors": (video, video_meta),
        "sam2_fill_holes.safetensors": (holes, {**{k: v for k, v in common.items() if not k.startswith(("video_", "image_", "fill_"))},
                                                "max_areas": json.dumps(HOLE_AREAS),
                                                "connectivity": "8", "rule": "mask<=0 components with area<=max_area -> 0.1"}),
    }
    for fname, (tensors, m) in files.items():
        save_file({k: v.contiguous() for k, v in tensors.items()}, args.out / fname, m)
    save_file(state_dict, args.out / "sam2_weights.safetensors", common)

    config = {
        "yaml": model_yaml(),
        "yaml_name": YAML_NAME,
        "composed_config": composed,
        "build": "sam2.build_sam.build_sam2_video_predictor(yaml, ckpt_path=None, device='cpu', mode='eval') "
                 "(apply_postprocessing=True, vos_optimized=False)",
        "build_overrides": BUILD_OVERRIDES,
        "after_build": {
            "fill_hole_area": 0,
            "sam_mask_decoder.transformer": {"class": "TwoWayTransformer", "depth": 2, "embedding_dim": D,
                                             "num_heads": 8, "mlp_dim": MLP_DIM, "activation": "relu",
                                             "attention_downsample_rate": 2},
            "sam_mask_decoder.iou_prediction_head": {"class": "MLP", "input_dim": D, "hidden_dim": IOU_HIDDEN,
                                                     "output_dim": 4, "num_layers": 3, "sigmoid_output": True},
        },
        "dims": {
            "image_size": S, "backbone_stride": 16, "hiera_embed_dim": E, "hiera_num_heads": 1,
            "hiera_stages": [1, 2, 3, 1], "hiera_stage_dims": [E, 2 * E, 4 * E, 8 * E],
            "hiera_stage_heads": [1, 2, 4, 8], "hiera_window_spec": [8, 4, 4, 2], "hiera_global_att_blocks": [5],
            "hiera_q_pool_blocks": [1, 3, 6], "hiera_stage_ends": [0, 2, 5, 6],
            "hiera_window_pos_embed_bkg_spatial_size": [7, 7], "hiera_mlp_ratio": 4.0, "hiera_layernorm_eps": 1e-6,
            "hidden_dim": D, "mem_dim": MEM, "num_maskmem": 7, "max_obj_ptrs_in_encoder": 16,
            "memory_attention_layers": 2, "memory_attention_ffn": 2 * D, "memory_attention_heads": 1,
            "rope_feat_sizes": [S // 16, S // 16], "rope_theta": 10000.0,
            "mask_decoder_transformer_dim": D, "mask_decoder_mlp_dim": MLP_DIM, "mask_decoder_heads": 8,
            "mask_decoder_depth": 2, "iou_head_hidden_dim": IOU_HIDDEN, "iou_head_depth": 3,
            "num_multimask_outputs": 3, "prompt_mask_in_chans": 16, "low_res_mask_size": S // 4,
            "mask_downsampler": {"kernel_size": 4, "stride": 4, "padding": 0, "total_stride": 16,
                                 "channels": [1, 16, 256, D]},
            "dynamic_multimask_stability_delta": 0.05, "dynamic_multimask_stability_thresh": 0.98,
        },
        "preprocessing": {
            "resize": "PIL Image.resize((S, S)) default filter (BICUBIC for RGB) of the JPEG-decoded frame",
            "scale": "float32(u8 / 255.0 in float64)",
            "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
            "video_width": VIDEO_W, "video_height": VIDEO_H,
        },
        "prompt": {"points": PROMPT_POINTS, "labels": PROMPT_LABELS, "box": PROMPT_BOX, "frame_idx": 0},
        "video_prompt": {"points": VIDEO_POINTS, "labels": VIDEO_LABELS, "box": VIDEO_BOX,
                         "frame_idx": VIDEO_FRAME, "obj_id": 1},
        "seed": SEED,
        "init": "Linear/Conv N(0,1/fan_in), bias N(0,0.05^2), norms 1+N(0,0.1^2), embeddings N(0,1) "
                "(point embeddings N(0,0.5^2)), CXBlock gamma 0.5+N(0,0.1^2), gaussian matrix N(0,1), "
                "other parameters N(0,0.2^2); torch.Generator seeded with `seed`, in named_parameters order",
        "versions": {k: v for k, v in common.items() if k not in ("script", "seed")},
    }
    (args.out / "sam2_config.json").write_text(json.dumps(config, indent=1) + "\n")
    # What `void --sam2-config` takes: the yaml's model section plus the head sizes the yaml
    # cannot set (void-models' SamHeadsConfig).
    void_config = dict(composed["model"], sam_heads={"mlp_dim": MLP_DIM, "iou_head_hidden_dim": IOU_HIDDEN})
    (args.out / "sam2_void_config.json").write_text(json.dumps(void_config, indent=1) + "\n")

    for name, tensors in (("encode", enc), ("prompt", prompt), ("video", video)):
        for k, v in tensors.items():
            if v.is_floating_point() and ("masks" in k or "logits" in k or k.endswith("ious") or "iou_pred" in k):
                print(stats(f"{name}:{k}", v))
    print("margins:", json.dumps(margins, indent=1))
    write_v20(args)  # after every 2.1 file: the 2.1 pass never sees the 2.0 model
    total = 0
    for path in sorted(args.out.glob("sam2_*")):
        total += path.stat().st_size
        print(f"{path}: {path.stat().st_size} bytes")
    print(f"total sam2 goldens: {total} bytes")


if __name__ == "__main__":
    main()

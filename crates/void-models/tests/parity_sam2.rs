//! SAM2 parity with the `sam2` package (1.1.0) on a tiny random model.
//!
//! Fixtures from `scripts/golden/sam2_goldens.py` (CPU, f32): SAM 2.1's architecture shrunk to
//! a 96x96 image, Hiera of 6-48 channels in stages (1, 2, 3, 1) with padded windows, a 32-wide
//! neck; weights in the official checkpoint layout, as safetensors and as a `.pt` pickle.
//! Tolerance from issue 7: f32 rel-L2 <= 1e-4.

#![allow(clippy::unwrap_used)] // test helpers fail loudly by design

mod common;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use common::{golden, load, rel_l2};
use void_models::sam2::{
    FrameOutput, ImageEncoder, MemoryAttention, MemoryBank, MemoryEncoder, Points, Sam2,
    Sam2Config, SamHeads, background_areas, fill_holes, normalize_frame,
};

const TOLERANCE: f64 = 1e-4;

fn config() -> Sam2Config {
    config_from("sam2_void_config.json")
}

fn config_from(name: &str) -> Sam2Config {
    serde_json::from_str(&std::fs::read_to_string(golden(name)).unwrap()).unwrap()
}

fn weights() -> VarBuilder<'static> {
    weights_from("sam2_weights.safetensors")
}

fn weights_from(name: &str) -> VarBuilder<'static> {
    VarBuilder::from_tensors(load(name), DType::F32, &Device::Cpu)
}

fn check(ours: &Tensor, theirs: &Tensor, what: &str) {
    let err = rel_l2(ours, theirs);
    eprintln!("{what}: rel-L2 {err:.2e}");
    assert!(err <= TOLERANCE, "{what}: rel-L2 {err:.2e} > {TOLERANCE:e}");
}

/// `(hw, b, c)` tokens, as `_prepare_backbone_features` flattens a `(b, c, h, w)` map.
fn tokens(x: &Tensor) -> Tensor {
    x.flatten_from(2).unwrap().permute((2, 0, 1)).unwrap()
}

#[test]
fn image_encoder_matches_sam2() {
    let io = load("sam2_encode_io.safetensors");
    let encoder = ImageEncoder::new(&config(), weights()).unwrap();
    let features = encoder.forward(&io["image"]).unwrap();
    for (i, stage) in features.trunk.iter().enumerate() {
        check(
            stage,
            &io[&format!("trunk.stage{}", i + 1)],
            &format!("trunk stage {}", i + 1),
        );
    }
    assert_eq!(features.fpn.len(), 3);
    for i in 0..3 {
        check(
            &features.fpn[i],
            &io[&format!("neck.backbone_fpn.{i}")],
            &format!("fpn {i}"),
        );
        check(
            &features.positions[i],
            &io[&format!("vision_pos_enc.{i}")],
            &format!("position {i}"),
        );
    }
    for (i, high) in features.high_res.iter().enumerate() {
        check(
            &tokens(high),
            &io[&format!("vision_feats.{i}")],
            &format!("conv_s{i}"),
        );
    }
    check(
        &tokens(features.embedding()),
        &io["vision_feats.2"],
        "embedding",
    );
}

#[test]
fn official_pt_checkpoint_loads_like_safetensors() {
    let pt = VarBuilder::from_pth_with_state(
        golden("sam2_weights.pt"),
        DType::F32,
        "model",
        &Device::Cpu,
    )
    .unwrap();
    let io = load("sam2_encode_io.safetensors");
    let a = ImageEncoder::new(&config(), pt)
        .unwrap()
        .forward(&io["image"])
        .unwrap();
    let b = ImageEncoder::new(&config(), weights())
        .unwrap()
        .forward(&io["image"])
        .unwrap();
    assert_eq!(
        void_models::ops::max_abs_diff(a.embedding(), b.embedding()).unwrap(),
        0.0
    );
}

#[test]
fn prompted_frame_matches_sam2() {
    // Frame 0 of the video predictor with a box and two clicks (labels 2, 3, 1, 0): the
    // features get `no_mem_embed` (an initial conditioning frame), more than one point means a
    // single mask with the stability fallback.
    let io = load("sam2_prompt_io.safetensors");
    let cfg = config();
    let image = normalize_frame(&io["frame_resized_u8"]).unwrap();
    let features = ImageEncoder::new(&cfg, weights())
        .unwrap()
        .forward(&image)
        .unwrap();
    let no_mem = weights().get((1, 1, 32), "no_mem_embed").unwrap();
    let pix = features
        .embedding()
        .broadcast_add(&no_mem.reshape((1, 32, 1, 1)).unwrap())
        .unwrap();
    let heads = SamHeads::new(&cfg, weights()).unwrap();
    let (coords, labels) = (&io["point_coords"], &io["point_labels"]);

    let sparse = heads.prompt_encoder().embed_points(coords, labels).unwrap();
    check(&sparse, &io["sparse_embeddings"], "sparse prompt");
    check(
        &heads.prompt_encoder().no_mask_dense(1).unwrap(),
        &io["dense_embeddings"],
        "dense prompt",
    );
    check(heads.dense_pe(), &io["dense_pe"], "dense position encoding");

    let prediction = heads
        .mask_decoder()
        .predict(
            &pix,
            heads.dense_pe(),
            &sparse,
            &io["dense_embeddings"],
            &features.high_res,
        )
        .unwrap();
    check(&prediction.masks, &io["decoder.masks"], "decoder masks");
    check(&prediction.iou, &io["decoder.iou_pred"], "decoder IoU");
    check(
        &prediction.mask_tokens,
        &io["decoder.mask_tokens_out"],
        "mask tokens",
    );
    check(
        &prediction.object_score_logits,
        &io["decoder.object_score_logits"],
        "object score",
    );

    let points = Points { coords, labels };
    let out = heads
        .forward(&pix, Some(points), &features.high_res, false)
        .unwrap();
    check(&out.low_res_masks, &io["low_res_masks"], "low-res mask");
    check(&out.ious, &io["ious"], "IoU");
    check(&out.obj_ptr, &io["obj_ptr"], "object pointer");
    check(
        &out.object_score_logits,
        &io["object_score_logits"],
        "object score",
    );
    let video = out
        .low_res_masks
        .upsample_bilinear2d(48, 72, false)
        .unwrap();
    check(&video, &io["video_res_masks"], "video-resolution logits");
}

/// `(n, b, c)` sequence-first -> `(b, n, c)`.
fn batch_first(x: &Tensor) -> Tensor {
    x.permute((1, 0, 2)).unwrap().contiguous().unwrap()
}

/// The image encoder's output for frame `i` of the video fixture.
fn video_frame_features(cfg: &Sam2Config, i: usize) -> void_models::sam2::ImageFeatures {
    let io = load("sam2_video_io.safetensors");
    let frame = io["frames_resized_u8"].get(i).unwrap();
    ImageEncoder::new(cfg, weights())
        .unwrap()
        .forward(&normalize_frame(&frame).unwrap())
        .unwrap()
}

#[test]
fn memory_attention_matches_sam2() {
    // Frame 5 going forward: the conditioning frame's memory, frames 3 and 4, then 3 object
    // pointers of 4 tokens each (12 tokens exempt from the rotation).
    let io = load("sam2_video_io.safetensors");
    let cfg = config();
    let features = video_frame_features(&cfg, 5);
    let attention = MemoryAttention::new(
        &cfg.memory_attention,
        cfg.memory_encoder.out_dim,
        weights().pp("memory_attention"),
    )
    .unwrap();
    let pointers = io["fwd.f5.num_obj_ptr_tokens"]
        .to_dtype(DType::F32)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    let out = attention
        .forward(
            &tokens(features.embedding()).permute((1, 0, 2)).unwrap(),
            &tokens(&features.positions[2]).permute((1, 0, 2)).unwrap(),
            &batch_first(&io["fwd.f5.memory"]),
            &batch_first(&io["fwd.f5.memory_pos"]),
            pointers as usize,
        )
        .unwrap();
    check(
        &out,
        &batch_first(&io["fwd.f5.memory_attention_out"]),
        "memory attention",
    );
}

#[test]
fn memory_encoder_matches_sam2() {
    // The prompted frame 2: its mask binarised to ±10 (a mask from clicks), raw features.
    let io = load("sam2_video_io.safetensors");
    let cfg = config();
    let features = video_frame_features(&cfg, 2);
    let encoder =
        MemoryEncoder::new(&cfg.memory_encoder, 32, weights().pp("memory_encoder")).unwrap();
    let s = cfg.image_size;
    let mask = io["add.pred_masks"]
        .upsample_bilinear2d(s, s, false)
        .unwrap()
        .gt(0.0)
        .unwrap()
        .to_dtype(DType::F32)
        .unwrap()
        .affine(20.0, -10.0)
        .unwrap();
    let (memory, pos) = encoder.forward(features.embedding(), &mask).unwrap();
    check(&memory, &io["cond.maskmem_features"], "memory features");
    check(&pos, &io["maskmem_pos_enc"], "memory position");
}

#[test]
fn six_frame_propagation_matches_sam2() {
    propagation_matches(
        "sam2_void_config.json",
        "sam2_weights.safetensors",
        "sam2_video_io.safetensors",
    );
}

#[test]
fn sam2_0_propagation_matches_sam2() {
    // SAM 2.0: no no-object spatial embedding, object pointers without temporal encoding
    // (their memory positions are zeros), no `obj_ptr_tpos_proj` in the checkpoint.
    let cfg = config_from("sam2_v20_void_config.json");
    assert!(!cfg.no_obj_embed_spatial && !cfg.add_tpos_enc_to_obj_ptrs);
    assert!(!cfg.proj_tpos_enc_in_obj_ptrs && !cfg.use_signed_tpos_enc_to_obj_ptrs);
    propagation_matches(
        "sam2_v20_void_config.json",
        "sam2_v20_weights.safetensors",
        "sam2_v20_video_io.safetensors",
    );
}

/// The predictor's calls: a box and two clicks on frame 2, propagate forward (3, 4, 5), then
/// backward (1, 0), hole filling off as in the fixture. Each tracked frame's mask, pointer,
/// score and memory are compared (and the video-resolution mask where the fixture has it); the
/// memory bank of frame 5 (forward) and frame 0 (backward) token by token.
fn propagation_matches(config_file: &str, weights_file: &str, io_file: &str) {
    let io = load(io_file);
    let cfg = config_from(config_file);
    let model = Sam2::new(&cfg, 0, weights_from(weights_file)).unwrap();
    let features = |i: usize| {
        let frame = io["frames_resized_u8"].get(i).unwrap();
        model
            .encode_image(&normalize_frame(&frame).unwrap())
            .unwrap()
    };
    let video = |masks: &Tensor| masks.upsample_bilinear2d(48, 72, false).unwrap();
    let bf16_tolerance = 1e-3; // memories are stored in bf16: one-ulp flips
    let check_out = |out: &FrameOutput, prefix: &str, memory_key: &str| {
        check(
            &out.pred_masks,
            &io[&format!("{prefix}.pred_masks")],
            &format!("{prefix} mask"),
        );
        if let Some(want) = io.get(&format!("{prefix}.video_res_masks")) {
            check(
                &video(&out.pred_masks),
                want,
                &format!("{prefix} video mask"),
            );
        }
        check(
            &out.obj_ptr,
            &io[&format!("{prefix}.obj_ptr")],
            &format!("{prefix} pointer"),
        );
        check(
            &out.object_score_logits,
            &io[&format!("{prefix}.object_score_logits")],
            &format!("{prefix} score"),
        );
        let err = rel_l2(&out.memory, &io[memory_key]);
        eprintln!("{prefix} memory: rel-L2 {err:.2e}");
        assert!(err <= bf16_tolerance, "{prefix} memory: {err:.2e}");
    };

    let mut bank = MemoryBank::default();
    let points = Points {
        coords: &io["add.point_coords"],
        labels: &io["add.point_labels"],
    };
    let prompted = model.prompt(&features(2), points).unwrap();
    check_out(&prompted, "add", "cond.maskmem_features_bf16");
    bank.conditioning.insert(2, prompted);

    for (frames, reverse, dir) in [(vec![3, 4, 5], false, "fwd"), (vec![1, 0], true, "bwd")] {
        for f in frames {
            let prefix = format!("{dir}.f{f}");
            if let Ok(memory) = io.get(&format!("{prefix}.memory")).ok_or(()) {
                let (m, pos, pointers) = model.memory_tokens(f, 6, reverse, &bank).unwrap();
                let want = io[&format!("{prefix}.num_obj_ptr_tokens")]
                    .to_dtype(DType::F32)
                    .unwrap()
                    .to_scalar::<f32>()
                    .unwrap();
                assert_eq!(pointers, want as usize, "{prefix} pointer tokens");
                let err = rel_l2(&m, &batch_first(memory));
                eprintln!("{prefix} memory bank: rel-L2 {err:.2e}");
                assert!(err <= bf16_tolerance, "{prefix} memory bank: {err:.2e}");
                check(
                    &pos,
                    &batch_first(&io[&format!("{prefix}.memory_pos")]),
                    &format!("{prefix} memory position"),
                );
            }
            let out = model.track(&features(f), f, 6, reverse, &bank).unwrap();
            check_out(&out, &prefix, &format!("{prefix}.maskmem_features_bf16"));
            bank.tracked.insert(f, out);
        }
    }
}

#[test]
fn hole_filling_matches_sam2() {
    let io = load("sam2_fill_holes.safetensors");
    for case in ["case0", "case1"] {
        let mask = &io[&format!("{case}.mask")];
        let (_, _, h, w) = mask.dims4().unwrap();
        let values = mask.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let areas: Vec<i64> = values
            .chunks(h * w)
            .flat_map(|map| background_areas(map, h, w))
            .map(|a| a as i64)
            .collect();
        let want = io[&format!("{case}.areas_bg")]
            .to_dtype(DType::I64)
            .unwrap()
            .flatten_all()
            .unwrap();
        assert_eq!(
            areas,
            want.to_vec1::<i64>().unwrap(),
            "{case}: component areas"
        );
        for area in [1, 8] {
            let filled = fill_holes(mask, area).unwrap();
            let d = void_models::ops::max_abs_diff(&filled, &io[&format!("{case}.filled_{area}")])
                .unwrap();
            assert_eq!(d, 0.0, "{case}: filled with max area {area}");
        }
    }
}

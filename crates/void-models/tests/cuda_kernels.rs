//! void-kernels' CUDA paths against the portable ones, on a GPU: the fused attention against the
//! chunked path, fp8 weight storage against candle's CPU casts. Built only with the `cuda`
//! feature; run it where there is a GPU (`cargo test --release --features cuda -p void-models
//! --test cuda_kernels`, or the test binary built elsewhere and carried there).

#![cfg(feature = "cuda")]
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::VarBuilder;
use void_models::ops::attention::{sdpa, sdpa_chunked};
use void_models::ops::linear::{StoredLinear, WeightStorage};
use void_models::ops::{max_abs_diff, rel_l2};

/// bf16 inputs; the chunked path runs in f32 on the same (bf16-rounded) values.
fn check(q: &Tensor, k: &Tensor, v: &Tensor, what: &str) {
    let scale = 1.0 / 8.0;
    let fused = sdpa(q, k, v, scale).unwrap();
    let f32 = |t: &Tensor| t.to_dtype(DType::F32).unwrap();
    let reference = sdpa_chunked(&f32(q), &f32(k), &f32(v), scale).unwrap();
    let err = rel_l2(&f32(&fused), &reference).unwrap();
    // Rounding P and the output to bf16: ~4e-3; a wrong tile or row gives O(1).
    assert!(err < 1e-2, "{what}: rel-L2 {err:.3e}");
    eprintln!("{what}: rel-L2 {err:.3e}");
}

fn randn(dims: &[usize], dev: &Device) -> Tensor {
    Tensor::randn(0f32, 1., dims, dev)
        .unwrap()
        .to_dtype(DType::BF16)
        .unwrap()
}

#[test]
fn fused_matches_chunked_on_awkward_shapes() {
    let dev = Device::new_cuda(0).unwrap();
    for &(b, h, sq, sk) in &[
        (1, 1, 1, 1),
        (1, 2, 128, 64),
        (2, 3, 1000, 777),
        (1, 4, 129, 65),
        (1, 2, 37, 300),
        (1, 48, 2048, 2048),
    ] {
        let q = randn(&[b, h, sq, 64], &dev);
        let k = randn(&[b, h, sk, 64], &dev);
        let v = randn(&[b, h, sk, 64], &dev);
        check(&q, &k, &v, &format!("b{b} h{h} sq{sq} sk{sk}"));
    }
}

#[test]
fn fused_reads_strided_heads_without_copies() {
    // Heads split from a (b, s, h*d) projection: (b, h, s, d) with row stride h*d.
    let dev = Device::new_cuda(0).unwrap();
    let (b, s, h) = (2, 300, 4);
    let proj = |_: ()| {
        randn(&[b, s, h * 64], &dev)
            .reshape((b, s, h, 64))
            .unwrap()
            .transpose(1, 2)
            .unwrap()
    };
    let (q, k, v) = (proj(()), proj(()), proj(()));
    assert!(!q.is_contiguous());
    check(&q, &k, &v, "strided heads");
    // The result's transpose(1, 2) is contiguous: heads merge without a copy.
    let out = sdpa(&q, &k, &v, 0.125).unwrap();
    assert!(out.transpose(1, 2).unwrap().is_contiguous());
}

#[test]
fn large_scores_stay_finite() {
    // Scores of several hundred: the running max must keep exp2 in range.
    let dev = Device::new_cuda(0).unwrap();
    let q = (randn(&[1, 2, 200, 64], &dev).to_dtype(DType::F32).unwrap() * 8.0)
        .unwrap()
        .to_dtype(DType::BF16)
        .unwrap();
    let k = randn(&[1, 2, 500, 64], &dev);
    let v = randn(&[1, 2, 500, 64], &dev);
    check(&q, &k, &v, "large scores");
}

#[test]
fn fp8_linear_on_cuda_equals_the_cpu_path() {
    // The same weights stored in fp8 on each device: the CUDA quantise/dequantise kernels must
    // give the CPU path's weights exactly, so the outputs differ only by the GEMMs' order.
    let gpu = Device::new_cuda(0).unwrap();
    let w = (Tensor::randn(0f32, 1., (96, 160), &Device::Cpu).unwrap() * 0.05).unwrap();
    let b = Tensor::randn(0f32, 1., 96, &Device::Cpu).unwrap();
    let x = Tensor::randn(0f32, 1., (2, 7, 160), &Device::Cpu).unwrap();
    let layer = |dev: &Device, dtype: DType| {
        let vars = HashMap::from([
            ("weight".to_string(), w.to_device(dev).unwrap()),
            ("bias".to_string(), b.to_device(dev).unwrap()),
        ]);
        let vb = VarBuilder::from_tensors(vars, dtype, dev);
        StoredLinear::load(160, 96, vb, WeightStorage::Fp8E4M3).unwrap()
    };
    for dtype in [DType::F32, DType::BF16] {
        let (on_cpu, on_gpu) = (layer(&Device::Cpu, dtype), layer(&gpu, dtype));
        let (
            StoredLinear::Fp8 {
                weight: qc,
                scale: sc,
                ..
            },
            StoredLinear::Fp8 {
                weight: qg,
                scale: sg,
                ..
            },
        ) = (&on_cpu, &on_gpu)
        else {
            panic!("not fp8")
        };
        assert_eq!(sc, sg);
        let bits = |q: &Tensor| {
            q.to_device(&Device::Cpu)
                .unwrap()
                .to_dtype(DType::F32)
                .unwrap()
        };
        assert_eq!(
            max_abs_diff(&bits(qc), &bits(qg)).unwrap(),
            0.0,
            "{dtype:?}: fp8 weights differ"
        );
        let y_cpu = on_cpu.forward(&x.to_dtype(dtype).unwrap()).unwrap();
        let y_gpu = on_gpu
            .forward(&x.to_dtype(dtype).unwrap().to_device(&gpu).unwrap())
            .unwrap();
        let f32 = |t: &Tensor| {
            t.to_device(&Device::Cpu)
                .unwrap()
                .to_dtype(DType::F32)
                .unwrap()
        };
        let err = rel_l2(&f32(&y_gpu), &f32(&y_cpu)).unwrap();
        let bound = if dtype == DType::F32 { 1e-5 } else { 1e-2 };
        assert!(err < bound, "{dtype:?}: rel-L2 {err:.3e}");
        eprintln!("fp8 linear {dtype:?}: weights equal, outputs rel-L2 {err:.3e}");
    }
}

#[test]
fn fused_block_stages_equal_the_portable_path() {
    // Each fused stage (CUDA, bf16) against candle's ops on the CPU in bf16: they round at the
    // same places, so only LayerNorm's f32 reduction order may flip a last bit here and there.
    use candle_nn::LayerNorm;
    use void_models::transformer::rope::rope_3d;
    use void_models::transformer::stages::{gated_residual, head_norm_rope, modulated_norm};

    let gpu = Device::new_cuda(0).unwrap();
    let cpu = Device::Cpu;
    let (b, heads, text_len, grid) = (2, 4, 37, (3, 7, 12));
    let s = text_len + grid.0 * grid.1 * grid.2;
    let d = heads * 64;
    let x = randn(&[b, s, d], &cpu);
    let y = randn(&[b, s, d], &cpu);
    let modulation = (randn(&[b, 6 * d], &cpu) * 0.5).unwrap();
    let affine = |n: usize| {
        let w = randn(&[n], &cpu).affine(0.1, 1.0).unwrap();
        (w, (randn(&[n], &cpu) * 0.1).unwrap())
    };
    let (w, bias) = affine(d);
    let (qw, qb) = affine(64);
    let (cos, sin) = rope_3d(64, grid.0, grid.1, grid.2, &cpu).unwrap();
    let on = |t: &Tensor, dev: &Device| t.to_device(dev).unwrap();
    let norm = |dev: &Device| LayerNorm::new(on(&w, dev), on(&bias, dev), 1e-5);
    let qk_norm = |dev: &Device| LayerNorm::new(on(&qw, dev), on(&qb, dev), 1e-6);
    let compare = |fused: Tensor, portable: Tensor, bound: f64, what: &str| {
        let f32 = |t: &Tensor| on(t, &cpu).to_dtype(DType::F32).unwrap();
        assert_eq!(fused.dims(), portable.dims(), "{what}: shape");
        let err = rel_l2(&f32(&fused), &f32(&portable)).unwrap();
        eprintln!("{what}: rel-L2 {err:.3e}");
        assert!(err <= bound, "{what}: rel-L2 {err:.3e} > {bound:.0e}");
    };
    let run = |dev: &Device| {
        (
            modulated_norm(&on(&x, dev), &norm(dev), &on(&modulation, dev), text_len).unwrap(),
            gated_residual(&on(&x, dev), &on(&y, dev), &on(&modulation, dev), text_len).unwrap(),
            // A slice of a fused projection: rows 3·d apart, read in place.
            head_norm_rope(
                &on(&Tensor::cat(&[&y, &x, &y], 2).unwrap(), dev)
                    .narrow(2, d, d)
                    .unwrap(),
                &qk_norm(dev),
                heads,
                text_len,
                (&on(&cos, dev), &on(&sin, dev)),
            )
            .unwrap(),
        )
    };
    let (fused, portable) = (run(&gpu), run(&cpu));
    compare(fused.0, portable.0, 1e-3, "modulated LayerNorm");
    compare(fused.1, portable.1, 0.0, "gated residual");
    compare(fused.2, portable.2, 1e-3, "QK LayerNorm + rotary");
}

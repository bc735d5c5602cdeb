//! With the `cuda` feature, compiles `kernels/*.cu` into fat binaries (machine code for sm_80 and
//! sm_90, PTX for newer chips) in `OUT_DIR`, which the crate embeds: nothing is JIT-compiled at
//! run time on Ampere or Hopper. nvcc is taken from `$CUDA_ROOT/bin`, `$CUDA_HOME/bin` or PATH.

use std::path::PathBuf;
use std::process::Command;

const KERNELS: &[&str] = &["flash_attention", "fp8", "fused"];

/// Kernels allowed nvcc's fast math (approximate exp2 in the softmax); the others round as
/// PyTorch does.
const FAST_MATH: &[&str] = &["flash_attention"];

fn main() {
    println!("cargo::rerun-if-env-changed=CUDA_ROOT");
    println!("cargo::rerun-if-env-changed=CUDA_HOME");
    for name in KERNELS {
        println!("cargo::rerun-if-changed=kernels/{name}.cu");
    }
    if std::env::var_os("CARGO_FEATURE_CUDA").is_none() {
        return;
    }
    let nvcc = ["CUDA_ROOT", "CUDA_HOME"]
        .iter()
        .filter_map(std::env::var_os)
        .map(|root| PathBuf::from(root).join("bin").join("nvcc"))
        .find(|path| path.exists())
        .unwrap_or_else(|| PathBuf::from("nvcc"));
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    for name in KERNELS {
        let out = out_dir.join(format!("{name}.fatbin"));
        let status = Command::new(&nvcc)
            .args(["-O3", "-std=c++17", "-fatbin"])
            .args(FAST_MATH.contains(name).then_some("--use_fast_math"))
            .args(["-gencode", "arch=compute_80,code=sm_80"])
            .args(["-gencode", "arch=compute_90,code=sm_90"])
            .args(["-gencode", "arch=compute_90,code=compute_90"])
            .arg("-o")
            .arg(&out)
            .arg(format!("kernels/{name}.cu"))
            .status()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", nvcc.display()));
        assert!(status.success(), "nvcc failed on kernels/{name}.cu");
    }
}

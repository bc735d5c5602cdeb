//! Loading the transformer from its files, and every way the files can be wrong: each error
//! names the file and the key (issue 3, item 2).

#![allow(clippy::unwrap_used)] // test helpers fail loudly by design

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use void_weights::Error;
use void_weights::transformer::load_transformer;

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../void-models/tests/golden")
        .join(name)
}

fn weights() -> HashMap<String, Tensor> {
    candle_core::safetensors::load(golden("transformer_a_weights.safetensors"), &Device::Cpu)
        .unwrap()
}

fn config() -> PathBuf {
    golden("transformer_a_config.json")
}

fn save(dir: &Path, name: &str, tensors: &HashMap<String, Tensor>) -> PathBuf {
    let path = dir.join(name);
    candle_core::safetensors::save(tensors, &path).unwrap();
    path
}

fn load_err(path: &Path) -> Error {
    load_transformer(&config(), path, None, DType::F32, &Device::Cpu).unwrap_err()
}

#[test]
fn loads_and_matches_the_golden_output() {
    let model = load_transformer(
        &config(),
        &golden("transformer_a_weights.safetensors"),
        None,
        DType::F32,
        &Device::Cpu,
    )
    .unwrap();
    let io = candle_core::safetensors::load(golden("transformer_a_io.safetensors"), &Device::Cpu)
        .unwrap();
    let out = model
        .forward(
            &io["hidden_states"],
            &io["encoder_hidden_states"],
            &io["timestep"],
        )
        .unwrap();
    let diff = void_models::ops::max_abs_diff(&out, &io["sample"]).unwrap();
    assert!(diff < 1e-4, "{diff}");
}

#[test]
fn missing_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = weights();
    w.remove("transformer_blocks.1.attn1.norm_k.bias");
    let err = load_err(&save(dir.path(), "void_pass1.safetensors", &w));
    assert!(matches!(err, Error::MissingKey { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("void_pass1.safetensors: no tensor `transformer_blocks.1.attn1.norm_k.bias`"),
        "{msg}"
    );
}

#[test]
fn wrong_shape() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = weights();
    w.insert(
        "proj_out.weight".into(),
        Tensor::zeros((16, 31), DType::F32, &Device::Cpu).unwrap(),
    );
    let msg = load_err(&save(dir.path(), "w.safetensors", &w)).to_string();
    assert!(
        msg.contains("`proj_out.weight` has shape [16, 31], the config implies [32, 32]"),
        "{msg}"
    );
}

#[test]
fn unused_tensors() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = weights();
    w.insert(
        "pos_embedding".into(),
        Tensor::zeros(4, DType::F32, &Device::Cpu).unwrap(),
    );
    let err = load_err(&save(dir.path(), "w.safetensors", &w));
    assert!(
        matches!(err, Error::UnexpectedKeys { count: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("`pos_embedding`"), "{err}");
}

#[test]
fn truncated_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = save(dir.path(), "w.safetensors", &weights());
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 1000]).unwrap();
    let msg = load_err(&path).to_string();
    assert!(
        msg.contains("w.safetensors: not a valid safetensors file"),
        "{msg}"
    );
    let msg = load_err(&dir.path().join("absent.safetensors")).to_string();
    assert!(msg.contains("absent.safetensors: cannot open"), "{msg}");
}

#[test]
fn integer_weights() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = weights();
    w.insert(
        "proj_out.bias".into(),
        Tensor::zeros(16, DType::I64, &Device::Cpu).unwrap(),
    );
    let err = load_err(&save(dir.path(), "w.safetensors", &w));
    assert!(matches!(err, Error::UnsupportedDtype { .. }), "{err}");
    assert!(err.to_string().contains("`proj_out.bias` is I64"), "{err}");
}

#[test]
fn sharded_index_and_bf16_storage() {
    let dir = tempfile::tempdir().unwrap();
    let (mut first, mut second) = (HashMap::new(), HashMap::new());
    let mut map = serde_json::Map::new();
    for (i, (k, v)) in weights().into_iter().enumerate() {
        let (shard, file) = if i % 2 == 0 {
            (&mut first, "s-00001.safetensors")
        } else {
            (&mut second, "s-00002.safetensors")
        };
        shard.insert(k.clone(), v.to_dtype(DType::BF16).unwrap());
        map.insert(k, file.into());
    }
    save(dir.path(), "s-00001.safetensors", &first);
    save(dir.path(), "s-00002.safetensors", &second);
    let index = dir
        .path()
        .join("diffusion_pytorch_model.safetensors.index.json");
    std::fs::write(&index, serde_json::json!({ "weight_map": map }).to_string()).unwrap();
    // The folder is found by its index; bf16 storage loads into f32.
    let model = load_transformer(&config(), dir.path(), None, DType::F32, &Device::Cpu).unwrap();
    assert_eq!(model.config().in_channels, 12);

    // Prefetching reads exactly the shards the index names, whole, and names a missing one.
    let shard_bytes = |name: &str| std::fs::metadata(dir.path().join(name)).unwrap().len();
    let both = shard_bytes("s-00001.safetensors") + shard_bytes("s-00002.safetensors");
    assert_eq!(void_weights::prefetch(dir.path()).unwrap(), both);
    assert_eq!(void_weights::prefetch(&index).unwrap(), both);
    std::fs::remove_file(dir.path().join("s-00002.safetensors")).unwrap();
    let err = void_weights::prefetch(dir.path()).unwrap_err().to_string();
    assert!(err.contains("s-00002.safetensors"), "{err}");
}

#[test]
fn base_model_widened_to_more_input_channels() {
    // Config a has 12 = 3x4 input channels; its "base" has 2x4+1 = 9 (noise, one mask, video).
    let dir = tempfile::tempdir().unwrap();
    let mut w = weights();
    let proj = &w["patch_embed.proj.weight"]; // (32, 96): 8 columns per channel
    let base = Tensor::cat(
        &[
            proj.narrow(1, 0, 40).unwrap(),
            proj.narrow(1, 64, 32).unwrap(),
        ],
        1,
    )
    .unwrap();
    w.insert("patch_embed.proj.weight".into(), base);
    let path = save(dir.path(), "diffusion_pytorch_model.safetensors", &w);
    let model = load_transformer(&config(), &path, None, DType::F32, &Device::Cpu).unwrap();
    assert_eq!(
        model.config().in_channels,
        9,
        "follows the checkpoint by default"
    );
    let model = load_transformer(&config(), &path, Some(12), DType::F32, &Device::Cpu).unwrap();
    assert_eq!(model.config().in_channels, 12, "widened on request");
}

fn vae_golden() -> (PathBuf, HashMap<String, Tensor>) {
    let weights =
        candle_core::safetensors::load(golden("vae_weights.safetensors"), &Device::Cpu).unwrap();
    (golden("vae_config.json"), weights)
}

#[test]
fn vae_loads_from_a_base_model_folder_and_names_missing_keys() {
    use void_weights::vae::load_vae;
    let (config, mut weights) = vae_golden();
    let base = tempfile::tempdir().unwrap();
    let vae_dir = base.path().join("vae");
    std::fs::create_dir(&vae_dir).unwrap();
    std::fs::copy(&config, vae_dir.join("config.json")).unwrap();
    save(&vae_dir, "diffusion_pytorch_model.safetensors", &weights);
    let vae = load_vae(base.path(), &vae_dir, DType::F32, &Device::Cpu).unwrap();
    assert_eq!(vae.config().latent_channels, 4);

    let key = "decoder.up_blocks.1.resnets.0.norm1.conv_y.conv.weight";
    weights.remove(key).unwrap();
    let path = save(base.path(), "broken.safetensors", &weights);
    let err = load_vae(&vae_dir, &path, DType::F32, &Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(key) && err.contains("broken.safetensors"),
        "{err}"
    );

    let err = load_vae(
        base.path().join("nowhere").as_path(),
        &path,
        DType::F32,
        &Device::Cpu,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("no config.json"), "{err}");
}

//! Loading the T5 encoder from its files: the tied embedding under either name or both, and
//! every way the files can be wrong, each error naming the file and the key.

#![allow(clippy::unwrap_used)] // test helpers fail loudly by design

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use void_weights::Error;
use void_weights::t5::{EMBED_TOKENS, SHARED, load_t5, read_t5_config};

const WI_1: &str = "encoder.block.1.layer.1.DenseReluDense.wi_1.weight";
const REL_BIAS_0: &str = "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight";

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../void-models/tests/golden")
        .join(name)
}

/// The tiny v1.1-style fixture as `save_pretrained` wrote it (only `shared.weight`).
fn weights() -> HashMap<String, Tensor> {
    candle_core::safetensors::load(golden("t5_a_weights.safetensors"), &Device::Cpu).unwrap()
}

fn config() -> PathBuf {
    golden("t5_a_config.json")
}

fn save(dir: &Path, name: &str, tensors: &HashMap<String, Tensor>) -> PathBuf {
    let path = dir.join(name);
    candle_core::safetensors::save(tensors, &path).unwrap();
    path
}

fn load_err(path: &Path) -> Error {
    load_t5(&config(), path, DType::F32, &Device::Cpu).unwrap_err()
}

/// rel-L2 of the model in `path` against transformers' output on the padded batch.
fn parity(path: &Path) -> f64 {
    let model = load_t5(&config(), path, DType::F32, &Device::Cpu).unwrap();
    let io = candle_core::safetensors::load(golden("t5_a_io.safetensors"), &Device::Cpu).unwrap();
    let out = model.forward(&io["input_ids"]).unwrap();
    void_models::ops::rel_l2(&out, &io["last_hidden_state"]).unwrap()
}

#[test]
fn loads_what_save_pretrained_wrote() {
    assert!(weights().contains_key(SHARED) && !weights().contains_key(EMBED_TOKENS));
    let err = parity(&golden("t5_a_weights.safetensors"));
    assert!(err <= 1e-5, "{err:e}");
}

#[test]
fn tied_embedding_under_either_name_or_both() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = weights();
    let shared = w.remove(SHARED).unwrap();

    w.insert(EMBED_TOKENS.into(), shared.clone());
    let only_encoder = save(dir.path(), "encoder.safetensors", &w);
    assert!(parity(&only_encoder) <= 1e-5);

    w.insert(SHARED.into(), shared.clone());
    let both = save(dir.path(), "both.safetensors", &w);
    assert!(parity(&both) <= 1e-5);

    // A "copy" of another shape is not a tied copy.
    w.insert(EMBED_TOKENS.into(), shared.narrow(0, 0, 50).unwrap());
    let err = load_err(&save(dir.path(), "odd.safetensors", &w));
    assert!(matches!(err, Error::ShapeMismatch { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("odd.safetensors: tensor `encoder.embed_tokens.weight` has shape [50, 32], the config implies [100, 32]"),
        "{err}"
    );
}

#[test]
fn missing_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = weights();
    w.remove(WI_1);
    let err = load_err(&save(dir.path(), "model.safetensors", &w));
    assert!(matches!(err, Error::MissingKey { .. }), "{err}");
    assert!(
        err.to_string()
            .contains(&format!("model.safetensors: no tensor `{WI_1}`")),
        "{err}"
    );

    let mut w = weights();
    w.remove(SHARED);
    let msg = load_err(&save(dir.path(), "model.safetensors", &w)).to_string();
    assert!(
        msg.contains("no tensor `shared.weight`; nor its tied copy `encoder.embed_tokens.weight`"),
        "{msg}"
    );
}

#[test]
fn wrong_shape() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = weights();
    w.insert(
        REL_BIAS_0.into(),
        Tensor::zeros((32, 3), DType::F32, &Device::Cpu).unwrap(),
    );
    let err = load_err(&save(dir.path(), "w.safetensors", &w));
    assert!(matches!(err, Error::ShapeMismatch { .. }), "{err}");
    assert!(
        err.to_string().contains(&format!(
            "`{REL_BIAS_0}` has shape [32, 3], the config implies [32, 4]"
        )),
        "{err}"
    );
}

#[test]
fn unused_tensors() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = weights();
    // Only block 0 has a position bias; a full T5 checkpoint also holds the decoder.
    let bias = w[REL_BIAS_0].clone();
    w.insert(
        "encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight".into(),
        bias.clone(),
    );
    w.insert("decoder.final_layer_norm.weight".into(), bias);
    let err = load_err(&save(dir.path(), "w.safetensors", &w));
    assert!(
        matches!(err, Error::UnexpectedKeys { count: 2, .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("`decoder.final_layer_norm.weight`"),
        "{err}"
    );
}

#[test]
fn sharded_folder_bf16_and_base_model_config() {
    // A base model's layout: <base>/text_encoder/{config.json, model.safetensors.index.json,
    // model-0000{1,2}-of-00002.safetensors}, stored in bf16 like the real checkpoint.
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("text_encoder");
    std::fs::create_dir(&dir).unwrap();
    std::fs::copy(config(), dir.join("config.json")).unwrap();
    let (mut first, mut second) = (HashMap::new(), HashMap::new());
    let mut map = serde_json::Map::new();
    for (i, (k, v)) in weights().into_iter().enumerate() {
        let (shard, file) = if i % 2 == 0 {
            (&mut first, "model-00001-of-00002.safetensors")
        } else {
            (&mut second, "model-00002-of-00002.safetensors")
        };
        shard.insert(k.clone(), v.to_dtype(DType::BF16).unwrap());
        map.insert(k, file.into());
    }
    save(&dir, "model-00001-of-00002.safetensors", &first);
    save(&dir, "model-00002-of-00002.safetensors", &second);
    std::fs::write(
        dir.join("model.safetensors.index.json"),
        serde_json::json!({ "metadata": {}, "weight_map": map }).to_string(),
    )
    .unwrap();

    let (file, cfg) = read_t5_config(base.path()).unwrap();
    assert_eq!(file, dir.join("config.json"));
    assert_eq!((cfg.d_model, cfg.num_layers), (32, 3));
    let model = load_t5(base.path(), &dir, DType::BF16, &Device::Cpu).unwrap();
    assert_eq!(model.dtype(), DType::BF16);
    assert_eq!(model.config().vocab_size, 100);
}

#[test]
fn config_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let msg = read_t5_config(dir.path()).unwrap_err().to_string();
    assert!(
        msg.contains(
            "no config.json here (give text_encoder/config.json or the base model folder)"
        ),
        "{msg}"
    );
    let path = dir.path().join("config.json");
    std::fs::write(
        &path,
        r#"{"d_model": 8, "feed_forward_proj": "gated-gelu"}"#,
    )
    .unwrap();
    let msg = read_t5_config(&path).unwrap_err().to_string();
    assert!(
        msg.contains("config.json: unsupported model config: missing field"),
        "{msg}"
    );
}

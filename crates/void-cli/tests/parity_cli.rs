//! `void parity transformer` on the tiny diffusers fixture: the written `sample` matches the
//! reference output (f32 rel-L2 <= 1e-5), and bad inputs get one clear error.

#![allow(clippy::unwrap_used)] // test helpers fail loudly by design

use std::path::PathBuf;
use std::process::Command;

use candle_core::Device;

fn golden(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../void-models/tests/golden")
        .join(name)
        .display()
        .to_string()
}

fn parity(inputs: &str, out: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_void"))
        .args([
            "parity",
            "transformer",
            "--config",
            &golden("transformer_b_config.json"),
        ])
        .args([
            "--weights",
            &golden("transformer_b_weights.safetensors"),
            "--inputs",
            inputs,
            "--out",
            out,
        ])
        .output()
        .unwrap()
}

#[test]
fn writes_the_reference_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.safetensors");
    let io = golden("transformer_b_io.safetensors");
    let result = parity(&io, out.to_str().unwrap());
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "{stderr}");
    assert!(stderr.contains("forward"), "a timing line: {stderr}");

    let ours = candle_core::safetensors::load(&out, &Device::Cpu).unwrap();
    let theirs = candle_core::safetensors::load(&io, &Device::Cpu).unwrap();
    assert!(void_models::ops::rel_l2(&ours["sample"], &theirs["sample"]).unwrap() <= 1e-5);
}

#[test]
fn inputs_without_timestep_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let io = candle_core::safetensors::load(golden("transformer_b_io.safetensors"), &Device::Cpu)
        .unwrap();
    let partial: std::collections::HashMap<_, _> =
        io.into_iter().filter(|(k, _)| k != "timestep").collect();
    let inputs = dir.path().join("in.safetensors");
    candle_core::safetensors::save(&partial, &inputs).unwrap();
    let out = dir.path().join("out.safetensors");
    let result = parity(inputs.to_str().unwrap(), out.to_str().unwrap());
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!result.status.success());
    assert!(
        stderr.contains("in.safetensors: no tensor `timestep`"),
        "{stderr}"
    );
    assert!(!out.exists());
}

#[test]
fn scheduler_timesteps_and_step_match_diffusers() {
    let golden_path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../void-schedulers/tests/golden/scheduler_cogvideox_void.safetensors");
    let g = candle_core::safetensors::load(&golden_path, &Device::Cpu).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("scheduler_config.json");
    std::fs::write(
        &config,
        r#"{"_class_name": "CogVideoXDDIMScheduler", "num_train_timesteps": 1000, "beta_schedule": "scaled_linear",
            "beta_start": 0.00085, "beta_end": 0.012, "prediction_type": "v_prediction", "timestep_spacing": "trailing",
            "rescale_betas_zero_snr": true, "set_alpha_to_one": true, "steps_offset": 0, "clip_sample": false,
            "snr_shift_scale": 1.0}"#,
    )
    .unwrap();
    let inputs = dir.path().join("in.safetensors");
    let tensors = std::collections::HashMap::from([
        (
            "num_inference_steps".to_string(),
            candle_core::Tensor::new(&[30i64], &Device::Cpu).unwrap(),
        ),
        (
            "timestep".to_string(),
            candle_core::Tensor::new(&[999i64], &Device::Cpu).unwrap(),
        ),
        ("sample".to_string(), g["sample"].clone()),
        ("model_output".to_string(), g["model_output"].clone()),
    ]);
    candle_core::safetensors::save(&tensors, &inputs).unwrap();
    let out = dir.path().join("out.safetensors");
    let result = Command::new(env!("CARGO_BIN_EXE_void"))
        .args([
            "parity",
            "scheduler",
            "--flavour",
            "cogvideox",
            "--config",
            config.to_str().unwrap(),
        ])
        .args([
            "--inputs",
            inputs.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let ours = candle_core::safetensors::load(&out, &Device::Cpu).unwrap();
    let (a, b): (Vec<i64>, Vec<i64>) = (
        ours["timesteps"].to_vec1().unwrap(),
        g["timesteps_30"].to_vec1().unwrap(),
    );
    assert_eq!(a, b);
    let diff = void_models::ops::max_abs_diff(&ours["prev_sample"], &g["prev_30_999"]).unwrap();
    assert!(diff <= 1e-6, "{diff:e}");
}

/// Runs `void parity vae-encode|vae-decode` on `tensors` (saved under `name`) and returns the
/// written output.
fn vae(
    command: &str,
    name: &str,
    input: &candle_core::Tensor,
    extra: &[&str],
) -> std::collections::HashMap<String, candle_core::Tensor> {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("in.safetensors");
    candle_core::safetensors::save(
        &std::collections::HashMap::from([(name.to_string(), input.clone())]),
        &inputs,
    )
    .unwrap();
    let out = dir.path().join("out.safetensors");
    let result = Command::new(env!("CARGO_BIN_EXE_void"))
        .args(["parity", command, "--config", &golden("vae_config.json")])
        .args(["--weights", &golden("vae_weights.safetensors")])
        .args([
            "--inputs",
            inputs.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "{stderr}");
    assert!(stderr.contains("run"), "a timing line: {stderr}");
    candle_core::safetensors::load(&out, &Device::Cpu).unwrap()
}

#[test]
fn vae_encode_and_decode_match_void() {
    let io = candle_core::safetensors::load(golden("vae_io.safetensors"), &Device::Cpu).unwrap();
    let rel =
        |a: &candle_core::Tensor, b: &candle_core::Tensor| void_models::ops::rel_l2(a, b).unwrap();
    let latent = &vae("vae-encode", "video", &io["video_21"], &[])["latent"];
    assert!(rel(latent, &io["latent_21"]) <= 1e-5);
    let video = &vae("vae-decode", "latent", &io["z_21"], &[])["video"];
    assert!(rel(video, &io["decoded_21"]) <= 1e-5);
    let tiled = &vae("vae-decode", "latent", &io["tiled_z"], &["--tile", "48x40"])["video"];
    assert!(rel(tiled, &io["tiled_decoded"]) <= 1e-5);
    let bf16 = &vae("vae-encode", "video", &io["video_13"], &["--dtype", "bf16"])["latent"];
    assert!(rel(bf16, &io["latent_13"]) <= 3e-2);
}

fn parity_t5(inputs: &str, out: &str, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_void"))
        .args(["parity", "t5", "--config", &golden("t5_a_config.json")])
        .args(["--weights", &golden("t5_a_weights.safetensors")])
        .args(["--inputs", inputs, "--out", out])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn t5_writes_the_reference_output() {
    let dir = tempfile::tempdir().unwrap();
    let io = golden("t5_a_io.safetensors");
    let theirs = candle_core::safetensors::load(&io, &Device::Cpu).unwrap();
    let reference = &theirs["last_hidden_state"];
    let torch_bf16 =
        void_models::ops::rel_l2(&theirs["last_hidden_state_bf16"], reference).unwrap();
    for (dtype, bound) in [("f32", 1e-5), ("bf16", 1.5 * torch_bf16)] {
        let out = dir.path().join(format!("{dtype}.safetensors"));
        let result = parity_t5(
            &io,
            out.to_str().unwrap(),
            &["--dtype", dtype, "--repeat", "2"],
        );
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(result.status.success(), "{stderr}");
        assert!(
            stderr.contains("forward") && stderr.contains("median of 1"),
            "{stderr}"
        );
        let ours = candle_core::safetensors::load(&out, &Device::Cpu).unwrap();
        let hidden = &ours["last_hidden_state"];
        assert_eq!(hidden.dtype(), candle_core::DType::F32);
        let err = void_models::ops::rel_l2(hidden, reference).unwrap();
        assert!(err <= bound, "{dtype}: rel-L2 {err:e} > {bound:e}");
    }
}

#[test]
fn t5_bad_inputs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.safetensors");
    let inputs = dir.path().join("in.safetensors");
    let save = |name: &str, t: candle_core::Tensor| {
        candle_core::safetensors::save(&std::collections::HashMap::from([(name, t)]), &inputs)
            .unwrap()
    };
    let ids = candle_core::Tensor::new(&[[5i64, 100, 1, 0]], &Device::Cpu).unwrap();

    save("tokens", ids.clone());
    let result = parity_t5(inputs.to_str().unwrap(), out.to_str().unwrap(), &[]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!result.status.success());
    assert!(
        stderr.contains("in.safetensors: no tensor `input_ids`"),
        "{stderr}"
    );

    save("input_ids", ids);
    let result = parity_t5(inputs.to_str().unwrap(), out.to_str().unwrap(), &[]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!result.status.success());
    assert!(
        stderr.contains("in.safetensors: input_ids: token id 100 is outside the vocabulary"),
        "{stderr}"
    );
    assert!(!out.exists());
}

fn tokenizer_golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../void-tokenizer/tests/golden")
        .join(name)
}

fn tokenize(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_void"))
        .args(["parity", "tokenize"])
        .args(args)
        .output()
        .unwrap()
}

/// transformers' padded ids for text `i` of a case of the tokenizer goldens.
fn transformers_padded(case: &serde_json::Value, i: usize) -> Vec<u64> {
    let packed = &case["padded_226"][i];
    let mut ids: Vec<u64> = packed[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let pad = case["pad_token_id"].as_u64().unwrap();
    ids.extend(std::iter::repeat_n(
        pad,
        packed[1].as_u64().unwrap() as usize,
    ));
    ids
}

#[test]
fn tokenize_prints_transformers_ids() {
    let text = std::fs::read_to_string(tokenizer_golden("tokenizer_goldens.json")).unwrap();
    let g: serde_json::Value = serde_json::from_str(&text).unwrap();
    let texts = g["texts"].as_array().unwrap();
    let cases = g["tokenizers"].as_array().unwrap();
    let folder = tokenizer_golden("t5").display().to_string();
    for (case_name, legacy) in [("saved_legacy", "true"), ("saved_nonlegacy", "false")] {
        let case = cases.iter().find(|c| c["name"] == case_name).unwrap();
        // The sample prompts come first, then the edge cases; a few of each.
        for i in [0, 1, 5, 17, 24, texts.len() - 1] {
            let text = texts[i].as_str().unwrap();
            let result = tokenize(&[
                "--tokenizer",
                &folder,
                "--text",
                text,
                "--json",
                "--legacy",
                legacy,
            ]);
            let stderr = String::from_utf8_lossy(&result.stderr);
            assert!(result.status.success(), "{stderr}");
            let out: serde_json::Value = serde_json::from_slice(&result.stdout).unwrap();
            let ours: Vec<u64> = out["input_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
                .collect();
            assert_eq!(ours, transformers_padded(case, i), "{case_name} {text:?}");
        }
    }

    // Plain output: the ids on one line.
    let first = texts[0].as_str().unwrap();
    let result = tokenize(&[
        "--tokenizer",
        &folder,
        "--text",
        first,
        "--max-length",
        "226",
    ]);
    assert!(result.status.success());
    let line: Vec<u64> = String::from_utf8(result.stdout)
        .unwrap()
        .split_whitespace()
        .map(|id| id.parse().unwrap())
        .collect();
    let case = cases.iter().find(|c| c["name"] == "saved_legacy").unwrap();
    assert_eq!(line, transformers_padded(case, 0));
}

#[test]
fn tokenize_names_a_missing_folder() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("tokenizer");
    let result = tokenize(&["--tokenizer", missing.to_str().unwrap(), "--text", "x"]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!result.status.success());
    assert!(stderr.contains("tokenizer: no such folder"), "{stderr}");
}

#[test]
fn attention_writes_softmax_qk_v() {
    // softmax(q kᵀ / √d) v computed here on the whole score matrix, against the command's
    // (chunked on the CPU) output; and a missing input is named.
    let dir = tempfile::tempdir().unwrap();
    let dev = Device::Cpu;
    let q = candle_core::Tensor::randn(0f32, 1., (1, 2, 33, 16), &dev).unwrap();
    let k = candle_core::Tensor::randn(0f32, 1., (1, 2, 47, 16), &dev).unwrap();
    let v = candle_core::Tensor::randn(0f32, 1., (1, 2, 47, 16), &dev).unwrap();
    let inputs = dir.path().join("qkv.safetensors");
    let tensors = std::collections::HashMap::from([
        ("q".to_string(), q.clone()),
        ("k".to_string(), k.clone()),
        ("v".to_string(), v.clone()),
    ]);
    candle_core::safetensors::save(&tensors, &inputs).unwrap();
    let out = dir.path().join("out.safetensors");
    let run = |inputs: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_void"))
            .args(["parity", "attention", "--inputs"])
            .arg(inputs)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap()
    };
    let result = run(&inputs);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let scores = (q.matmul(&k.t().unwrap()).unwrap() * 0.25).unwrap();
    let last = candle_core::D::Minus1;
    let e = scores
        .broadcast_sub(&scores.max_keepdim(last).unwrap())
        .unwrap()
        .exp()
        .unwrap();
    let expected = e
        .broadcast_div(&e.sum_keepdim(last).unwrap())
        .unwrap()
        .matmul(&v)
        .unwrap();
    let ours = candle_core::safetensors::load(&out, &dev).unwrap();
    assert!(void_models::ops::rel_l2(&ours["out"], &expected).unwrap() <= 1e-6);

    let partial = dir.path().join("qk.safetensors");
    candle_core::safetensors::save(
        &std::collections::HashMap::from([("q".to_string(), q), ("k".to_string(), k)]),
        &partial,
    )
    .unwrap();
    let result = run(&partial);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!result.status.success());
    assert!(
        stderr.contains("qk.safetensors") && stderr.contains("`v`"),
        "{stderr}"
    );
}

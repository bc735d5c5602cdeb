//! `void download` against a local Hub (`HF_ENDPOINT`): the layout, a second run that fetches
//! nothing, `--offline` / `HF_HUB_OFFLINE`, and a clear error for a missing repository.

#![allow(clippy::unwrap_used)] // test helpers fail loudly by design

#[path = "../../void-hub/tests/support/hub_server.rs"]
mod hub_server;

use std::path::Path;
use std::process::{Command, Output};

use hub_server::{HubServer, base_repo, void_repo};

/// `void download ARGS` with `HF_ENDPOINT` set to `endpoint` and no inherited Hub settings.
fn void_download(endpoint: &str, args: &[&str], env: &[(&str, &str)]) -> (Output, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_void"));
    cmd.arg("download")
        .args(args)
        .env("HF_ENDPOINT", endpoint)
        .env_remove("HF_TOKEN")
        .env_remove("HF_HUB_OFFLINE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stderr)
}

fn dir_arg(dir: &Path) -> String {
    dir.display().to_string()
}

#[test]
fn downloads_then_skips_then_checks_offline() {
    let server = HubServer::start(vec![base_repo(), void_repo()]);
    let tmp = tempfile::tempdir().unwrap();
    let dir = dir_arg(tmp.path());

    let (out, stderr) = void_download(
        &server.endpoint,
        &["-q", "--dir", &dir],
        &[("HF_TOKEN", "hf_x")],
    );
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("downloaded 15 files"), "{stderr}");
    let base = tmp.path().join("CogVideoX-Fun-V1.5-5b-InP");
    assert!(
        base.join("text_encoder/model-00002-of-00002.safetensors")
            .is_file()
    );
    assert!(base.join("transformer/config.json").is_file());
    assert!(
        !base
            .join("transformer/diffusion_pytorch_model.safetensors")
            .exists()
    );
    assert!(tmp.path().join("void_pass2.safetensors").is_file());
    assert!(
        server
            .log()
            .iter()
            .any(|l| l.authorization.as_deref() == Some("Bearer hf_x")),
        "HF_TOKEN is sent"
    );

    server.clear_log();
    let (out, stderr) = void_download(&server.endpoint, &["--dir", &dir], &[]);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("nothing to download: all 15 files are present and verified"),
        "{stderr}"
    );
    assert_eq!(server.log().len(), 2, "listings only");

    server.clear_log();
    let (out, stderr) = void_download(&server.endpoint, &["--dir", &dir, "--offline"], &[]);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("all 15 model files"), "{stderr}");

    std::fs::remove_file(base.join("vae/config.json")).unwrap();
    let (out, stderr) = void_download(
        &server.endpoint,
        &["--dir", &dir],
        &[("HF_HUB_OFFLINE", "1")],
    );
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("CogVideoX-Fun-V1.5-5b-InP/vae/config.json: missing"),
        "{stderr}"
    );
    assert!(
        server.log().is_empty(),
        "offline used the network: {:?}",
        server.log()
    );
}

#[test]
fn leaves_out_pass2_on_request() {
    let server = HubServer::start(vec![base_repo(), void_repo()]);
    let tmp = tempfile::tempdir().unwrap();
    let dir = dir_arg(tmp.path());
    let (out, stderr) = void_download(&server.endpoint, &["--dir", &dir, "--no-pass2"], &[]);
    assert!(out.status.success(), "{stderr}");
    // Not a terminal, not quiet: a line per file instead of bars.
    assert!(
        stderr.contains("fetched void_pass1.safetensors (390.62 KiB)"),
        "{stderr}"
    );
    assert!(!stderr.contains("void_pass2"), "{stderr}");
    assert!(tmp.path().join("void_pass1.safetensors").is_file());
    assert!(!tmp.path().join("void_pass2.safetensors").exists());
}

#[test]
fn names_a_missing_repository() {
    let server = HubServer::start(vec![base_repo()]);
    let tmp = tempfile::tempdir().unwrap();
    let dir = dir_arg(tmp.path());
    let (out, stderr) = void_download(&server.endpoint, &["-q", "--dir", &dir], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("netflix/void-model: repository not found"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one error line: {stderr}");
}

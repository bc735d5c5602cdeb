//! Which files of the two repositories void needs, decided from their listings by folder and
//! kind rather than from a fixed list, so that renamed or re-sharded weights still come.
//!
//! From the base model, `alibaba-pai/CogVideoX-Fun-V1.5-5b-InP`: `model_index.json`,
//! `transformer/config.json` but none of the transformer's weights (the VOID checkpoints
//! replace every one of them, spec §2.4, so its 11 GB are never read), and the `.json`,
//! `.safetensors` and `.model` files directly inside `vae/`, `text_encoder/`, `tokenizer/` and
//! `scheduler/`. Not: README, images, `.gitattributes`, PyTorch `.bin` weights and their index.
//! From `netflix/void-model`: `void_pass1.safetensors` and, unless left out,
//! `void_pass2.safetensors`.

use crate::error::{Error, Result};
use crate::listing::{Listing, RemoteFile};

/// The base model's repository.
pub const BASE_REPO: &str = "alibaba-pai/CogVideoX-Fun-V1.5-5b-InP";

/// The VOID checkpoints' repository.
pub const VOID_REPO: &str = "netflix/void-model";

/// The base model's folder inside the download folder (the name the reference expects).
pub const BASE_DIR_NAME: &str = "CogVideoX-Fun-V1.5-5b-InP";

/// The Pass 1 checkpoint's file name, in the repository and on disk.
pub const PASS1_FILE: &str = "void_pass1.safetensors";

/// The Pass 2 checkpoint's file name, in the repository and on disk.
pub const PASS2_FILE: &str = "void_pass2.safetensors";

/// Base-model folders whose files are taken (those the pipeline reads, besides
/// `transformer/config.json`).
const COMPONENTS: [&str; 4] = ["vae", "text_encoder", "tokenizer", "scheduler"];

/// Extensions of the files taken from those folders.
const EXTENSIONS: [&str; 3] = ["json", "safetensors", "model"];

/// Whether the base model's file at `path` (repository path) is one void needs.
pub fn is_needed_base_file(path: &str) -> bool {
    if path == "model_index.json" || path == "transformer/config.json" {
        return true;
    }
    let Some((folder, name)) = path.split_once('/') else {
        return false;
    };
    COMPONENTS.contains(&folder)
        && !name.contains('/')
        && !name.ends_with(".bin.index.json")
        && name
            .rsplit_once('.')
            .is_some_and(|(stem, ext)| !stem.is_empty() && EXTENSIONS.contains(&ext))
}

/// The base model's files void needs, checked for the ones it cannot do without.
///
/// # Errors
/// [`Error::MissingRemoteFile`] when the listing lacks a config, the VAE's or the text
/// encoder's weights, the tokenizer model or the scheduler config.
pub fn select_base(listing: &Listing) -> Result<Vec<&RemoteFile>> {
    let selected: Vec<&RemoteFile> = listing
        .files
        .iter()
        .filter(|f| is_needed_base_file(&f.path))
        .collect();
    let has = |pred: &dyn Fn(&str) -> bool| selected.iter().any(|f| pred(&f.path));
    let weights_in =
        |folder: &'static str| move |p: &str| p.starts_with(folder) && p.ends_with(".safetensors");
    let required: [(&str, bool); 7] = [
        (
            "transformer/config.json",
            has(&|p| p == "transformer/config.json"),
        ),
        ("vae/config.json", has(&|p| p == "vae/config.json")),
        ("vae/*.safetensors", has(&weights_in("vae/"))),
        (
            "text_encoder/config.json",
            has(&|p| p == "text_encoder/config.json"),
        ),
        (
            "text_encoder/*.safetensors",
            has(&weights_in("text_encoder/")),
        ),
        (
            "tokenizer/spiece.model",
            has(&|p| p == "tokenizer/spiece.model" || p == "tokenizer/tokenizer.json"),
        ),
        (
            "scheduler/scheduler_config.json",
            has(&|p| p == "scheduler/scheduler_config.json"),
        ),
    ];
    if let Some((path, _)) = required.iter().find(|(_, present)| !present) {
        return Err(Error::MissingRemoteFile {
            repo: listing.repo.clone(),
            commit: listing.commit.clone(),
            path: (*path).to_string(),
            hint: "void needs it; is this the CogVideoX-Fun-V1.5-5b-InP base model?",
        });
    }
    Ok(selected)
}

/// The VOID checkpoints: Pass 1's, and Pass 2's when `pass2`.
///
/// # Errors
/// [`Error::MissingRemoteFile`] when the listing lacks one of them.
pub fn select_void(listing: &Listing, pass2: bool) -> Result<Vec<&RemoteFile>> {
    let names: &[&str] = if pass2 {
        &[PASS1_FILE, PASS2_FILE]
    } else {
        &[PASS1_FILE]
    };
    names
        .iter()
        .map(|name| {
            listing.get(name).ok_or_else(|| Error::MissingRemoteFile {
                repo: listing.repo.clone(),
                commit: listing.commit.clone(),
                path: (*name).to_string(),
                hint: "void needs this VOID checkpoint",
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn listing(paths: &[&str]) -> Listing {
        Listing {
            repo: BASE_REPO.into(),
            revision: "main".into(),
            commit: "c0ffee".into(),
            files: paths
                .iter()
                .map(|p| RemoteFile {
                    path: (*p).into(),
                    size: 1,
                    digest: None,
                })
                .collect(),
        }
    }

    /// The base model's files as the Hub lists them (plus kinds that must be left out).
    const BASE: [&str; 22] = [
        ".gitattributes",
        "README.md",
        "asset/1.gif",
        "model_index.json",
        "scheduler/scheduler_config.json",
        "text_encoder/config.json",
        "text_encoder/model-00001-of-00002.safetensors",
        "text_encoder/model-00002-of-00002.safetensors",
        "text_encoder/model.safetensors.index.json",
        "text_encoder/pytorch_model.bin.index.json",
        "text_encoder/pytorch_model-00001-of-00002.bin",
        "tokenizer/added_tokens.json",
        "tokenizer/special_tokens_map.json",
        "tokenizer/spiece.model",
        "tokenizer/tokenizer_config.json",
        "tokenizer/README.md",
        "transformer/config.json",
        "transformer/diffusion_pytorch_model.safetensors",
        "transformer/diffusion_pytorch_model.safetensors.index.json",
        "vae/config.json",
        "vae/diffusion_pytorch_model.safetensors",
        "vae/old/diffusion_pytorch_model.safetensors",
    ];

    #[test]
    fn takes_what_the_pipeline_reads_and_no_transformer_weights() {
        let l = listing(&BASE);
        let picked: Vec<&str> = select_base(&l)
            .unwrap()
            .iter()
            .map(|f| f.path.as_str())
            .collect();
        assert_eq!(
            picked,
            [
                "model_index.json",
                "scheduler/scheduler_config.json",
                "text_encoder/config.json",
                "text_encoder/model-00001-of-00002.safetensors",
                "text_encoder/model-00002-of-00002.safetensors",
                "text_encoder/model.safetensors.index.json",
                "tokenizer/added_tokens.json",
                "tokenizer/special_tokens_map.json",
                "tokenizer/spiece.model",
                "tokenizer/tokenizer_config.json",
                "transformer/config.json",
                "vae/config.json",
                "vae/diffusion_pytorch_model.safetensors",
            ]
        );
    }

    #[test]
    fn follows_renamed_shards() {
        let mut paths: Vec<&str> = BASE
            .iter()
            .copied()
            .filter(|p| !p.starts_with("text_encoder/model"))
            .collect();
        paths.push("text_encoder/model.safetensors");
        let l = listing(&paths);
        assert!(
            select_base(&l)
                .unwrap()
                .iter()
                .any(|f| f.path == "text_encoder/model.safetensors")
        );
    }

    #[test]
    fn names_what_a_wrong_repository_lacks() {
        let paths: Vec<&str> = BASE
            .iter()
            .copied()
            .filter(|p| !p.starts_with("vae/"))
            .collect();
        let err = select_base(&listing(&paths)).unwrap_err();
        assert!(err.to_string().contains("vae/config.json"), "{err}");
    }

    #[test]
    fn takes_the_void_checkpoints() {
        let l = listing(&["README.md", PASS1_FILE, PASS2_FILE]);
        assert_eq!(select_void(&l, true).unwrap().len(), 2);
        assert_eq!(select_void(&l, false).unwrap()[0].path, PASS1_FILE);
        let err = select_void(&listing(&[PASS1_FILE]), true).unwrap_err();
        assert!(err.to_string().contains(PASS2_FILE), "{err}");
    }
}

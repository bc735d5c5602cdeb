//! Where the model files live on disk, and whether the ones void reads are there.
//!
//! The layout is the reference's: a base-model folder as the Hub has it
//! (`CogVideoX-Fun-V1.5-5b-InP/{transformer,vae,text_encoder,tokenizer,scheduler}/...`) and the
//! two VOID checkpoints beside it, so a folder set up for the Python reference works unchanged.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::download::part_path;
use crate::selection::{BASE_DIR_NAME, PASS1_FILE, PASS2_FILE};

/// File names a diffusers component folder may keep its weights under, in the order tried
/// (the same order `void-weights` opens them in).
const WEIGHT_FILES: [&str; 4] = [
    "diffusion_pytorch_model.safetensors.index.json",
    "diffusion_pytorch_model.safetensors",
    "model.safetensors.index.json",
    "model.safetensors",
];

/// The model files void runs on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelLocation {
    /// The base-model folder (holding `transformer/config.json`, `vae/`, `text_encoder/`,
    /// `tokenizer/`, `scheduler/`).
    pub base_dir: PathBuf,
    /// The Pass 1 checkpoint (`void_pass1.safetensors`).
    pub pass1: PathBuf,
    /// The Pass 2 checkpoint, when Pass 2 is wanted.
    pub pass2: Option<PathBuf>,
}

impl ModelLocation {
    /// The layout `void download` writes under `dir`: `dir/CogVideoX-Fun-V1.5-5b-InP/`,
    /// `dir/void_pass1.safetensors`, `dir/void_pass2.safetensors`.
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            base_dir: dir.join(BASE_DIR_NAME),
            pass1: dir.join(PASS1_FILE),
            pass2: Some(dir.join(PASS2_FILE)),
        }
    }

    /// The same without the Pass 2 checkpoint.
    pub fn without_pass2(self) -> Self {
        Self {
            pass2: None,
            ..self
        }
    }

    /// `transformer/config.json` of the base model.
    pub fn transformer_config(&self) -> PathBuf {
        self.base_dir.join("transformer").join("config.json")
    }

    /// The VAE folder (`config.json` and its weights).
    pub fn vae_dir(&self) -> PathBuf {
        self.base_dir.join("vae")
    }

    /// The T5 text encoder folder (`config.json` and its weights, usually sharded).
    pub fn text_encoder_dir(&self) -> PathBuf {
        self.base_dir.join("text_encoder")
    }

    /// The tokenizer folder (`spiece.model` and its JSON files).
    pub fn tokenizer_dir(&self) -> PathBuf {
        self.base_dir.join("tokenizer")
    }

    /// `scheduler/scheduler_config.json` of the base model.
    pub fn scheduler_config(&self) -> PathBuf {
        self.base_dir
            .join("scheduler")
            .join("scheduler_config.json")
    }
}

/// The folder `void download` uses when none is given: `$VOID_HOME`, else
/// `$XDG_CACHE_HOME/void`, else `~/.cache/void`; `None` when none of these is known.
pub fn default_dir() -> Option<PathBuf> {
    default_dir_from(&|name| std::env::var_os(name), std::env::home_dir())
}

/// [`default_dir`] with the environment and home folder given.
fn default_dir_from(
    var: &dyn Fn(&str) -> Option<OsString>,
    home: Option<PathBuf>,
) -> Option<PathBuf> {
    let set = |name| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    set("VOID_HOME")
        .or_else(|| set("XDG_CACHE_HOME").map(|d| d.join("void")))
        .or_else(|| {
            home.filter(|h| !h.as_os_str().is_empty())
                .map(|h| h.join(".cache").join("void"))
        })
}

/// What is wrong with one model file.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProblemKind {
    /// Not there.
    Missing,
    /// Not there, but an interrupted download of it is (`<file>.part`, `have` bytes).
    Partial {
        /// Bytes downloaded so far.
        have: u64,
    },
    /// There, with another size than the one recorded when it was downloaded.
    WrongSize {
        /// The recorded size.
        expected: u64,
        /// The size on disk.
        found: u64,
    },
    /// There but unusable (an index that cannot be read).
    Unreadable(String),
}

/// One model file that is not as it should be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The file.
    pub path: PathBuf,
    /// What is wrong.
    pub kind: ProblemKind,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match &self.kind {
            ProblemKind::Missing => write!(f, "{path}: missing"),
            ProblemKind::Partial { have } => write!(
                f,
                "{path}: missing (an interrupted download of {have} bytes is there)"
            ),
            ProblemKind::WrongSize { expected, found } => write!(
                f,
                "{path}: {found} bytes, but {expected} were downloaded; damaged or replaced?"
            ),
            ProblemKind::Unreadable(reason) => write!(f, "{path}: {reason}"),
        }
    }
}

/// Model files that are missing or not as they should be.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct MissingFiles {
    /// Each file and what is wrong with it, in a stable order.
    pub problems: Vec<Problem>,
}

impl fmt::Display for MissingFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        writeln!(
            f,
            "{n} model file{} missing or incomplete:",
            if n == 1 { " is" } else { "s are" }
        )?;
        for p in &self.problems {
            writeln!(f, "  {p}")?;
        }
        write!(
            f,
            "run `void download` to fetch them (or pass --model-dir/--transformer to use files elsewhere)"
        )
    }
}

/// Checks that every file void reads from `location` is there: the transformer's
/// `config.json`, the VAE's config and weights, the text encoder's config, weights and every
/// shard its index names, the tokenizer's `spiece.model` (or `tokenizer.json`) and
/// `tokenizer_config.json`, the scheduler's config and the VOID checkpoints. Only presence is
/// checked (and that an index can be read), not content.
///
/// # Errors
/// [`MissingFiles`] listing every file that is not there.
pub fn verify_present(location: &ModelLocation) -> Result<(), MissingFiles> {
    let problems = check_layout(location).1;
    if problems.is_empty() {
        Ok(())
    } else {
        Err(MissingFiles { problems })
    }
}

/// The files [`verify_present`] looked at that are there, and the problems it found.
pub(crate) fn check_layout(location: &ModelLocation) -> (Vec<PathBuf>, Vec<Problem>) {
    let mut check = Checker::default();
    check.file(location.transformer_config());
    for folder in [location.vae_dir(), location.text_encoder_dir()] {
        check.file(folder.join("config.json"));
        check.weights(&folder);
    }
    let tokenizer = location.tokenizer_dir();
    if tokenizer.join("tokenizer.json").is_file() {
        check.file(tokenizer.join("tokenizer.json"));
    } else {
        check.file(tokenizer.join("spiece.model"));
    }
    check.file(tokenizer.join("tokenizer_config.json"));
    check.file(location.scheduler_config());
    check.file(location.pass1.clone());
    if let Some(pass2) = &location.pass2 {
        check.file(pass2.clone());
    }
    (check.present, check.problems)
}

/// Collects present files and problems.
#[derive(Default)]
struct Checker {
    present: Vec<PathBuf>,
    problems: Vec<Problem>,
}

impl Checker {
    /// Whether `path` is a file; a problem when not.
    fn file(&mut self, path: PathBuf) -> bool {
        if path.is_file() {
            self.present.push(path);
            return true;
        }
        let kind = match std::fs::metadata(part_path(&path)) {
            Ok(m) if m.is_file() => ProblemKind::Partial { have: m.len() },
            _ => ProblemKind::Missing,
        };
        self.problems.push(Problem { path, kind });
        false
    }

    /// A component folder's weights: a single file, or an index and every shard it names.
    fn weights(&mut self, folder: &Path) {
        let Some(found) = WEIGHT_FILES
            .iter()
            .map(|f| folder.join(f))
            .find(|p| p.is_file())
        else {
            // Name the file the Hub's layout has: an index for the text encoder, one file for
            // the VAE.
            let expected = if folder.ends_with("text_encoder") {
                WEIGHT_FILES[2]
            } else {
                WEIGHT_FILES[1]
            };
            self.file(folder.join(expected));
            return;
        };
        self.present.push(found.clone());
        if !found.to_string_lossy().ends_with(".index.json") {
            return;
        }
        match index_shards(&found) {
            Ok(shards) => {
                for shard in shards {
                    self.file(folder.join(shard));
                }
            }
            Err(reason) => {
                self.present.pop();
                self.problems.push(Problem {
                    path: found,
                    kind: ProblemKind::Unreadable(reason),
                });
            }
        }
    }
}

/// The shard file names a `*.safetensors.index.json` maps tensors to, sorted, each once.
fn index_shards(index: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(index).map_err(|e| format!("cannot read: {e}"))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))?;
    let map = json
        .get("weight_map")
        .and_then(|m| m.as_object())
        .ok_or("no `weight_map` object")?;
    let mut shards = Vec::new();
    for value in map.values() {
        let name = value
            .as_str()
            .ok_or("a `weight_map` value is not a file name")?;
        if name.contains(['/', '\\']) || name == ".." || name.is_empty() {
            return Err(format!("refusing shard name {name:?}"));
        }
        shards.push(name.to_string());
    }
    shards.sort();
    shards.dedup();
    Ok(shards)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::fs;

    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn default_dir_prefers_void_home_then_xdg_then_home() {
        let home = Some(PathBuf::from("/home/u"));
        let dir = |pairs: &[(&str, &str)]| default_dir_from(&env(pairs), home.clone());
        assert_eq!(
            dir(&[("VOID_HOME", "/models"), ("XDG_CACHE_HOME", "/c")]),
            Some("/models".into())
        );
        assert_eq!(
            dir(&[("VOID_HOME", ""), ("XDG_CACHE_HOME", "/c")]),
            Some("/c/void".into())
        );
        assert_eq!(dir(&[]), Some("/home/u/.cache/void".into()));
        assert_eq!(default_dir_from(&env(&[]), None), None);
    }

    /// Writes the files of a complete layout under `dir`.
    fn complete_layout(dir: &Path) -> ModelLocation {
        let loc = ModelLocation::in_dir(dir);
        let files = [
            "transformer/config.json",
            "vae/config.json",
            "vae/diffusion_pytorch_model.safetensors",
            "text_encoder/config.json",
            "text_encoder/model-00001-of-00002.safetensors",
            "text_encoder/model-00002-of-00002.safetensors",
            "tokenizer/spiece.model",
            "tokenizer/tokenizer_config.json",
            "scheduler/scheduler_config.json",
        ];
        for f in files {
            let p = loc.base_dir.join(f);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, b"x").unwrap();
        }
        fs::write(
            loc.text_encoder_dir().join("model.safetensors.index.json"),
            r#"{"metadata":{},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors","c":"model-00001-of-00002.safetensors"}}"#,
        )
        .unwrap();
        fs::write(&loc.pass1, b"x").unwrap();
        fs::write(loc.pass2.as_ref().unwrap(), b"x").unwrap();
        loc
    }

    #[test]
    fn accepts_a_complete_layout() {
        let tmp = tempfile::tempdir().unwrap();
        let loc = complete_layout(tmp.path());
        verify_present(&loc).unwrap();
        assert_eq!(check_layout(&loc).0.len(), 12);
    }

    #[test]
    fn names_missing_shards_and_checkpoints() {
        let tmp = tempfile::tempdir().unwrap();
        let loc = complete_layout(tmp.path());
        let shard = loc
            .text_encoder_dir()
            .join("model-00002-of-00002.safetensors");
        fs::remove_file(&shard).unwrap();
        fs::write(part_path(&shard), b"abc").unwrap();
        fs::remove_file(loc.pass2.as_ref().unwrap()).unwrap();
        let err = verify_present(&loc).unwrap_err();
        assert_eq!(
            err.problems,
            [
                Problem {
                    path: shard,
                    kind: ProblemKind::Partial { have: 3 }
                },
                Problem {
                    path: loc.pass2.clone().unwrap(),
                    kind: ProblemKind::Missing
                },
            ]
        );
        let text = err.to_string();
        assert!(text.contains("void download"), "{text}");
        assert!(text.contains("void_pass2.safetensors: missing"), "{text}");
        // Without Pass 2 only the shard is missing.
        let err = verify_present(&loc.without_pass2()).unwrap_err();
        assert_eq!(err.problems.len(), 1);
    }

    #[test]
    fn reports_an_unreadable_index() {
        let tmp = tempfile::tempdir().unwrap();
        let loc = complete_layout(tmp.path());
        fs::write(
            loc.text_encoder_dir().join("model.safetensors.index.json"),
            "{",
        )
        .unwrap();
        let err = verify_present(&loc).unwrap_err();
        assert!(matches!(err.problems[0].kind, ProblemKind::Unreadable(_)));
    }

    #[test]
    fn an_empty_folder_lacks_everything() {
        let tmp = tempfile::tempdir().unwrap();
        let err = verify_present(&ModelLocation::in_dir(tmp.path())).unwrap_err();
        let names: Vec<String> = err
            .problems
            .iter()
            .map(|p| {
                p.path
                    .strip_prefix(tmp.path())
                    .unwrap()
                    .display()
                    .to_string()
            })
            .collect();
        assert!(
            names.contains(
                &"CogVideoX-Fun-V1.5-5b-InP/text_encoder/model.safetensors.index.json".to_string()
            ),
            "{names:?}"
        );
        assert!(names.contains(
            &"CogVideoX-Fun-V1.5-5b-InP/vae/diffusion_pytorch_model.safetensors".to_string()
        ));
        assert_eq!(names.len(), 10);
    }
}

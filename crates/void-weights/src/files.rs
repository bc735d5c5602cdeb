//! Opening safetensors files and building models from them with strict checks.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use candle_core::safetensors::MmapedSafetensors;
use candle_core::{DType, Device, Shape, Tensor};
use candle_nn::VarBuilder;
use candle_nn::var_builder::SimpleBackend;

use crate::{Error, Result};

/// How many offending keys an error lists.
const EXAMPLES: usize = 5;

/// File names a diffusers component folder may hold, in the order tried.
const FOLDER_FILES: [&str; 4] = [
    "diffusion_pytorch_model.safetensors.index.json",
    "diffusion_pytorch_model.safetensors",
    "model.safetensors.index.json",
    "model.safetensors",
];

/// Rewrites a stored tensor into the shape the model asks for (e.g. widening a layer), or
/// returns it unchanged. Called with the key, the wanted shape and the stored tensor.
pub type Adapt<'a> = &'a (dyn Fn(&str, &Shape, Tensor) -> candle_core::Result<Tensor> + Sync);

/// One weight set: a safetensors file, or the shards of an index, memory-mapped.
pub struct WeightFiles {
    label: PathBuf,
    tensors: MmapedSafetensors,
    shapes: BTreeMap<String, (safetensors::Dtype, Vec<usize>)>,
    /// (key, alias) pairs naming one tied tensor; see [`WeightFiles::with_tied`].
    tied: Vec<(String, String)>,
}

impl WeightFiles {
    /// Opens `path`: a `.safetensors` file, a `*.safetensors.index.json` (shards beside it), or a
    /// diffusers component folder holding one of those.
    ///
    /// The files are memory-mapped: they must not change while the model is loaded.
    ///
    /// # Errors
    /// [`Error::Unreadable`] for a missing, truncated or invalid file.
    pub fn open(path: &Path) -> Result<Self> {
        let unreadable = |p: &Path, reason: String| Error::Unreadable {
            path: p.to_path_buf(),
            reason,
        };
        let (label, shards) = resolve(path)?;
        for shard in &shards {
            std::fs::File::open(shard)
                .map_err(|e| unreadable(shard, format!("cannot open: {e}")))?;
        }
        // SAFETY: the maps are read-only; the files must not be modified while mapped, which
        // the documentation above asks of the caller (the same contract as every mmap loader).
        #[allow(unsafe_code)]
        let tensors = unsafe { MmapedSafetensors::multi(&shards) }.map_err(|e| {
            unreadable(
                &label,
                format!("not a valid safetensors file (truncated or corrupt?): {e}"),
            )
        })?;
        let shapes = tensors
            .tensors()
            .into_iter()
            .map(|(name, view)| (name, (view.dtype(), view.shape().to_vec())))
            .collect();
        Ok(Self {
            label,
            tensors,
            shapes,
            tied: Vec::new(),
        })
    }

    /// Declares `alias` a tied copy of `key`: one tensor that checkpoints may store under
    /// either name or both (transformers' tied embeddings: `shared.weight` and
    /// `encoder.embed_tokens.weight`). The model asks for `key`; it is read from `key` if stored,
    /// else from `alias`. A stored copy the model does not read is not an unused tensor, but must
    /// have the same shape.
    pub fn with_tied(mut self, key: &str, alias: &str) -> Self {
        self.tied.push((key.to_string(), alias.to_string()));
        self
    }

    /// The stored name the model's `key` is read from: `key`, or its tied alias if only that is
    /// stored.
    fn stored_name<'a>(&'a self, key: &'a str) -> &'a str {
        if self.shapes.contains_key(key) {
            return key;
        }
        self.tied
            .iter()
            .find(|(k, alias)| k == key && self.shapes.contains_key(alias))
            .map_or(key, |(_, alias)| alias.as_str())
    }

    /// The tied alias of `key`, if one is declared.
    fn alias_of(&self, key: &str) -> Option<&str> {
        self.tied
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, alias)| alias.as_str())
    }

    /// The file (or index) the weights came from.
    pub fn path(&self) -> &Path {
        &self.label
    }

    /// The stored shape of `key`, if present.
    pub fn shape(&self, key: &str) -> Option<&[usize]> {
        self.shapes.get(key).map(|(_, s)| s.as_slice())
    }

    /// Number of tensors.
    pub fn len(&self) -> usize {
        self.shapes.len()
    }

    /// Whether there are no tensors.
    pub fn is_empty(&self) -> bool {
        self.shapes.is_empty()
    }

    /// Builds a model with `make`, handing it a `VarBuilder` of `dtype` on `device` that reads
    /// these files through `adapt`. Fails if the model asks for a tensor that is missing, of
    /// another shape or of a non-float dtype, or leaves any stored tensor unused.
    ///
    /// # Errors
    /// [`Error::MissingKey`], [`Error::ShapeMismatch`], [`Error::UnsupportedDtype`],
    /// [`Error::UnexpectedKeys`], or [`Error::Model`] with the model's own error.
    pub fn build<T, E: std::fmt::Display>(
        &self,
        dtype: DType,
        device: &Device,
        adapt: Adapt<'_>,
        make: impl FnOnce(VarBuilder<'_>) -> Result<T, E>,
    ) -> Result<T> {
        let tracker = Tracker {
            files: self,
            adapt,
            used: Mutex::default(),
            problem: Mutex::default(),
        };
        let result = {
            let vb = VarBuilder::from_backend(Box::new(&tracker), dtype, device.clone());
            make(vb)
        };
        let model = match result {
            Ok(model) => model,
            Err(e) => {
                let problem = tracker.problem.lock().ok().and_then(|mut p| p.take());
                return Err(problem.unwrap_or_else(|| Error::Model {
                    path: self.label.clone(),
                    reason: e.to_string(),
                }));
            }
        };
        let mut used = tracker.used.lock().map(|u| u.clone()).unwrap_or_default();
        // A read tied tensor accounts for its stored copy, which must have the same shape.
        for (key, alias) in &self.tied {
            if !(used.contains(key) || used.contains(alias)) {
                continue;
            }
            if let (Some(a), Some(b)) = (self.shape(key), self.shape(alias))
                && a != b
            {
                return Err(Error::ShapeMismatch {
                    path: self.label.clone(),
                    key: alias.clone(),
                    expected: a.to_vec(),
                    found: b.to_vec(),
                });
            }
            used.extend([key.clone(), alias.clone()]);
        }
        let unused: Vec<&String> = self.shapes.keys().filter(|k| !used.contains(*k)).collect();
        if !unused.is_empty() {
            let examples = unused
                .iter()
                .take(EXAMPLES)
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(Error::UnexpectedKeys {
                path: self.label.clone(),
                count: unused.len(),
                examples,
            });
        }
        Ok(model)
    }
}

/// The shard files an index names, beside it, in first-seen order.
/// The file `path` names (itself, or the weights file in a component folder) and the
/// safetensors files that hold its tensors (the shards of an index, or the file itself).
fn resolve(path: &Path) -> Result<(PathBuf, Vec<PathBuf>)> {
    let label = if path.is_dir() {
        FOLDER_FILES
            .iter()
            .map(|f| path.join(f))
            .find(|p| p.is_file())
            .ok_or_else(|| Error::Unreadable {
                path: path.to_path_buf(),
                reason: format!(
                    "no weights in this folder (looked for {})",
                    FOLDER_FILES.join(", ")
                ),
            })?
    } else {
        path.to_path_buf()
    };
    let shards = if label.to_string_lossy().ends_with(".index.json") {
        index_shards(&label)?
    } else {
        vec![label.clone()]
    };
    Ok((label, shards))
}

/// Reads every safetensors file of `path` (as [`WeightFiles::open`] finds them) once from
/// start to end and discards the bytes, so that a later load finds them in the operating
/// system's page cache: run it on a thread while other work goes on to hide the disk. Returns
/// the bytes read.
///
/// # Errors
/// [`Error::Unreadable`] naming the file that cannot be found or read.
pub fn prefetch(path: &Path) -> Result<u64> {
    use std::io::Read;
    let (_, shards) = resolve(path)?;
    let mut buffer = vec![0u8; 8 << 20];
    let mut total = 0;
    for shard in &shards {
        let unreadable = |e: std::io::Error| Error::Unreadable {
            path: shard.clone(),
            reason: format!("cannot read: {e}"),
        };
        let mut file = std::fs::File::open(shard).map_err(unreadable)?;
        loop {
            let n = file.read(&mut buffer).map_err(unreadable)?;
            if n == 0 {
                break;
            }
            total += n as u64;
        }
    }
    Ok(total)
}

fn index_shards(index: &Path) -> Result<Vec<PathBuf>> {
    let bad = |reason: String| Error::Unreadable {
        path: index.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(index).map_err(|e| bad(format!("cannot read: {e}")))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| bad(format!("not valid JSON: {e}")))?;
    let map = json
        .get("weight_map")
        .and_then(|m| m.as_object())
        .ok_or_else(|| bad("no \"weight_map\" object".into()))?;
    let dir = index.parent().unwrap_or(Path::new("."));
    let mut seen = BTreeSet::new();
    let mut shards = Vec::new();
    for file in map.values() {
        let file = file
            .as_str()
            .ok_or_else(|| bad(format!("weight_map value {file} is not a file name")))?;
        if seen.insert(file.to_string()) {
            shards.push(dir.join(file));
        }
    }
    Ok(shards)
}

/// The `VarBuilder` backend: records what the model asks for and the first problem met.
struct Tracker<'a> {
    files: &'a WeightFiles,
    adapt: Adapt<'a>,
    used: Mutex<BTreeSet<String>>,
    problem: Mutex<Option<Error>>,
}

impl Tracker<'_> {
    /// Records `error` (if it is the first) and returns a candle error carrying its text.
    fn fail(&self, error: Error) -> candle_core::Error {
        let msg = error.to_string();
        if let Ok(mut p) = self.problem.lock() {
            p.get_or_insert(error);
        }
        candle_core::Error::Msg(msg)
    }

    fn load(
        &self,
        name: &str,
        want: Option<&Shape>,
        dtype: DType,
        dev: &Device,
    ) -> candle_core::Result<Tensor> {
        let name = self.files.stored_name(name);
        if let Ok(mut used) = self.used.lock() {
            used.insert(name.to_string());
        }
        let path = self.files.label.clone();
        let Some((stored, _)) = self.files.shapes.get(name) else {
            let examples: Vec<String> = self
                .files
                .shapes
                .keys()
                .take(3)
                .map(|k| format!("`{k}`"))
                .collect();
            let tied = self
                .files
                .alias_of(name)
                .map(|alias| format!("nor its tied copy `{alias}`; "))
                .unwrap_or_default();
            let hint = format!(
                "{tied}it holds {} tensors, e.g. {}; is it the right model?",
                self.files.len(),
                examples.join(", ")
            );
            return Err(self.fail(Error::MissingKey {
                path,
                key: name.to_string(),
                hint,
            }));
        };
        use safetensors::Dtype as St;
        if !matches!(stored, St::F32 | St::F16 | St::BF16 | St::F64) {
            return Err(self.fail(Error::UnsupportedDtype {
                path,
                key: name.to_string(),
                dtype: format!("{stored:?}"),
            }));
        }
        let tensor = self.files.tensors.load(name, dev)?;
        let tensor = match want {
            Some(shape) => {
                let tensor = (self.adapt)(name, shape, tensor)?;
                if tensor.shape() != shape {
                    return Err(self.fail(Error::ShapeMismatch {
                        path,
                        key: name.to_string(),
                        expected: shape.dims().to_vec(),
                        found: tensor.dims().to_vec(),
                    }));
                }
                tensor
            }
            None => tensor,
        };
        tensor.to_dtype(dtype)
    }
}

impl SimpleBackend for &Tracker<'_> {
    fn get(
        &self,
        s: Shape,
        name: &str,
        _: candle_nn::Init,
        dtype: DType,
        dev: &Device,
    ) -> candle_core::Result<Tensor> {
        self.load(name, Some(&s), dtype, dev)
    }

    fn get_unchecked(&self, name: &str, dtype: DType, dev: &Device) -> candle_core::Result<Tensor> {
        self.load(name, None, dtype, dev)
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.files.shapes.contains_key(self.files.stored_name(name))
    }
}

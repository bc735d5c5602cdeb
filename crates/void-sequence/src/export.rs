//! Pass 1's inputs as a safetensors file, for diffing against the reference.
//!
//! Tensors: `video` `[F, 3, H, W]` f32 in [0, 1] and `mask` `[F, 1, H, W]` f32 in {1, 127/255, 0}
//! (quantised, inverted, trimask-requantised, still padded). Metadata records where they came
//! from and how to undo the padding and resize.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use safetensors::{Dtype, View};

use crate::{Error, Pass1Inputs, Result};

/// A padded `[F, C, H, W]` f32 tensor whose frames are produced on demand.
struct PaddedTensor<'a> {
    shape: [usize; 4],
    frame: Box<dyn Fn(usize) -> Cow<'a, [f32]> + 'a>,
}

impl View for PaddedTensor<'_> {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }

    fn shape(&self) -> &[usize] {
        &self.shape
    }

    fn data(&self) -> Cow<'_, [u8]> {
        let mut bytes = Vec::with_capacity(self.data_len());
        for i in 0..self.shape[0] {
            for v in (self.frame)(i).iter() {
                bytes.extend_from_slice(&v.to_le_bytes());
            }
        }
        Cow::Owned(bytes)
    }

    fn data_len(&self) -> usize {
        self.shape.iter().product::<usize>() * 4
    }
}

/// Writes `video` and `mask` with their metadata to `path`, through a temporary file that
/// replaces `path` only once complete.
///
/// # Errors
/// [`Error::Write`] if the folder is not writable or serialisation fails.
pub fn write_safetensors(inputs: &Pass1Inputs, path: &Path) -> Result<()> {
    let fail = |reason: String| Error::Write {
        path: path.to_path_buf(),
        reason,
    };
    let (h, w) = (
        inputs.sample_size.height as usize,
        inputs.sample_size.width as usize,
    );
    let frames = inputs.padded_frames();
    let video = PaddedTensor {
        shape: [frames, 3, h, w],
        frame: Box::new(|i| Cow::Borrowed(inputs.video.frames[inputs.video.pad[i]].as_slice())),
    };
    let mask = PaddedTensor {
        shape: [frames, 1, h, w],
        frame: Box::new(|i| Cow::Owned(inputs.mask.pass1_frame(i))),
    };

    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let temp = tempfile::Builder::new()
        .prefix(".void-preprocess.")
        .suffix(".part")
        .tempfile_in(dir)
        .map_err(|e| fail(format!("cannot create a file in {}: {e}", dir.display())))?
        .into_temp_path();
    safetensors::serialize_to_file(
        [("mask", mask), ("video", video)],
        Some(metadata(inputs)),
        &temp,
    )
    .map_err(|e| fail(e.to_string()))?;
    temp.persist(path).map_err(|e| {
        fail(format!(
            "cannot move the finished file into place: {}",
            e.error
        ))
    })?;
    Ok(())
}

/// Provenance and what is needed to undo the preprocessing.
fn metadata(inputs: &Pass1Inputs) -> HashMap<String, String> {
    let src = &inputs.source;
    let file_name = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let indices = |v: &[usize]| serde_json::to_string(v).unwrap_or_default();
    [
        ("format", "void-pass1-inputs".to_string()),
        ("void_version", env!("CARGO_PKG_VERSION").to_string()),
        ("sequence", inputs.sequence.name.clone()),
        ("prompt", inputs.prompt.clone()),
        ("video_file", file_name(&src.video.path)),
        ("mask_file", file_name(&src.mask.path)),
        ("fps", src.video.fps.to_string()),
        ("video_width", src.video.width.to_string()),
        ("video_height", src.video.height.to_string()),
        ("mask_width", src.mask.width.to_string()),
        ("mask_height", src.mask.height.to_string()),
        ("source_video_frames", src.video_frames.to_string()),
        ("source_mask_frames", src.mask_frames.to_string()),
        ("sample_size", inputs.sample_size.to_string()),
        ("padded_frames", inputs.padded_frames().to_string()),
        ("latent_frames", inputs.latent_frames().to_string()),
        ("video_pad_indices", indices(&inputs.video.pad)),
        ("mask_pad_indices", indices(&inputs.mask.pad)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

//! SAM2 over a whole video, one object at a time: every prompted frame becomes a conditioning
//! memory, then the object is tracked forward from its first prompted frame to the last frame
//! and backward from there to frame 0, so every frame gets a mask (the reference tracks only
//! forward and drops the frames before the first click).

use std::collections::BTreeMap;

use candle_core::{DType, Device, Tensor};
use void_models::sam2::{ImageFeatures, MemoryBank, Points, Sam2, normalize_frame};

use crate::prompts::{FramePrompt, Prompts};
use crate::{Error, Result};

/// The low-resolution mask logits of every frame, per object.
#[derive(Clone, Debug)]
pub struct Segmentation {
    /// `(object id, per-frame (1, 1, 4g, 4g) logits on the CPU)`, objects in id order.
    pub objects: Vec<(u32, Vec<Tensor>)>,
}

impl Segmentation {
    /// The union of the objects on `frame` at `width x height` as the reference's black
    /// mask: 0 where any object's bilinearly upsampled logit is above 0, else 255.
    ///
    /// # Errors
    /// A frame out of range.
    pub fn black_frame(&self, frame: usize, width: usize, height: usize) -> Result<Vec<u8>> {
        let mut out = vec![255u8; width * height];
        for (_, frames) in &self.objects {
            let logits = frames
                .get(frame)
                .ok_or_else(|| Error::Prompt(format!("frame {frame} was not segmented")))?;
            let up = logits
                .upsample_bilinear2d(height, width, false)?
                .flatten_all()?
                .to_vec1::<f32>()?;
            for (o, v) in out.iter_mut().zip(up) {
                if v > 0.0 {
                    *o = 0;
                }
            }
        }
        Ok(out)
    }

    /// The mask of one object on `frame`, 0 object / 255 elsewhere.
    ///
    /// # Errors
    /// An unknown object or frame.
    pub fn object_frame(
        &self,
        object: u32,
        frame: usize,
        width: usize,
        height: usize,
    ) -> Result<Vec<u8>> {
        let single = Segmentation {
            objects: self
                .objects
                .iter()
                .filter(|(id, _)| *id == object)
                .cloned()
                .collect(),
        };
        if single.objects.is_empty() {
            return Err(Error::Prompt(format!("object {object} was not segmented")));
        }
        single.black_frame(frame, width, height)
    }
}

/// The prompt of one frame as SAM2's points in model pixels: the box's corners first (labels
/// 2, 3), then the clicks (1 positive, 0 negative), coordinates scaled from the video size to
/// the model's square.
fn points(prompt: &FramePrompt, scale: (f32, f32), device: &Device) -> Result<(Tensor, Tensor)> {
    let mut coords = Vec::new();
    let mut labels = Vec::new();
    if let Some(b) = prompt.boxed {
        coords.extend([
            b[0] * scale.0,
            b[1] * scale.1,
            b[2] * scale.0,
            b[3] * scale.1,
        ]);
        labels.extend([2f32, 3.0]);
    }
    for &(x, y, positive) in &prompt.points {
        coords.extend([x * scale.0, y * scale.1]);
        labels.push(if positive { 1.0 } else { 0.0 });
    }
    let n = labels.len();
    Ok((
        Tensor::from_vec(coords, (1, n, 2), device)?,
        Tensor::from_vec(labels, (1, n), device)?,
    ))
}

/// Tracks one object through `n` frames whose features `features(i)` gives, from its prompts
/// (frame -> SAM2 points `(coords (1, k, 2), labels (1, k))` in model pixels): forward from the
/// first prompted frame, then backward to frame 0. Returns each frame's `(1, 1, 4g, 4g)` mask
/// logits on the CPU; `progress(frames_done)` after every frame.
///
/// # Errors
/// No prompts, or a network failure.
pub fn track_object(
    model: &Sam2,
    n: usize,
    features: &dyn Fn(usize) -> Result<ImageFeatures>,
    prompts: &BTreeMap<usize, (Tensor, Tensor)>,
    mut progress: impl FnMut(usize),
) -> Result<Vec<Tensor>> {
    let first = *prompts
        .keys()
        .next()
        .ok_or_else(|| Error::Prompt("an object without prompts".into()))?;
    let mut bank = MemoryBank::default();
    for (frame, (coords, labels)) in prompts {
        let out = model.prompt(&features(*frame)?, Points { coords, labels })?;
        bank.conditioning.insert(*frame, out);
    }
    let mut masks: Vec<Option<Tensor>> = vec![None; n];
    let order = (first..n)
        .map(|f| (f, false))
        .chain((0..first).rev().map(|f| (f, true)));
    for (done, (frame, reverse)) in order.enumerate() {
        let low = match bank.conditioning.get(&frame) {
            Some(out) => out.pred_masks.clone(),
            None => {
                let out = model.track(&features(frame)?, frame, n, reverse, &bank)?;
                let low = out.pred_masks.clone();
                bank.tracked.insert(frame, out);
                low
            }
        };
        masks[frame] = Some(low.to_device(&Device::Cpu)?.to_dtype(DType::F32)?);
        progress(done + 1);
    }
    masks
        .into_iter()
        .map(|m| m.ok_or_else(|| Error::Prompt("a frame was not tracked".into())))
        .collect()
}

/// Segments `frames` (each already resized to the model's `S x S`, RGB, row-major) of a video
/// of `width x height` with `prompts`; `progress(object_index, frames_done)` after every frame.
///
/// # Errors
/// Prompts outside the video, or a network failure.
pub fn segment(
    model: &Sam2,
    frames: &[Vec<u8>],
    image_size: usize,
    (width, height): (usize, usize),
    prompts: &Prompts,
    device: &Device,
    mut progress: impl FnMut(usize, usize),
) -> Result<Segmentation> {
    prompts.validate(frames.len(), width as f32, height as f32)?;
    let n = frames.len();
    let s = image_size;
    let scale = (s as f32 / width as f32, s as f32 / height as f32);
    let features = |i: usize| -> Result<_> {
        let rgb = Tensor::from_slice(&frames[i], (s, s, 3), device)?;
        Ok(model.encode_image(&normalize_frame(&rgb)?.to_dtype(DType::F32)?)?)
    };
    let mut objects = Vec::with_capacity(prompts.objects.len());
    for (index, (id, by_frame)) in prompts.objects.iter().enumerate() {
        let points = by_frame
            .iter()
            .map(|(frame, prompt)| Ok((*frame, points(prompt, scale, device)?)))
            .collect::<Result<BTreeMap<_, _>>>()?;
        let masks = track_object(model, n, &features, &points, |done| progress(index, done))?;
        objects.push((*id, masks));
    }
    Ok(Segmentation { objects })
}

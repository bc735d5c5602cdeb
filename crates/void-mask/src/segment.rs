//! SAM2 over a whole video, streaming: every prompted frame becomes a conditioning memory of
//! its object; then all objects are tracked forward from the first prompted frame to the last
//! frame and backward from there to frame 0, so every frame gets a mask (the reference tracks
//! only forward and drops the frames before the first click).
//!
//! Frames come from a [`FrameSource`] that can be read again from the start. The video is read
//! twice (up to the last prompted frame, then from the first prompted frame on) and only the
//! frames before the first prompted frame are kept, as the model's `S x S` RGB bytes, for the
//! backward pass: memory does not grow with the clip after the first prompt. Each frame's image
//! features are computed once for all objects.

use std::collections::BTreeMap;

use candle_core::{DType, Device, Tensor};
use void_models::sam2::{ImageFeatures, MemoryBank, Points, Sam2, normalize_frame};

use crate::prompts::{FramePrompt, Prompts};
use crate::{Error, Result};

/// A video's frames, already resized to the model's `S x S` RGB bytes, from frame 0 each time
/// it is opened.
pub type FrameSource<'a> =
    dyn FnMut() -> Result<Box<dyn Iterator<Item = Result<Vec<u8>>> + 'a>> + 'a;

/// The low-resolution mask logits of every frame, per object.
#[derive(Clone, Debug)]
pub struct Segmentation {
    /// `(object id, per-frame (1, 1, 4g, 4g) logits on the CPU)`, objects in id order.
    pub objects: Vec<(u32, Vec<Tensor>)>,
}

impl Segmentation {
    /// Each object's mask on `frame` at `width x height`, in object order: 0 where its
    /// bilinearly upsampled logit is above 0, else 255.
    ///
    /// # Errors
    /// A frame out of range.
    pub fn object_frames(&self, frame: usize, width: usize, height: usize) -> Result<Vec<Vec<u8>>> {
        self.objects
            .iter()
            .map(|(_, frames)| {
                let logits = frames
                    .get(frame)
                    .ok_or_else(|| Error::Prompt(format!("frame {frame} was not segmented")))?;
                Ok(logits
                    .upsample_bilinear2d(height, width, false)?
                    .flatten_all()?
                    .to_vec1::<f32>()?
                    .into_iter()
                    .map(|v| if v > 0.0 { 0 } else { 255 })
                    .collect())
            })
            .collect()
    }

    /// The union of the objects on `frame` as the reference's black mask: 0 where any
    /// object is, else 255.
    ///
    /// # Errors
    /// A frame out of range.
    pub fn black_frame(&self, frame: usize, width: usize, height: usize) -> Result<Vec<u8>> {
        Ok(union(
            &self.object_frames(frame, width, height)?,
            width * height,
        ))
    }
}

/// The union of black masks of `len` pixels (0 where any of them is 0).
pub fn union(masks: &[Vec<u8>], len: usize) -> Vec<u8> {
    let mut out = vec![255u8; len];
    for mask in masks {
        for (o, &m) in out.iter_mut().zip(mask) {
            *o = (*o).min(m);
        }
    }
    out
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

/// Segments the `n` frames `frames` yields (a video of `width x height`) with `prompts`;
/// `progress(frames_done)` after every frame's tracking.
///
/// # Errors
/// Prompts outside the video, a source that yields fewer than `n` frames, or a network
/// failure.
#[allow(clippy::too_many_arguments)]
pub fn segment(
    model: &Sam2,
    frames: &mut FrameSource<'_>,
    n: usize,
    (width, height): (usize, usize),
    prompts: &Prompts,
    device: &Device,
    mut progress: impl FnMut(usize),
) -> Result<Segmentation> {
    prompts.validate(n, width as f32, height as f32)?;
    let s = model.image_size();
    let scale = (s as f32 / width as f32, s as f32 / height as f32);
    let features = |rgb: &[u8]| -> Result<ImageFeatures> {
        let rgb = Tensor::from_slice(rgb, (s, s, 3), device)?;
        Ok(model.encode_image(&normalize_frame(&rgb)?.to_dtype(DType::F32)?)?)
    };
    let short = |i: usize| Error::Prompt(format!("the video ended at frame {i} of {n}"));
    let mut objects: Vec<(u32, MemoryBank, Vec<Option<Tensor>>)> = prompts
        .objects
        .keys()
        .map(|id| (*id, MemoryBank::default(), vec![None; n]))
        .collect();
    let prompted: BTreeMap<usize, Vec<usize>> =
        prompts
            .objects
            .values()
            .enumerate()
            .fold(BTreeMap::new(), |mut acc, (index, by_frame)| {
                for frame in by_frame.keys() {
                    acc.entry(*frame).or_insert_with(Vec::new).push(index);
                }
                acc
            });
    let (first, last) = match (prompted.keys().next(), prompted.keys().next_back()) {
        (Some(f), Some(l)) => (*f, *l),
        _ => return Err(Error::Prompt("no prompts".into())),
    };

    // Read 1: the prompted frames (conditioning memories), keeping the frames before the first.
    let mut kept = Vec::with_capacity(first);
    let mut reader = frames()?;
    for i in 0..=last {
        let rgb = reader.next().ok_or_else(|| short(i))??;
        if let Some(indices) = prompted.get(&i) {
            let f = features(&rgb)?;
            for &index in indices {
                let by_frame = &prompts.objects[&objects[index].0];
                let (coords, labels) = points(&by_frame[&i], scale, device)?;
                let out = model.prompt(
                    &f,
                    Points {
                        coords: &coords,
                        labels: &labels,
                    },
                )?;
                objects[index].1.conditioning.insert(i, out);
            }
        }
        if i < first {
            kept.push(rgb);
        }
    }
    drop(reader);

    // Read 2: forward from the first prompted frame; then backward over the kept frames.
    let mut done = 0;
    let mut step = |frame: usize, rgb: &[u8], reverse: bool| -> Result<()> {
        let mut f = None;
        for (_, bank, masks) in objects.iter_mut() {
            let low = match bank.conditioning.get(&frame) {
                Some(out) => out.pred_masks.clone(),
                None => {
                    if f.is_none() {
                        f = Some(features(rgb)?);
                    }
                    let feats = f.as_ref().ok_or_else(|| short(frame))?;
                    let out = model.track(feats, frame, n, reverse, bank)?;
                    let low = out.pred_masks.clone();
                    bank.tracked.insert(frame, out);
                    low
                }
            };
            masks[frame] = Some(low.to_device(&Device::Cpu)?.to_dtype(DType::F32)?);
        }
        done += 1;
        progress(done);
        Ok(())
    };
    let mut reader = frames()?.skip(first);
    for frame in first..n {
        let rgb = reader.next().ok_or_else(|| short(frame))??;
        step(frame, &rgb, false)?;
    }
    drop(reader);
    for (frame, rgb) in kept.iter().enumerate().rev() {
        step(frame, rgb, true)?;
    }

    let objects = objects
        .into_iter()
        .map(|(id, _, masks)| {
            let masks = masks
                .into_iter()
                .enumerate()
                .map(|(i, m)| m.ok_or_else(|| short(i)))
                .collect::<Result<_>>()?;
            Ok((id, masks))
        })
        .collect::<Result<_>>()?;
    Ok(Segmentation { objects })
}

//! Preprocessed sequence frames as the tensors a pass takes.

use candle_core::{Device, Tensor};
use void_sequence::Pass1Inputs;

use crate::Result;

/// The padded video `(f, 3, h, w)` f32 in [0, 1] and Pass 1's conditioning mask
/// `(f, 1, h, w)` (1 remove, 127/255 affected, 0 keep), on the CPU.
pub fn pass1_tensors(inputs: &Pass1Inputs) -> Result<(Tensor, Tensor)> {
    let (h, w) = (
        inputs.sample_size.height as usize,
        inputs.sample_size.width as usize,
    );
    let frames = inputs.padded_frames();
    let mut video = Vec::with_capacity(frames * 3 * h * w);
    for &i in &inputs.video.pad {
        video.extend_from_slice(&inputs.video.frames[i]);
    }
    let mut mask = Vec::with_capacity(frames * h * w);
    for i in 0..frames {
        mask.extend(inputs.mask.pass1_frame(i));
    }
    Ok((
        Tensor::from_vec(video, (frames, 3, h, w), &Device::Cpu)?,
        Tensor::from_vec(mask, (frames, 1, h, w), &Device::Cpu)?,
    ))
}

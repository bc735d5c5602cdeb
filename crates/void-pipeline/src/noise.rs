//! The pass's randomness: initial latents and the video's noise augmentation.

use candle_core::{Device, Shape, Tensor};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, StandardNormal};

use crate::Result;

/// Standard-normal noise for one run, f32 on the CPU.
#[derive(Clone, Debug)]
pub struct Noise {
    /// Initial latents `z_T`, `(1, latent_frames, 16, h, w)`.
    pub latents: Tensor,
    /// Noise added (times the augmentation strength) to the conditioning video,
    /// `(1, 3, frames, H, W)`.
    pub video: Tensor,
}

impl Noise {
    /// Draws both from one seeded generator (ChaCha12: the same numbers on every machine), the
    /// latents first. The reference draws them from torch's CUDA and unseeded CPU generators,
    /// which cannot be reproduced outside torch; parity tests inject theirs instead.
    pub fn seeded(seed: u64, latents: impl Into<Shape>, video: impl Into<Shape>) -> Result<Self> {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut draw = |shape: Shape| -> Result<Tensor> {
            let values: Vec<f32> = (0..shape.elem_count())
                .map(|_| StandardNormal.sample(&mut rng))
                .collect();
            Ok(Tensor::from_vec(values, shape, &Device::Cpu)?)
        };
        Ok(Self {
            latents: draw(latents.into())?,
            video: draw(video.into())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_noise_is_reproducible_and_standard() {
        let a = Noise::seeded(42, (1, 2, 4, 3, 5), (1, 3, 5, 8, 8)).unwrap();
        let b = Noise::seeded(42, (1, 2, 4, 3, 5), (1, 3, 5, 8, 8)).unwrap();
        let c = Noise::seeded(43, (1, 2, 4, 3, 5), (1, 3, 5, 8, 8)).unwrap();
        let v = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(v(&a.video), v(&b.video));
        assert_ne!(v(&a.latents), v(&c.latents));
        let all = v(&a.video);
        let mean = all.iter().sum::<f32>() / all.len() as f32;
        let var = all.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / all.len() as f32;
        assert!(mean.abs() < 0.1 && (var - 1.0).abs() < 0.15, "{mean} {var}");
    }
}

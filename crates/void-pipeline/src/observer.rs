//! What a pass reports while it runs.

/// The stages of a pass, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Tokenizer and T5 on the prompt.
    TextEncode,
    /// VAE encoding of the mask image.
    EncodeMask,
    /// VAE encoding of the noise-augmented video.
    EncodeVideo,
    /// The DDIM loop: steps x windows.
    Denoise,
    /// VAE decoding of the final latents.
    Decode,
}

impl Stage {
    /// A short lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::TextEncode => "text encode",
            Self::EncodeMask => "encode mask",
            Self::EncodeVideo => "encode video",
            Self::Denoise => "denoise",
            Self::Decode => "decode",
        }
    }
}

/// Receives a pass's progress; every method has an empty default.
pub trait Observer {
    /// `stage` starts; it has `total` units of work (chunks, steps x windows).
    fn begin(&mut self, stage: Stage, total: usize) {
        let _ = (stage, total);
    }
    /// `done` of the current stage's units are finished.
    fn advance(&mut self, stage: Stage, done: usize) {
        let _ = (stage, done);
    }
    /// `stage` is finished (its device work included).
    fn end(&mut self, stage: Stage) {
        let _ = stage;
    }
}

/// An observer that ignores everything.
impl Observer for () {}

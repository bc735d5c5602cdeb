//! Decoded frames in memory.

/// How the bytes of a [`Frame`] are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PixelFormat {
    /// Three bytes per pixel, R G B, full range (ffmpeg `rgb24`).
    Rgb24,
    /// One byte per pixel (ffmpeg `gray`).
    Gray8,
}

impl PixelFormat {
    /// Bytes per pixel.
    pub const fn channels(self) -> usize {
        match self {
            Self::Rgb24 => 3,
            Self::Gray8 => 1,
        }
    }

    /// ffmpeg's name for the raw layout.
    pub(crate) const fn ffmpeg_name(self) -> &'static str {
        match self {
            Self::Rgb24 => "rgb24",
            Self::Gray8 => "gray",
        }
    }
}

/// One frame: `height` rows of `width` pixels, each `format.channels()` bytes, no row padding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Layout of `data`.
    pub format: PixelFormat,
    /// `height * width * channels` bytes, row-major, channels interleaved.
    pub data: Vec<u8>,
}

impl Frame {
    /// Bytes a frame of this size and layout occupies.
    pub fn byte_len(width: u32, height: u32, format: PixelFormat) -> usize {
        width as usize * height as usize * format.channels()
    }

    /// `WxH format`, for messages.
    pub(crate) fn describe(width: u32, height: u32, format: PixelFormat) -> String {
        format!("{width}x{height} {}", format.ffmpeg_name())
    }
}

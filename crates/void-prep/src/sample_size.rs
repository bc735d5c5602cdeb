//! The model's working resolution.

use std::fmt;
use std::str::FromStr;

use crate::{Error, Result};

/// Height and width every frame is resized to, written `HxW` like the reference's
/// `data.sample_size` (default `384x672`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SampleSize {
    /// Rows.
    pub height: u32,
    /// Columns.
    pub width: u32,
}

impl SampleSize {
    /// The reference default, 384 rows by 672 columns.
    pub const DEFAULT: Self = Self {
        height: 384,
        width: 672,
    };

    /// Pixels per frame.
    pub fn pixels(self) -> usize {
        self.height as usize * self.width as usize
    }
}

impl Default for SampleSize {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl FromStr for SampleSize {
    type Err = Error;

    /// Parses `HxW`. Both must be positive multiples of 16: the VAE divides by 8 and the
    /// transformer groups 2×2 latent pixels into one token.
    fn from_str(s: &str) -> Result<Self> {
        let refuse = |reason| Error::SampleSize {
            given: s.to_string(),
            reason,
        };
        let (h, w) = s
            .split_once(['x', 'X'])
            .ok_or_else(|| refuse("expected HEIGHTxWIDTH, e.g. 384x672"))?;
        let parse = |v: &str| {
            v.trim()
                .parse::<u32>()
                .map_err(|_| refuse("expected HEIGHTxWIDTH, e.g. 384x672"))
        };
        let (height, width) = (parse(h)?, parse(w)?);
        if height == 0 || width == 0 || !height.is_multiple_of(16) || !width.is_multiple_of(16) {
            return Err(refuse("height and width must be positive multiples of 16"));
        }
        Ok(Self { height, width })
    }
}

impl fmt::Display for SampleSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}", self.height, self.width)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_height_by_width() {
        let s: SampleSize = "384x672".parse().unwrap();
        assert_eq!(s, SampleSize::DEFAULT);
        assert_eq!(s.to_string(), "384x672");
        assert_eq!(
            "480X848".parse::<SampleSize>().unwrap(),
            SampleSize {
                height: 480,
                width: 848
            }
        );
    }

    #[test]
    fn refuses_bad_sizes() {
        for bad in ["384", "0x672", "384x670", "axb", "-16x16"] {
            assert!(bad.parse::<SampleSize>().is_err(), "{bad}");
        }
    }
}

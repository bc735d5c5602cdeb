//! What a quadmask holds at its native resolution: pixels per class, off-level values, and the
//! checks `void inspect` warns about.

use void_video::quadmask::Class;

use crate::Warning;

/// Pixel counts of a mask video, accumulated frame by frame.
#[derive(Clone, Debug, PartialEq)]
pub struct MaskStats {
    /// Frames counted.
    pub frames: usize,
    /// How many pixels (over all frames) have each value 0..=255.
    pub histogram: [u64; 256],
    /// Grey (overlap or affected) pixels of the first frame.
    pub first_frame_grey: u64,
    /// Pixels of the first frame.
    pub first_frame_pixels: u64,
    /// Frames with at least one remove or overlap pixel.
    pub frames_with_remove: usize,
}

impl Default for MaskStats {
    fn default() -> Self {
        Self {
            frames: 0,
            histogram: [0; 256],
            first_frame_grey: 0,
            first_frame_pixels: 0,
            frames_with_remove: 0,
        }
    }
}

impl MaskStats {
    /// Counts one frame of mask values (one byte per pixel).
    pub fn add_frame(&mut self, pixels: &[u8]) {
        let mut hist = [0u64; 256];
        for &v in pixels {
            hist[usize::from(v)] += 1;
        }
        let count = |c: Class| hist[usize::from(c.value())];
        if self.frames == 0 {
            self.first_frame_grey = count(Class::Overlap) + count(Class::Affected);
            self.first_frame_pixels = pixels.len() as u64;
        }
        if count(Class::Remove) + count(Class::Overlap) > 0 {
            self.frames_with_remove += 1;
        }
        for (total, n) in self.histogram.iter_mut().zip(hist) {
            *total += n;
        }
        self.frames += 1;
    }

    /// All pixels counted.
    pub fn pixels(&self) -> u64 {
        self.histogram.iter().sum()
    }

    /// Pixels holding exactly the value of `class`.
    pub fn class_pixels(&self, class: Class) -> u64 {
        self.histogram[usize::from(class.value())]
    }

    /// Pixels holding none of the four values.
    pub fn off_level_pixels(&self) -> u64 {
        self.pixels()
            - Class::ALL
                .iter()
                .map(|&c| self.class_pixels(c))
                .sum::<u64>()
    }

    /// `pixels` as a share of all pixels counted (0 when empty).
    pub fn share(&self, pixels: u64) -> f64 {
        let total = self.pixels();
        if total == 0 {
            0.0
        } else {
            pixels as f64 / total as f64
        }
    }

    /// The warnings these counts call for.
    pub fn warnings(&self) -> Vec<Warning> {
        let mut warnings = Vec::new();
        if self.first_frame_grey > 0 {
            let share = self.first_frame_grey as f64 / self.first_frame_pixels as f64;
            warnings.push(Warning::GreyOnFirstFrame { share });
        }
        if self.frames > 0 && self.frames_with_remove == 0 {
            warnings.push(Warning::EmptyRemoveRegion);
        }
        let off = self.off_level_pixels();
        if off > 0 {
            warnings.push(Warning::OffLevelValues {
                share: self.share(off),
            });
        }
        warnings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_classes_and_warns() {
        let mut stats = MaskStats::default();
        stats.add_frame(&[255, 255, 127, 63]);
        stats.add_frame(&[255, 255, 255, 254]);
        assert_eq!(stats.frames, 2);
        assert_eq!(stats.class_pixels(Class::Keep), 5);
        assert_eq!(stats.off_level_pixels(), 1);
        assert_eq!(stats.frames_with_remove, 1);
        let w = stats.warnings();
        assert_eq!(w[0], Warning::GreyOnFirstFrame { share: 0.5 });
        assert_eq!(w[1], Warning::OffLevelValues { share: 0.125 });

        let mut empty = MaskStats::default();
        empty.add_frame(&[255, 127]);
        empty.add_frame(&[255, 255]);
        assert!(empty.warnings().contains(&Warning::EmptyRemoveRegion));
    }
}

//! Quadmask values through the reference's loader and Pass-1 pipeline
//! (`utils.py:get_video_mask_input` lines 386-393 and `pipeline_cogvideox_fun_inpaint.py`
//! lines 984-987; void-inference-spec §1.3 step 6 and §1.4 step 7).
//!
//! 1. [`quantize`]: area-averaged 0..255 -> 0/63/127/255 at thresholds 31/95/191.
//! 2. [`inverted_unit`]: `(255 - v) / 255`, so remove = 1 and keep = 0.
//! 3. [`requantize_trimask`]: Pass 1's hard-coded `use_trimask=True` turns that into
//!    {1, 127/255, 0}; overlap (192/255 > 0.75) becomes indistinguishable from remove
//!    (spec §11 item 3 — reproduced on purpose).

/// The reference's quadmask bucket of an area-averaged mask value: `<=31 -> 0`,
/// `(31,95] -> 63`, `(95,191] -> 127`, `>191 -> 255`.
pub fn quantize(value: f32) -> u8 {
    if value <= 31.0 {
        0
    } else if value <= 95.0 {
        63
    } else if value <= 191.0 {
        127
    } else {
        255
    }
}

/// A quantised level inverted and scaled as the loader returns it: `(255 - level) / 255` in f32.
pub fn inverted_unit(level: u8) -> f32 {
    f32::from(255 - level) / 255.0
}

/// Pass 1's trimask requantisation of an inverted mask value: `>0.75 -> 1`,
/// `[0.25, 0.75] -> 127/255`, `<0.25 -> 0`.
pub fn requantize_trimask(value: f32) -> f32 {
    if value > 0.75 {
        1.0
    } else if value >= 0.25 {
        // Python's double 127/255 stored into an f32 tensor.
        (127.0_f64 / 255.0) as f32
    } else {
        0.0
    }
}

/// What Pass 1's conditioning mask holds for a quantised level: [`requantize_trimask`] of
/// [`inverted_unit`].
pub fn pass1_value(level: u8) -> f32 {
    requantize_trimask(inverted_unit(level))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_inclusive_on_the_low_side() {
        assert_eq!(quantize(31.0), 0);
        assert_eq!(quantize(31.000_002), 63);
        assert_eq!(quantize(95.0), 63);
        assert_eq!(quantize(191.0), 127);
        assert_eq!(quantize(191.01), 255);
        assert_eq!(quantize(255.0), 255);
    }

    #[test]
    fn pass1_collapses_overlap_into_remove() {
        assert_eq!(pass1_value(0), 1.0);
        assert_eq!(pass1_value(63), 1.0);
        assert_eq!(pass1_value(127).to_bits(), 0x3efe_feff); // f32(127/255), from numpy
        assert_eq!(pass1_value(255), 0.0);
        assert_eq!(inverted_unit(63), 192.0 / 255.0);
        assert_eq!(inverted_unit(127), 128.0 / 255.0);
    }
}

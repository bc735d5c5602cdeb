//! Stage 4 of the reference (void-mask-pipeline-spec §7): the black mask (0 object, 255 else)
//! and the grey mask (127 affected, 255 else) into a quadmask, by exact equality, and back.
//!
//! | black | grey | quadmask |
//! |---|---|---|
//! | 0 | 255 | 0 remove |
//! | 255 | 127 | 127 affected |
//! | 0 | 127 | 63 overlap |
//! | anything else | | 255 keep |
//!
//! The first-frame rule (the model was trained without grey on frame 0): the reference sets
//! values in (100, 135) to 255, which clears 127 but leaves 63, so its frame 0 can still hold
//! "overlap". void also turns 63 into 0 there (spec §12 item 13): every reader maps 63 to
//! "remove" anyway (spec §10.4), so what the model sees is unchanged, and frame 0 is left with
//! no grey of either kind, as `void inspect` expects.

/// The quadmask value of one black and one grey pixel.
pub const fn combine_pixel(black: u8, grey: u8) -> u8 {
    match (black, grey) {
        (0, 255) => 0,
        (255, 127) => 127,
        (0, 127) => 63,
        _ => 255,
    }
}

/// A quadmask frame from black and grey frames of the same size.
pub fn combine(black: &[u8], grey: &[u8]) -> Vec<u8> {
    black
        .iter()
        .zip(grey)
        .map(|(&b, &g)| combine_pixel(b, g))
        .collect()
}

/// The first-frame rule: the reference's `100 < v < 135` -> 255, and 63 -> 0.
pub fn first_frame_rule(frame: &mut [u8]) {
    for v in frame.iter_mut() {
        if *v > 100 && *v < 135 {
            *v = 255;
        } else if *v == 63 {
            *v = 0;
        }
    }
}

/// A quadmask frame (canonical values) back into its black and grey frames; off-level values
/// count as keep.
pub fn split(quadmask: &[u8]) -> (Vec<u8>, Vec<u8>) {
    quadmask
        .iter()
        .map(|&v| match v {
            0 => (0, 255),
            63 => (0, 127),
            127 => (255, 127),
            _ => (255, 255),
        })
        .unzip()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_table_and_round_trip() {
        assert_eq!(
            combine(&[0, 255, 0, 255, 7, 0], &[255, 127, 127, 255, 127, 128]),
            [0, 127, 63, 255, 255, 255]
        );
        let q = [0u8, 63, 127, 255];
        let (b, g) = split(&q);
        assert_eq!(combine(&b, &g), q);
        let mut first = vec![0u8, 63, 127, 255, 101, 134, 135, 100];
        first_frame_rule(&mut first);
        assert_eq!(first, [0, 0, 255, 255, 255, 255, 135, 100]);
    }
}

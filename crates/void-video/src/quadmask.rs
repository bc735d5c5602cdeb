//! The quadmask: VOID's four-level mask of what to remove and what the removal affects.
//!
//! | value | class | meaning |
//! |---|---|---|
//! | 0 | [`Class::Remove`] | the object to remove |
//! | 63 | [`Class::Overlap`] | the object, where something under it also changes |
//! | 127 | [`Class::Affected`] | what the object causes (shadow, reflection, things it moves) |
//! | 255 | [`Class::Keep`] | everything else |
//!
//! On disk (`quadmask_0.mp4`) the values are lossless H.264 yuv444p with limited-range luma
//! 16/70/125/235 and neutral chroma; ffmpeg's conversion to RGB or gray returns exactly
//! 0/63/127/255. Write masks with [`crate::Encoding::LosslessMask`].

/// One of the four quadmask classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    /// 0: remove.
    Remove,
    /// 63: remove, and the scene under it changes.
    Overlap,
    /// 127: affected by the removed object.
    Affected,
    /// 255: keep.
    Keep,
}

impl Class {
    /// All classes, in value order.
    pub const ALL: [Self; 4] = [Self::Remove, Self::Overlap, Self::Affected, Self::Keep];

    /// The stored pixel value.
    pub const fn value(self) -> u8 {
        match self {
            Self::Remove => 0,
            Self::Overlap => 63,
            Self::Affected => 127,
            Self::Keep => 255,
        }
    }

    /// The class of an exact pixel value; `None` for any of the other 252 values.
    pub const fn from_value(value: u8) -> Option<Self> {
        match value {
            0 => Some(Self::Remove),
            63 => Some(Self::Overlap),
            127 => Some(Self::Affected),
            255 => Some(Self::Keep),
            _ => None,
        }
    }

    /// Lower-case name, as used in reports.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Remove => "remove",
            Self::Overlap => "overlap",
            Self::Affected => "affected",
            Self::Keep => "keep",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_everything_else_is_off_level() {
        for class in Class::ALL {
            assert_eq!(Class::from_value(class.value()), Some(class));
        }
        let off = (0..=255u8)
            .filter(|v| Class::from_value(*v).is_none())
            .count();
        assert_eq!(off, 252);
    }
}

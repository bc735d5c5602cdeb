//! What the user points at: clicks (positive or negative) and boxes on given frames, per
//! object, from the command line's compact syntax or the reference's `*_points.json`.
//!
//! Syntax: `--points "[OBJ@]FRAME:X,Y[:+|-];..."` (`+` positive, the default; `-` negative)
//! and `--box "[OBJ@]FRAME:X0,Y0,X1,Y1"`, pixels of the source video, objects numbered from 1
//! (the default).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::{Error, Result};

/// One object's prompts on one frame.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FramePrompt {
    /// Clicks `(x, y, positive)` in source pixels.
    pub points: Vec<(f32, f32, bool)>,
    /// A box `[x0, y0, x1, y1]` in source pixels.
    pub boxed: Option<[f32; 4]>,
}

impl FramePrompt {
    /// The prompt SAM2's point list describes: flattened `(x, y)` pairs and their labels (2 and
    /// 3 the box's corners, 1 a positive click, 0 a negative one).
    ///
    /// # Errors
    /// [`Error::Prompt`] for mismatched lengths, an unknown label or half a box.
    pub fn from_sam2_points(coords: &[f32], labels: &[f32]) -> Result<Self> {
        if coords.len() != 2 * labels.len() {
            return Err(Error::Prompt(format!(
                "{} coordinates for {} labels",
                coords.len(),
                labels.len()
            )));
        }
        let mut prompt = Self::default();
        let mut corners = (None, None);
        for (xy, &label) in coords.chunks(2).zip(labels) {
            match label as i32 {
                0 | 1 => prompt.points.push((xy[0], xy[1], label == 1.0)),
                2 => corners.0 = Some((xy[0], xy[1])),
                3 => corners.1 = Some((xy[0], xy[1])),
                other => {
                    return Err(Error::Prompt(format!(
                        "point label {other} (expected 0, 1, 2 or 3)"
                    )));
                }
            }
        }
        match corners {
            (Some(a), Some(b)) => prompt.boxed = Some([a.0, a.1, b.0, b.1]),
            (None, None) => {}
            _ => {
                return Err(Error::Prompt(
                    "a box needs both corners (labels 2 and 3)".into(),
                ));
            }
        }
        Ok(prompt)
    }
}

/// Every prompt: object id -> frame -> prompt.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Prompts {
    /// By object id, then frame index.
    pub objects: BTreeMap<u32, BTreeMap<usize, FramePrompt>>,
}

impl Prompts {
    /// Adds `--points` clicks.
    ///
    /// # Errors
    /// [`Error::Prompt`] naming the malformed entry.
    pub fn add_points(&mut self, spec: &str) -> Result<()> {
        for entry in spec.split(';').map(str::trim).filter(|e| !e.is_empty()) {
            let bad = || {
                Error::Prompt(format!(
                    "--points entry `{entry}`: expected [OBJ@]FRAME:X,Y[:+|-]"
                ))
            };
            let (object, rest) = split_object(entry).ok_or_else(bad)?;
            let mut parts = rest.split(':');
            let frame = parts
                .next()
                .and_then(|f| f.trim().parse().ok())
                .ok_or_else(bad)?;
            let xy = numbers(parts.next().ok_or_else(bad)?)
                .filter(|v| v.len() == 2)
                .ok_or_else(bad)?;
            let positive = match parts.next().map(str::trim) {
                None | Some("+") => true,
                Some("-") => false,
                Some(_) => return Err(bad()),
            };
            if parts.next().is_some() {
                return Err(bad());
            }
            self.frame(object, frame)
                .points
                .push((xy[0], xy[1], positive));
        }
        Ok(())
    }

    /// Adds a `--box`.
    ///
    /// # Errors
    /// [`Error::Prompt`] for a malformed box or one with x1 < x0 or y1 < y0.
    pub fn add_box(&mut self, spec: &str) -> Result<()> {
        let bad = || {
            Error::Prompt(format!(
                "--box `{spec}`: expected [OBJ@]FRAME:X0,Y0,X1,Y1 with X0 <= X1, Y0 <= Y1"
            ))
        };
        let (object, rest) = split_object(spec.trim()).ok_or_else(bad)?;
        let (frame, coords) = rest.split_once(':').ok_or_else(bad)?;
        let frame = frame.trim().parse().map_err(|_| bad())?;
        let v = numbers(coords).filter(|v| v.len() == 4).ok_or_else(bad)?;
        if v[2] < v[0] || v[3] < v[1] {
            return Err(bad());
        }
        let slot = self.frame(object, frame);
        if slot.boxed.is_some() {
            return Err(Error::Prompt(format!(
                "--box `{spec}`: object {object} already has a box on frame {frame}"
            )));
        }
        slot.boxed = Some([v[0], v[1], v[2], v[3]]);
        Ok(())
    }

    /// Adds the clicks of one entry of the reference's `*_points.json` (its
    /// `primary_points_by_frame`, or `primary_points` on `first_appears_frame`), all positive,
    /// on object 1, each clicked frame with the reference's automatic box: the clicks' bounding
    /// box grown by 10% of its span on each side, clamped to the frame (`auto_box`).
    ///
    /// # Errors
    /// [`Error::Prompt`] for an entry without clicks or with malformed ones.
    pub fn add_reference_entry(
        &mut self,
        entry: &Value,
        width: f32,
        height: f32,
        auto_box: bool,
    ) -> Result<()> {
        let bad = |what: &str| Error::Prompt(format!("points JSON: {what}"));
        let mut by_frame: BTreeMap<usize, Vec<(f32, f32)>> = BTreeMap::new();
        let parse_points = |v: &Value| -> Result<Vec<(f32, f32)>> {
            v.as_array()
                .ok_or_else(|| bad("points must be a list of [x, y]"))?
                .iter()
                .map(|p| {
                    match p
                        .as_array()
                        .map(|a| a.iter().map(Value::as_f64).collect::<Vec<_>>())
                    {
                        Some(a) if a.len() == 2 && a.iter().all(Option::is_some) => {
                            Ok((a[0].unwrap_or(0.0) as f32, a[1].unwrap_or(0.0) as f32))
                        }
                        _ => Err(bad("a point is not [x, y]")),
                    }
                })
                .collect()
        };
        match entry
            .get("primary_points_by_frame")
            .and_then(Value::as_object)
        {
            Some(frames) if !frames.is_empty() => {
                for (frame, points) in frames {
                    let f = frame
                        .parse()
                        .map_err(|_| bad(&format!("frame key `{frame}` is not a number")))?;
                    by_frame.entry(f).or_default().extend(parse_points(points)?);
                }
            }
            _ => {
                let points = entry
                    .get("primary_points")
                    .ok_or_else(|| bad("entry has no primary_points_by_frame or primary_points"))?;
                let f = entry
                    .get("first_appears_frame")
                    .and_then(Value::as_u64)
                    .unwrap_or(0) as usize;
                by_frame.entry(f).or_default().extend(parse_points(points)?);
            }
        }
        for (frame, points) in by_frame.into_iter().filter(|(_, p)| !p.is_empty()) {
            let slot = self.frame(1, frame);
            if auto_box {
                slot.boxed = Some(click_box(&points, width, height));
            }
            slot.points
                .extend(points.into_iter().map(|(x, y)| (x, y, true)));
        }
        Ok(())
    }

    fn frame(&mut self, object: u32, frame: usize) -> &mut FramePrompt {
        self.objects
            .entry(object)
            .or_default()
            .entry(frame)
            .or_default()
    }

    /// Checks every prompt against the video: frames in range, points and boxes inside the
    /// frame, at least one prompt.
    ///
    /// # Errors
    /// [`Error::Prompt`] naming the offending prompt.
    pub fn validate(&self, frames: usize, width: f32, height: f32) -> Result<()> {
        if self.objects.is_empty() {
            return Err(Error::Prompt(
                "no prompts: give --points, --box or --points-json".into(),
            ));
        }
        let inside = |x: f32, y: f32| (0.0..=width).contains(&x) && (0.0..=height).contains(&y);
        for (object, by_frame) in &self.objects {
            for (frame, prompt) in by_frame {
                if *frame >= frames {
                    return Err(Error::Prompt(format!(
                        "object {object}: frame {frame} is out of range (the video has {frames} frames, 0..{})",
                        frames.saturating_sub(1)
                    )));
                }
                for &(x, y, _) in &prompt.points {
                    if !inside(x, y) {
                        return Err(Error::Prompt(format!(
                            "object {object}, frame {frame}: point ({x}, {y}) is outside the {width}x{height} frame"
                        )));
                    }
                }
                if let Some(b) = prompt.boxed
                    && (!inside(b[0], b[1]) || !inside(b[2], b[3]))
                {
                    return Err(Error::Prompt(format!(
                        "object {object}, frame {frame}: box {b:?} is outside the {width}x{height} frame"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Clicks of every object and frame, for `segmentation_info.json`: frame -> `[[x, y], ...]`.
    pub fn points_by_frame(&self) -> BTreeMap<usize, Vec<[f32; 2]>> {
        let mut out: BTreeMap<usize, Vec<[f32; 2]>> = BTreeMap::new();
        for by_frame in self.objects.values() {
            for (frame, p) in by_frame {
                out.entry(*frame)
                    .or_default()
                    .extend(p.points.iter().map(|&(x, y, _)| [x, y]));
            }
        }
        out
    }
}

/// The reference's automatic box (stage 1): the bounding box of the clicks grown by 10% of its
/// span on each side, clamped to `[0, width] x [0, height]`.
pub fn click_box(points: &[(f32, f32)], width: f32, height: f32) -> [f32; 4] {
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for &(x, y) in points {
        (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
    }
    let (dx, dy) = (x1 - x0, y1 - y0);
    [
        (x0 - 0.1 * dx).max(0.0),
        (y0 - 0.1 * dy).max(0.0),
        (x1 + 0.1 * dx).min(width),
        (y1 + 0.1 * dy).min(height),
    ]
}

fn split_object(entry: &str) -> Option<(u32, &str)> {
    match entry.split_once('@') {
        Some((obj, rest)) => obj
            .trim()
            .parse()
            .ok()
            .filter(|o| *o > 0)
            .map(|o| (o, rest)),
        None => Some((1, entry)),
    }
}

fn numbers(s: &str) -> Option<Vec<f32>> {
    s.split(',')
        .map(|v| v.trim().parse::<f32>().ok().filter(|v| v.is_finite()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_points_boxes_and_objects() {
        let mut p = Prompts::default();
        p.add_points("3:10,20; 3:30.5,40:-; 2@7:1,2:+").unwrap();
        p.add_box("2@7:0,0,5,6").unwrap();
        let obj1 = &p.objects[&1][&3];
        assert_eq!(obj1.points, [(10.0, 20.0, true), (30.5, 40.0, false)]);
        assert_eq!(p.objects[&2][&7].boxed, Some([0.0, 0.0, 5.0, 6.0]));
        for bad in ["3:10", "x:1,2", "3:1,2:*", "0@3:1,2", "3:1,2:+:9"] {
            assert!(Prompts::default().add_points(bad).is_err(), "{bad}");
        }
        assert!(Prompts::default().add_box("1:5,5,1,9").is_err());
    }

    #[test]
    fn validation_names_frames_and_points_out_of_range() {
        let mut p = Prompts::default();
        p.add_points("9:10,10").unwrap();
        assert!(
            p.validate(5, 100.0, 100.0)
                .unwrap_err()
                .to_string()
                .contains("frame 9 is out of range")
        );
        let mut p = Prompts::default();
        p.add_points("1:150,10").unwrap();
        assert!(
            p.validate(5, 100.0, 100.0)
                .unwrap_err()
                .to_string()
                .contains("outside")
        );
        assert!(Prompts::default().validate(5, 100.0, 100.0).is_err());
    }

    #[test]
    fn reference_points_json_gets_the_automatic_box() {
        let entry: Value = serde_json::json!({
            "primary_points_by_frame": {"7": [[268, 16], [353, 16]], "18": [[931, 121]]}
        });
        let mut p = Prompts::default();
        p.add_reference_entry(&entry, 1000.0, 500.0, true).unwrap();
        let f7 = &p.objects[&1][&7];
        assert_eq!(f7.boxed, Some([259.5, 16.0, 361.5, 16.0]));
        // One click: a zero-area box, as the reference makes.
        assert_eq!(p.objects[&1][&18].boxed, Some([931.0, 121.0, 931.0, 121.0]));
    }
}

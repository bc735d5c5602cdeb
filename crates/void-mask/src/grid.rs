//! The reference's grid (void-mask-pipeline-spec §2.5): the "affected" region is always a
//! union of whole cells of a grid whose short side has `min_grid` cells (8 by default).
//!
//! `rows x cols`: landscape `min_grid x max(min_grid, round_half_even(min_grid·W/H))`,
//! portrait the transpose. Cell `(r, c)` covers rows `[trunc(r·H/rows), trunc((r+1)·H/rows))`
//! and columns likewise, computed in f64 in that order (for a few odd sizes this leaves a
//! one-pixel strip no cell covers, as in the reference). A cell is on if any pixel in it is.

/// A grid over a `width x height` frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grid {
    /// Cells down.
    pub rows: usize,
    /// Cells across.
    pub cols: usize,
    /// Frame width in pixels.
    pub width: usize,
    /// Frame height in pixels.
    pub height: usize,
}

impl Grid {
    /// The reference's grid for a frame, `min_grid` cells on the short side.
    pub fn new(width: usize, height: usize, min_grid: usize) -> Self {
        let (w, h, m) = (width as f64, height as f64, min_grid as f64);
        let (rows, cols) = if width >= height {
            (
                min_grid,
                min_grid.max((m * w / h).round_ties_even() as usize),
            )
        } else {
            (
                min_grid.max((m * h / w).round_ties_even() as usize),
                min_grid,
            )
        };
        Self {
            rows,
            cols,
            width,
            height,
        }
    }

    /// Rows `[y0, y1)` and columns `[x0, x1)` of cell `(row, col)`.
    pub fn cell(&self, row: usize, col: usize) -> ((usize, usize), (usize, usize)) {
        let edge = |i: usize, size: usize, n: usize| (i as f64 * (size as f64 / n as f64)) as usize;
        (
            (
                edge(row, self.height, self.rows),
                edge(row + 1, self.height, self.rows),
            ),
            (
                edge(col, self.width, self.cols),
                edge(col + 1, self.width, self.cols),
            ),
        )
    }

    /// The cell holding pixel `(x, y)` (`col = trunc(x / cell_w)`, `row = trunc(y / cell_h)`),
    /// clamped to the grid.
    pub fn cell_of(&self, x: f64, y: f64) -> (usize, usize) {
        let cell_w = self.width as f64 / self.cols as f64;
        let cell_h = self.height as f64 / self.rows as f64;
        let clamp = |v: f64, n: usize| (v.max(0.0) as usize).min(n - 1);
        (clamp(y / cell_h, self.rows), clamp(x / cell_w, self.cols))
    }

    /// Which cells hold at least one `on` pixel of a row-major `width x height` mask.
    pub fn cells_touched(&self, on: impl Fn(usize) -> bool) -> Vec<(usize, usize)> {
        let mut cells = Vec::new();
        for r in 0..self.rows {
            for c in 0..self.cols {
                let ((y0, y1), (x0, x1)) = self.cell(r, c);
                if (y0..y1).any(|y| (x0..x1).any(|x| on(y * self.width + x))) {
                    cells.push((r, c));
                }
            }
        }
        cells
    }

    /// Sets every pixel of the given cells in a row-major `width x height` mask to `value`.
    pub fn fill(&self, mask: &mut [u8], cells: &[(usize, usize)], value: u8) {
        for &(r, c) in cells {
            let ((y0, y1), (x0, x1)) = self.cell(r, c);
            for y in y0..y1 {
                mask[y * self.width + x0..y * self.width + x1].fill(value);
            }
        }
    }
}

/// Cells given by hand for a range of frames: `"FRAMES:ROW,COL[;ROW,COL...]"` with FRAMES
/// `A-B` (inclusive), `A` or `all`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CellSpec {
    /// First and last frame (inclusive); `None` for all frames.
    pub frames: Option<(usize, usize)>,
    /// `(row, col)` cells.
    pub cells: Vec<(usize, usize)>,
}

impl CellSpec {
    /// Parses one spec and checks it against the grid and the frame count.
    ///
    /// # Errors
    /// [`crate::Error::Prompt`] naming the spec and what is wrong.
    pub fn parse(spec: &str, grid: &Grid, frames: usize) -> crate::Result<Self> {
        let bad = |why: String| crate::Error::Prompt(format!("--affected-cells `{spec}`: {why}"));
        let (range, cells) = spec
            .split_once(':')
            .ok_or_else(|| bad("expected FRAMES:ROW,COL[;ROW,COL...]".into()))?;
        let number = |s: &str| {
            s.trim()
                .parse::<usize>()
                .map_err(|_| bad(format!("`{s}` is not a number")))
        };
        let frames_range = match range.trim() {
            "all" => None,
            r => {
                let (a, b) = match r.split_once('-') {
                    Some((a, b)) => (number(a)?, number(b)?),
                    None => (number(r)?, number(r)?),
                };
                if a > b || b >= frames {
                    return Err(bad(format!(
                        "frames {a}-{b} are not within 0-{}",
                        frames.saturating_sub(1)
                    )));
                }
                Some((a, b))
            }
        };
        let cells = cells
            .split(';')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(|c| {
                let (r, col) = c
                    .split_once(',')
                    .ok_or_else(|| bad(format!("cell `{c}` is not ROW,COL")))?;
                let (r, col) = (number(r)?, number(col)?);
                if r >= grid.rows || col >= grid.cols {
                    return Err(bad(format!(
                        "cell ({r}, {col}) is outside the {}x{} grid",
                        grid.rows, grid.cols
                    )));
                }
                Ok((r, col))
            })
            .collect::<crate::Result<Vec<_>>>()?;
        if cells.is_empty() {
            return Err(bad("no cells".into()));
        }
        Ok(Self {
            frames: frames_range,
            cells,
        })
    }

    /// Whether the spec covers `frame`.
    pub fn covers(&self, frame: usize) -> bool {
        self.frames.is_none_or(|(a, b)| (a..=b).contains(&frame))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spec's §14 vectors, and its table of common sizes.
    #[test]
    fn reference_grid_sizes() {
        let grid = |w, h| {
            let g = Grid::new(w, h, 8);
            (g.rows, g.cols)
        };
        assert_eq!(grid(3840, 2160), (8, 14));
        assert_eq!(grid(4096, 2160), (8, 15));
        assert_eq!(grid(544, 360), (8, 12));
        assert_eq!(grid(640, 480), (8, 11));
        assert_eq!(grid(800, 512), (8, 12), "12.5 rounds to even");
        assert_eq!(grid(1080, 1920), (14, 8));
        assert_eq!(grid(1296, 720), (8, 14));
        assert_eq!(grid(672, 384), (8, 14));
        assert_eq!(
            Grid::new(672, 384, 8).cell(1, 1),
            ((48, 96), (48, 96)),
            "exactly 48x48"
        );
        assert_eq!(Grid::new(100, 100, 10).rows, 10, "min_grid honoured");
    }

    /// Float cell edges: W = 15 with 11 columns leaves the last pixel column to no cell.
    #[test]
    fn float_edges_as_the_reference() {
        let g = Grid {
            rows: 1,
            cols: 11,
            width: 15,
            height: 1,
        };
        assert_eq!(g.cell(0, 10).1, (13, 14));
        let covered: usize = (0..11).map(|c| g.cell(0, c).1).map(|(a, b)| b - a).sum();
        assert_eq!(covered, 14);
    }

    #[test]
    fn cell_specs_parse_and_check() {
        let g = Grid::new(544, 360, 8);
        let spec = CellSpec::parse("3-9:1,2;7,11", &g, 50).unwrap();
        assert_eq!(spec.frames, Some((3, 9)));
        assert_eq!(spec.cells, [(1, 2), (7, 11)]);
        assert!(spec.covers(9) && !spec.covers(10));
        assert!(CellSpec::parse("all:0,0", &g, 50).unwrap().covers(49));
        for bad in ["3-60:1,1", "1:8,0", "1:0,12", "x:1,1", "1:", "9-3:1,1"] {
            assert!(CellSpec::parse(bad, &g, 50).is_err(), "{bad}");
        }
    }

    #[test]
    fn any_pixel_turns_its_cell_on() {
        let g = Grid::new(32, 16, 2);
        assert_eq!((g.rows, g.cols), (2, 4));
        let mut mask = vec![255u8; 32 * 16];
        mask[9 * 32 + 17] = 0; // row 9 -> cell row 1, column 17 -> cell column 2
        let cells = g.cells_touched(|i| mask[i] == 0);
        assert_eq!(cells, [(1, 2)]);
        let mut out = vec![255u8; 32 * 16];
        g.fill(&mut out, &cells, 127);
        assert_eq!(out.iter().filter(|&&v| v == 127).count(), 8 * 8);
        assert_eq!(g.cell_of(17.0, 9.0), (1, 2));
    }
}

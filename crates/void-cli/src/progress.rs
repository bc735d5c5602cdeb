//! Progress bars for decoding, fed by the library's `Progress` reports.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use void_pipeline::{Observer, Stage};
use void_sequence::{Progress, Stream};

/// One bar per stream, replaced when the stream changes; hidden with `--quiet` or when stderr
/// is not a terminal.
pub struct DecodeBars {
    quiet: bool,
    label: String,
    current: Option<(Stream, ProgressBar)>,
}

impl DecodeBars {
    /// Bars labelled with the sequence name.
    pub fn new(label: &str, quiet: bool) -> Self {
        Self {
            quiet,
            label: label.to_string(),
            current: None,
        }
    }

    /// Shows one report.
    pub fn update(&mut self, p: Progress) {
        if self.current.as_ref().is_none_or(|(s, _)| *s != p.stream) {
            self.finish();
            self.current = Some((p.stream, self.bar(p)));
        }
        if let Some((_, bar)) = &self.current {
            if let Some(total) = p.total {
                bar.set_length(total.max(p.done) as u64);
            }
            bar.set_position(p.done as u64);
        }
    }

    /// Clears the last bar.
    pub fn finish(&mut self) {
        if let Some((_, bar)) = self.current.take() {
            bar.finish_and_clear();
        }
    }

    fn bar(&self, p: Progress) -> ProgressBar {
        let what = match p.stream {
            Stream::Video => "video",
            Stream::Mask => "mask",
        };
        let bar = ProgressBar::with_draw_target(
            p.total.map(|t| t as u64),
            if self.quiet {
                ProgressDrawTarget::hidden()
            } else {
                ProgressDrawTarget::stderr()
            },
        );
        let style = ProgressStyle::with_template(
            "{prefix:>18} {bar:30} {pos:>4}/{len:4} frames {per_sec:>11} {elapsed}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_prefix(format!("{} {what}", self.label));
        bar
    }
}

/// Bars for a pass's stages (chunks encoded, steps x windows, chunks decoded), and the time
/// each stage took.
pub struct PassBars {
    quiet: bool,
    label: String,
    bar: Option<ProgressBar>,
    started: Option<std::time::Instant>,
    /// Seconds per stage, in the order they ran.
    pub times: Vec<(Stage, f64)>,
}

impl PassBars {
    /// Bars labelled with the sequence name.
    pub fn new(label: &str, quiet: bool) -> Self {
        Self {
            quiet,
            label: label.to_string(),
            bar: None,
            started: None,
            times: Vec::new(),
        }
    }
}

impl Observer for PassBars {
    fn begin(&mut self, stage: Stage, total: usize) {
        let unit = match stage {
            Stage::Denoise => "steps x windows",
            Stage::TextEncode => "prompt",
            _ => "chunks",
        };
        let bar = ProgressBar::with_draw_target(
            Some(total as u64),
            if self.quiet {
                ProgressDrawTarget::hidden()
            } else {
                ProgressDrawTarget::stderr()
            },
        );
        let style = ProgressStyle::with_template(&format!(
            "{{prefix:>18}} {{bar:30}} {{pos:>4}}/{{len:4}} {unit} {{elapsed}} (eta {{eta}})"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_prefix(format!("{} {}", self.label, stage.name()));
        self.bar = Some(bar);
        self.started = Some(std::time::Instant::now());
    }

    fn advance(&mut self, _stage: Stage, done: usize) {
        if let Some(bar) = &self.bar {
            bar.set_position(done as u64);
        }
    }

    fn end(&mut self, stage: Stage) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if let Some(start) = self.started.take() {
            self.times.push((stage, start.elapsed().as_secs_f64()));
        }
    }
}

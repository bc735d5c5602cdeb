//! Progress bars: decoding, fed by `void-sequence`'s `Progress` reports, a pass's stages, fed
//! through `void-pipeline`'s `Observer`, and downloading, fed by `void-hub`'s `Event`s.

use std::time::Duration;

use indicatif::{HumanBytes, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use void_hub::Event;
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
/// Download bars: one for the file being fetched (or verified), under its name, and one for
/// all bytes to fetch.
/// Hidden with `--quiet` or when stderr is not a terminal (then each finished file gets a
/// line instead); notes about retries are printed unless `--quiet`.
pub struct DownloadBars {
    quiet: bool,
    multi: MultiProgress,
    status: Option<ProgressBar>,
    overall: Option<ProgressBar>,
    file: Option<(String, ProgressBar)>,
}

impl DownloadBars {
    /// No bars yet; they appear as the download reports.
    pub fn new(quiet: bool) -> Self {
        let target = if quiet {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        Self {
            quiet,
            multi: MultiProgress::with_draw_target(target),
            status: None,
            overall: None,
            file: None,
        }
    }

    /// Shows one event.
    pub fn update(&mut self, event: Event<'_>) {
        match event {
            Event::Listing { repo, revision } => {
                let spinner = self.multi.add(ProgressBar::new_spinner());
                spinner.set_style(style("{spinner} {msg}"));
                spinner.set_message(format!("listing {repo}@{revision}"));
                spinner.enable_steady_tick(Duration::from_millis(120));
                self.clear_status();
                self.status = Some(spinner);
            }
            Event::Listed { .. } => self.clear_status(),
            Event::Planned {
                fetch, fetch_bytes, ..
            } => {
                self.clear_file();
                if fetch > 0 {
                    let bar = self.multi.add(ProgressBar::new(fetch_bytes));
                    bar.set_style(style(
                        "{prefix:>9} {bar:25} {bytes:>10}/{total_bytes:10} {binary_bytes_per_sec:>12} eta {eta}",
                    ));
                    bar.set_prefix("total");
                    self.overall = Some(bar);
                }
            }
            Event::Checking { file, done, size } => {
                self.file_bar(file, "verifying", size).set_position(done);
            }
            Event::Resuming { file, done, have } => {
                self.file_bar(file, "checking the part already there of", have)
                    .set_position(done);
            }
            Event::Progress {
                file,
                done,
                size,
                total_done,
                ..
            } => {
                self.file_bar(file, "", size).set_position(done);
                if let Some(overall) = &self.overall {
                    overall.set_position(total_done);
                }
            }
            Event::Retrying {
                what,
                failures,
                reason,
                wait,
            } => self.note(&format!(
                "note: {what}: {reason}; retrying in {:.1} s (failure {failures})",
                wait.as_secs_f64()
            )),
            Event::Restarting { file, reason } => {
                self.note(&format!("note: {file}: {reason}; starting it over"));
            }
            Event::Done { file, size } => {
                self.clear_file();
                // Without bars (stderr is not a terminal), one line per file shows progress.
                if !self.quiet && self.multi.is_hidden() {
                    eprintln!("fetched {file} ({})", bytes(size));
                }
            }
            _ => {}
        }
    }

    /// Clears every bar.
    pub fn finish(&mut self) {
        self.clear_status();
        self.clear_file();
        if let Some(bar) = self.overall.take() {
            bar.finish_and_clear();
        }
    }

    /// The bar of `file`, replacing another file's; `what` and `len` updated.
    fn file_bar(&mut self, file: &str, what: &str, len: u64) -> ProgressBar {
        let bar = match &self.file {
            Some((name, bar)) if name == file => bar.clone(),
            _ => {
                self.clear_file();
                let bar = ProgressBar::new(len);
                bar.set_style(style(
                    "{msg}\n{prefix:>9} {bar:25} {bytes:>10}/{total_bytes:10} {binary_bytes_per_sec:>12}",
                ));
                bar.set_prefix("file");
                // Keep the file bar above the total.
                let bar = match &self.overall {
                    Some(overall) => self.multi.insert_before(overall, bar),
                    None => self.multi.add(bar),
                };
                self.file = Some((file.to_string(), bar.clone()));
                bar
            }
        };
        bar.set_length(len);
        let name = file
            .strip_prefix(void_hub::BASE_DIR_NAME)
            .map_or(file, |rest| rest.trim_start_matches('/'));
        bar.set_message(if what.is_empty() {
            name.to_string()
        } else {
            format!("{what} {name}")
        });
        bar
    }

    fn clear_file(&mut self) {
        if let Some((_, bar)) = self.file.take() {
            bar.finish_and_clear();
        }
    }

    fn clear_status(&mut self) {
        if let Some(bar) = self.status.take() {
            bar.finish_and_clear();
        }
    }

    /// A line above the bars (or on its own when they are hidden), unless quiet.
    fn note(&self, line: &str) {
        if !self.quiet {
            self.multi.suspend(|| eprintln!("{line}"));
        }
    }
}

/// A bar style from a template known to be valid.
fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// `HumanBytes` of a count, for summaries.
pub fn bytes(n: u64) -> String {
    HumanBytes(n).to_string()
}

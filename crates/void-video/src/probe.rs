//! What a video file holds, read from ffmpeg's description of its first video stream.
//!
//! ffmpeg prints every input stream as one line (`Stream #0:0[0x1](und): Video: h264 (High) …,
//! yuv420p(progressive), 3840x2160 [SAR 1:1 DAR 16:9], 3117 kb/s, 12 fps, 12 tbr, …`), followed by
//! its side data (e.g. `displaymatrix: rotation of -90.00 degrees`). `mediapy`, the reference's
//! reader, parses the same text; parsing it here keeps void free of `ffprobe`, which static ffmpeg
//! builds do not ship.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::ffmpeg::summarize_stderr;
use crate::{Error, Ffmpeg, Result};

/// A frame rate as an exact fraction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fps {
    /// Numerator.
    pub num: u32,
    /// Denominator (never 0).
    pub den: u32,
}

impl Fps {
    /// A whole-number frame rate.
    pub const fn new(num: u32) -> Self {
        Self { num, den: 1 }
    }

    /// Frames per second as a float.
    pub fn as_f64(self) -> f64 {
        f64::from(self.num) / f64::from(self.den)
    }

    /// Reads ffmpeg's printed rate (`12`, `29.97`, `1k`), mapping the NTSC roundings back to
    /// their exact `N000/1001` fractions.
    fn from_printed(text: &str) -> Option<Self> {
        let (number, scale) = match text.strip_suffix('k') {
            Some(n) => (n, 1000.0),
            None => (text, 1.0),
        };
        let value: f64 = number.parse::<f64>().ok()? * scale;
        if !(value.is_finite() && value > 0.0) {
            return None;
        }
        for base in [24_u32, 30, 48, 60, 120, 240] {
            let ntsc = f64::from(base) * 1000.0 / 1001.0;
            if (value - ntsc).abs() < 0.006 {
                return Some(Self {
                    num: base * 1000,
                    den: 1001,
                });
            }
        }
        if (value - value.round()).abs() < 1e-9 {
            return Some(Self::new(value.round() as u32));
        }
        Some(Self {
            num: (value * 100.0).round() as u32,
            den: 100,
        })
    }
}

impl fmt::Display for Fps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.den == 1 {
            write!(f, "{}", self.num)
        } else {
            write!(f, "{}/{}", self.num, self.den)
        }
    }
}

/// The first video stream of a file, as ffmpeg describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoInfo {
    /// The file.
    pub path: PathBuf,
    /// Index of the stream inside the file (what `-map 0:N` selects).
    pub stream_index: usize,
    /// Codec and profile, e.g. `h264 (High 4:4:4 Predictive)`.
    pub codec: String,
    /// Stored pixel format, e.g. `yuv420p` or `yuv420p10le`.
    pub pixel_format: String,
    /// Width of decoded frames in pixels (after display rotation).
    pub width: u32,
    /// Height of decoded frames in pixels (after display rotation).
    pub height: u32,
    /// Frame rate.
    pub fps: Fps,
    /// Container duration in seconds, where the file states one.
    pub duration_s: Option<f64>,
}

impl VideoInfo {
    /// Frames the container's duration suggests (`duration × fps`, rounded); only a hint, the
    /// decoded count is the truth.
    pub fn estimated_frames(&self) -> Option<usize> {
        self.duration_s
            .map(|d| (d * self.fps.as_f64()).round() as usize)
    }
}

/// Describes the first video stream of `path`.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read, [`Error::NotAVideo`] if ffmpeg cannot open it,
/// [`Error::NoVideoStream`] if it holds no video, [`Error::UnparsedStream`] if the description
/// is not understood.
pub fn probe(ffmpeg: &Ffmpeg, path: &Path) -> Result<VideoInfo> {
    std::fs::File::open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let output = ffmpeg.output(ffmpeg.command().arg("-i").arg(path))?;
    // Without an output file ffmpeg always exits with 1; success is judged from the text.
    parse_description(path, &String::from_utf8_lossy(&output.stderr))
}

/// Parses ffmpeg's `-i` description of `path`.
fn parse_description(path: &Path, text: &str) -> Result<VideoInfo> {
    if !text.lines().any(|l| l.starts_with("Input #0")) {
        let detail = text
            .lines()
            .filter(|l| !l.contains("At least one output file"))
            .collect::<Vec<_>>()
            .join("\n");
        return Err(Error::NotAVideo {
            path: path.to_path_buf(),
            detail: summarize_stderr(&detail),
        });
    }
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| is_video_stream(l))
        .ok_or_else(|| Error::NoVideoStream {
            path: path.to_path_buf(),
        })?;
    let stream_line = lines[start];
    let unparsed = || Error::UnparsedStream {
        path: path.to_path_buf(),
        line: stream_line.trim().to_string(),
    };

    let stream_index = stream_line
        .trim_start()
        .strip_prefix("Stream #0:")
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(unparsed)?;
    let description = stream_line
        .split_once("Video: ")
        .map(|(_, d)| d)
        .ok_or_else(unparsed)?;
    let fields = split_top_level(description);
    let codec = fields
        .first()
        .map(|c| strip_fourcc(c))
        .ok_or_else(unparsed)?;
    let pixel_format = fields
        .get(1)
        .map(|f| f.split('(').next().unwrap_or(f).trim().to_string())
        .ok_or_else(unparsed)?;
    let (coded_w, coded_h) = fields
        .iter()
        .find_map(|f| parse_size(f))
        .ok_or_else(unparsed)?;
    let fps = field_value(&fields, " fps")
        .or_else(|| field_value(&fields, " tbr"))
        .and_then(Fps::from_printed)
        .ok_or_else(unparsed)?;

    // Side data of this stream sits between its line and the next stream's line.
    let side_data = lines[start + 1..]
        .iter()
        .take_while(|l| !l.trim_start().starts_with("Stream #"));
    let rotation = side_data
        .filter_map(|l| parse_rotation(l))
        .next()
        .unwrap_or(0.0);
    let quarter_turns = (rotation / 90.0).round() as i64;
    let (width, height) = if quarter_turns % 2 != 0 {
        (coded_h, coded_w)
    } else {
        (coded_w, coded_h)
    };

    let duration_s = lines.iter().find_map(|l| parse_duration(l));
    Ok(VideoInfo {
        path: path.to_path_buf(),
        stream_index,
        codec,
        pixel_format,
        width,
        height,
        fps,
        duration_s,
    })
}

/// A video stream line that is a real video, not an embedded cover picture.
fn is_video_stream(line: &str) -> bool {
    let line = line.trim_start();
    line.starts_with("Stream #0:") && line.contains(": Video: ") && !line.contains("(attached pic)")
}

/// Splits at `, ` outside parentheses and brackets: `yuv420p(tv, bt709)` stays one field.
fn split_top_level(text: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut depth = 0_i32;
    let mut current = String::new();
    for c in text.chars() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ',' if depth == 0 => {
                fields.push(current.trim().to_string());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        fields.push(current.trim().to_string());
    }
    fields
}

/// `h264 (High) (avc1 / 0x31637661)` -> `h264 (High)`: drops the container tag.
fn strip_fourcc(field: &str) -> String {
    match field.find(" / 0x") {
        Some(slash) => field[..slash]
            .rsplit_once(" (")
            .map_or(field, |(head, _)| head)
            .to_string(),
        None => field.to_string(),
    }
}

/// `3840x2160 [SAR 1:1 DAR 16:9]` -> (3840, 2160).
fn parse_size(field: &str) -> Option<(u32, u32)> {
    let token = field.split_whitespace().next()?;
    let (w, h) = token.split_once('x')?;
    Some((w.parse().ok()?, h.parse().ok()?))
}

/// The number before `suffix` in the field that ends with it (`12 fps` -> `12`).
fn field_value<'a>(fields: &'a [String], suffix: &str) -> Option<&'a str> {
    fields
        .iter()
        .find_map(|f| f.strip_suffix(suffix))
        .map(str::trim)
}

/// `displaymatrix: rotation of -90.00 degrees` (ffmpeg >= 5) or `rotate : 90` (older tags).
fn parse_rotation(line: &str) -> Option<f64> {
    let line = line.trim();
    if let Some(rest) = line.split_once("rotation of ").map(|(_, r)| r) {
        return rest.split_whitespace().next()?.parse().ok();
    }
    let (key, value) = line.split_once(':')?;
    if key.trim() == "rotate" {
        value.trim().parse().ok()
    } else {
        None
    }
}

/// `Duration: 00:00:03.83, start: …` -> 3.83 seconds.
fn parse_duration(line: &str) -> Option<f64> {
    let rest = line.trim_start().strip_prefix("Duration: ")?;
    let stamp = rest.split(',').next()?;
    let mut parts = stamp.split(':');
    let h: f64 = parts.next()?.parse().ok()?;
    let m: f64 = parts.next()?.parse().ok()?;
    let s: f64 = parts.next()?.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + s)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIME: &str = "Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'lime/input_video.mp4':
  Metadata:
    major_brand     : isom
  Duration: 00:00:03.83, start: 0.000000, bitrate: 8121 kb/s
  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 3840x2160 [SAR 1:1 DAR 16:9], 8120 kb/s, 12 fps, 12 tbr, 12288 tbn (default)
    Metadata:
      handler_name    : VideoHandler
At least one output file must be specified
";

    #[test]
    fn parses_a_4k_h264_stream() {
        let info = parse_description(Path::new("x.mp4"), LIME).unwrap();
        assert_eq!(info.codec, "h264 (High)");
        assert_eq!(info.pixel_format, "yuv420p");
        assert_eq!((info.width, info.height), (3840, 2160));
        assert_eq!(info.fps, Fps::new(12));
        assert_eq!(info.stream_index, 0);
        assert_eq!(info.estimated_frames(), Some(46));
    }

    #[test]
    fn parses_ntsc_rates_rotation_and_colour_details() {
        let text = "Input #0, mov,mp4, from 'phone.mov':
  Duration: 00:00:10.01, start: 0.000000, bitrate: 1 kb/s
  Stream #0:0[0x1](und): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, stereo, fltp, 1 kb/s
  Stream #0:1[0x2](und): Video: hevc (Main 10) (hvc1 / 0x31637668), yuv420p10le(tv, bt2020nc/bt2020/arib-std-b67), 1920x1080, 1 kb/s, 29.97 fps, 29.97 tbr, 600 tbn (default)
    Side data:
      displaymatrix: rotation of -90.00 degrees
  Stream #0:2: Video: mjpeg (Baseline), yuvj420p(pc), 320x240, 90k tbr, 90k tbn (attached pic)
";
        let info = parse_description(Path::new("phone.mov"), text).unwrap();
        assert_eq!(info.stream_index, 1);
        assert_eq!(info.codec, "hevc (Main 10)");
        assert_eq!(info.pixel_format, "yuv420p10le");
        assert_eq!((info.width, info.height), (1080, 1920));
        assert_eq!(
            info.fps,
            Fps {
                num: 30000,
                den: 1001
            }
        );
        assert_eq!(info.fps.to_string(), "30000/1001");
    }

    #[test]
    fn printed_rates() {
        assert_eq!(
            Fps::from_printed("23.98"),
            Some(Fps {
                num: 24000,
                den: 1001
            })
        );
        assert_eq!(
            Fps::from_printed("59.94"),
            Some(Fps {
                num: 60000,
                den: 1001
            })
        );
        assert_eq!(Fps::from_printed("1k"), Some(Fps::new(1000)));
        assert_eq!(
            Fps::from_printed("12.5"),
            Some(Fps {
                num: 1250,
                den: 100
            })
        );
        assert_eq!(Fps::from_printed("0"), None);
        assert_eq!(Fps::from_printed("abc"), None);
    }

    #[test]
    fn not_a_video_and_no_video_stream() {
        let garbage = "[mov,mp4,m4a,3gp,3g2,mj2 @ 0x1] moov atom not found\nx.mp4: Invalid data found when processing input\n";
        let err = parse_description(Path::new("x.mp4"), garbage).unwrap_err();
        assert!(matches!(err, Error::NotAVideo { .. }), "{err}");
        assert!(err.to_string().contains("moov atom not found"), "{err}");

        let audio = "Input #0, wav, from 'a.mp4':\n  Duration: 00:00:01.00, bitrate: 1411 kb/s\n  Stream #0:0: Audio: pcm_s16le, 44100 Hz, 2 channels, s16, 1411 kb/s\n";
        let err = parse_description(Path::new("a.mp4"), audio).unwrap_err();
        assert!(matches!(err, Error::NoVideoStream { .. }), "{err}");
    }
}

//! Reporting shared by every workload: latency summaries from hdrhistogram, throughput units,
//! machine facts, live progress on stderr, plain-text tables and JSON output.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hdrhistogram::Histogram;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::plot::{self, Timeline};

/// Bytes in one MB as reported (decimal, like disk vendors and `dd`).
pub const MB: f64 = 1_000_000.0;

/// A latency histogram in microseconds, 1 µs to 10 minutes, 3 significant digits.
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

/// Records one latency sample; values out of range are clamped.
pub fn record_latency(histogram: &mut Histogram<u64>, elapsed: Duration) {
    let micros = u64::try_from(elapsed.as_micros())
        .unwrap_or(u64::MAX)
        .max(1);
    histogram.saturating_record(micros);
}

/// Latency percentiles, in microseconds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Latency {
    /// Samples recorded.
    pub count: u64,
    pub mean_us: f64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
    /// The whole distribution, for `--plot` (see [`plot::distribution`]).
    #[serde(skip)]
    pub curve: Vec<(f64, u64)>,
}

impl Latency {
    pub fn from_histogram(histogram: &Histogram<u64>) -> Self {
        if histogram.is_empty() {
            return Self::default();
        }
        Self {
            curve: plot::distribution(histogram),
            count: histogram.len(),
            mean_us: histogram.mean(),
            p50_us: histogram.value_at_quantile(0.50),
            p90_us: histogram.value_at_quantile(0.90),
            p99_us: histogram.value_at_quantile(0.99),
            p999_us: histogram.value_at_quantile(0.999),
            max_us: histogram.max(),
        }
    }
}

/// Work done in a measured span.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Throughput {
    /// Records (or operations) completed.
    pub records: u64,
    /// Payload bytes completed.
    pub bytes: u64,
    pub secs: f64,
    pub records_per_s: f64,
    /// Payload MB (10^6 bytes) per second.
    pub mb_per_s: f64,
    /// Records and bytes over the span, for `--plot`; empty where nothing was sampled.
    #[serde(skip)]
    pub timeline: Timeline,
}

impl Throughput {
    pub fn new(records: u64, bytes: u64, elapsed: Duration) -> Self {
        let secs = elapsed.as_secs_f64().max(1e-9);
        Self {
            records,
            bytes,
            secs,
            records_per_s: records as f64 / secs,
            mb_per_s: bytes as f64 / MB / secs,
            timeline: Timeline::default(),
        }
    }

    /// The same, with how it went over time.
    pub fn with_timeline(mut self, timeline: Timeline) -> Self {
        self.timeline = timeline;
        self
    }
}

/// Facts about where a benchmark ran.
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    /// CPUs available to this process.
    pub nproc: usize,
    /// `uname -r`.
    pub kernel: String,
    /// The filesystem holding the data directory, when it could be told.
    pub fs: Option<Filesystem>,
}

/// A mounted filesystem.
#[derive(Clone, Debug, Serialize)]
pub struct Filesystem {
    pub mount_point: String,
    pub fs_type: String,
    pub source: String,
}

impl Machine {
    /// Describes this machine, with the filesystem of `data_dir` (which must exist).
    pub fn probe(data_dir: &Path) -> Self {
        Self {
            nproc: std::thread::available_parallelism().map_or(1, |n| n.get()),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| "unknown".into()),
            fs: filesystem_of(data_dir),
        }
    }
}

impl Machine {
    /// One line for a figure's caption: `2 CPUs, kernel 6.1.0, ext4 on /dev/vda1`.
    pub fn describe(&self) -> String {
        let fs = self.fs.as_ref().map_or(String::new(), |fs| {
            format!(", {} on {}", fs.fs_type, fs.source)
        });
        format!("{} CPUs, kernel {}{fs}", self.nproc, self.kernel)
    }
}

/// The mount holding `path`, from `/proc/self/mountinfo` (the longest matching mount point).
pub fn filesystem_of(path: &Path) -> Option<Filesystem> {
    let path = std::fs::canonicalize(path).ok()?;
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mut best: Option<(usize, Filesystem)> = None;
    for line in mountinfo.lines() {
        // id parent major:minor root mount_point options [optional...] - fs_type source super
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let Some(mount_point) = left.split(' ').nth(4).map(unescape_mount) else {
            continue;
        };
        let mut right = right.split(' ');
        let fs_type = right.next().unwrap_or_default().to_string();
        let source = right.next().unwrap_or_default().to_string();
        if !path.starts_with(&mount_point) {
            continue;
        }
        let depth = PathBuf::from(&mount_point).components().count();
        if best.as_ref().is_none_or(|(d, _)| depth >= *d) {
            best = Some((
                depth,
                Filesystem {
                    mount_point,
                    fs_type,
                    source,
                },
            ));
        }
    }
    best.map(|(_, fs)| fs)
}

/// Undoes the octal escapes (`\040` for a space) of `/proc/self/mountinfo`.
fn unescape_mount(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut rest = field;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let code = rest.get(at + 1..at + 4);
        match code.and_then(|c| u8::from_str_radix(c, 8).ok()) {
            Some(byte) => {
                out.push(char::from(byte));
                rest = &rest[at + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[at + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Every bar on stderr, so bars shown at once (a producer's and a consumer's) stack instead of
/// overwriting one another; hidden when stderr is not a terminal.
static BARS: std::sync::LazyLock<MultiProgress> = std::sync::LazyLock::new(MultiProgress::new);

/// A spinner among [`BARS`] with `template`.
fn spinner(template: &str) -> ProgressBar {
    let bar = BARS.add(ProgressBar::new_spinner());
    bar.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar
}

/// Numbered phases on stderr: `[3/19] label ... result`. On a terminal the running phase is
/// a spinner with its elapsed time, replaced by the result line when it ends; elsewhere (a log, a pipe, a test) each phase is one plain line,
/// as the results come in.
pub struct Progress {
    total: usize,
    done: usize,
    label: String,
    bar: ProgressBar,
}

impl Progress {
    pub fn new(total: usize) -> Self {
        let bar = spinner("{spinner} [{prefix}] {wide_msg} {elapsed}");
        Self {
            total,
            done: 0,
            label: String::new(),
            bar,
        }
    }

    /// Announces the next phase (ended by [`Progress::finish`]).
    pub fn start(&mut self, label: &str) {
        self.done += 1;
        self.label = label.to_string();
        if self.bar.is_hidden() {
            eprint!("[{}/{}] {label} ... ", self.done, self.total);
        } else {
            self.bar.set_prefix(format!("{}/{}", self.done, self.total));
            self.bar.set_message(label.to_string());
            self.bar.reset_elapsed();
            self.bar.enable_steady_tick(Duration::from_millis(120));
        }
    }

    pub fn finish(&self, result: &str) {
        if self.bar.is_hidden() {
            eprintln!("{result}");
        } else {
            self.bar.disable_steady_tick();
            self.bar.println(format!(
                "[{}/{}] {} ... {result}",
                self.done, self.total, self.label
            ));
            self.bar.set_message(String::new());
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// A live figure line on stderr, updated about once a second: on a terminal one spinner line
/// rewritten in place, elsewhere one line per update (`  label figures`).
pub struct Live {
    label: String,
    bar: ProgressBar,
}

impl Live {
    pub fn new(label: impl Into<String>) -> Self {
        let label = label.into();
        let bar = spinner("{spinner} {prefix} {wide_msg}");
        bar.set_prefix(label.clone());
        if !bar.is_hidden() {
            bar.enable_steady_tick(Duration::from_millis(120));
        }
        Self { label, bar }
    }

    pub fn show(&self, figures: &str) {
        if self.bar.is_hidden() {
            eprintln!("  {} {figures}", self.label);
        } else {
            self.bar.set_message(figures.to_string());
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        // The last figures stay on screen.
        self.bar.abandon();
    }
}

/// Column alignment in a [`Table`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// A plain-text table with a header row and aligned columns.
pub struct Table {
    columns: Vec<(String, Align)>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(columns: &[(&str, Align)]) -> Self {
        Self {
            columns: columns
                .iter()
                .map(|(name, align)| (name.to_string(), *align))
                .collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self
            .columns
            .iter()
            .map(|(h, _)| h.chars().count())
            .collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let line = |out: &mut String, cells: &mut dyn Iterator<Item = &str>| {
            let mut text = String::new();
            for (index, ((_, align), width)) in self.columns.iter().zip(&widths).enumerate() {
                let cell = cells.next().unwrap_or("");
                if index > 0 {
                    text.push_str("  ");
                }
                let pad = width.saturating_sub(cell.chars().count());
                match align {
                    Align::Left => {
                        text.push_str(cell);
                        text.extend(std::iter::repeat_n(' ', pad));
                    }
                    Align::Right => {
                        text.extend(std::iter::repeat_n(' ', pad));
                        text.push_str(cell);
                    }
                }
            }
            let _ = writeln!(out, "{}", text.trim_end());
        };
        line(&mut out, &mut self.columns.iter().map(|(h, _)| h.as_str()));
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        line(&mut out, &mut rule.iter().map(String::as_str));
        for row in &self.rows {
            line(&mut out, &mut row.iter().map(String::as_str));
        }
        out
    }
}

/// `1234567` as `1,234,567`.
pub fn group(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A rate rounded to a whole number, grouped: `123,456`.
pub fn rate(value: f64) -> String {
    group(value.max(0.0).round() as u64)
}

/// A number with one decimal, the integer part grouped: `1,234.5`.
pub fn decimal(value: f64) -> String {
    let tenths = (value.max(0.0) * 10.0).round() as u64;
    format!("{}.{}", group(tenths / 10), tenths % 10)
}

/// A ratio as `0.87x`.
pub fn ratio(value: f64) -> String {
    format!("{value:.2}x")
}

/// A byte size as people write it: `100B`, `1KiB`, `1.5MiB`.
pub fn size(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{}MiB", bytes / MIB)
    } else if bytes >= MIB {
        format!("{:.1}MiB", bytes as f64 / MIB as f64)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{}KiB", bytes / KIB)
    } else if bytes >= KIB {
        format!("{:.1}KiB", bytes as f64 / KIB as f64)
    } else {
        format!("{bytes}B")
    }
}

/// Parses `100`, `1k`, `1KiB`, `4m`, `4MiB` (binary units) into bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("invalid size {text:?}: expected e.g. 100, 1KiB, 4MiB"))?;
    let multiplier = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
        other => return Err(format!("invalid size unit {other:?} in {text:?}")),
    };
    number
        .checked_mul(multiplier)
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("invalid size {text:?}: must be positive"))
}

/// Writes `value` as pretty JSON to `path`.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let mut text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
    text.push('\n');
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_numbers() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(1_234_567), "1,234,567");
        assert_eq!(decimal(1234.56), "1,234.6");
        assert_eq!(size(100), "100B");
        assert_eq!(size(1024), "1KiB");
        assert_eq!(size(1536), "1.5KiB");
        assert_eq!(size(4 << 20), "4MiB");
    }

    #[test]
    fn parses_sizes() {
        assert_eq!(parse_size("100"), Ok(100));
        assert_eq!(parse_size("1KiB"), Ok(1024));
        assert_eq!(parse_size("1k"), Ok(1024));
        assert_eq!(parse_size("4MiB"), Ok(4 << 20));
        assert!(parse_size("0").is_err());
        assert!(parse_size("1 parsec").is_err());
        assert!(parse_size("").is_err());
    }

    #[test]
    fn unescapes_mount_points() {
        assert_eq!(unescape_mount(r"/mnt/my\040disk"), "/mnt/my disk");
        assert_eq!(unescape_mount("/"), "/");
    }

    #[test]
    fn finds_the_root_filesystem() {
        let fs = filesystem_of(Path::new("/")).expect("root is mounted");
        assert_eq!(fs.mount_point, "/");
    }

    #[test]
    fn renders_aligned_tables() {
        let mut table = Table::new(&[("name", Align::Left), ("n", Align::Right)]);
        table.row(vec!["a".into(), "1,000".into()]);
        table.row(vec!["long".into(), "2".into()]);
        assert_eq!(
            table.render(),
            "name      n\n----  -----\na     1,000\nlong      2\n"
        );
    }

    #[test]
    fn summarizes_latency() {
        let mut histogram = latency_histogram();
        for micros in 1..=1000 {
            record_latency(&mut histogram, Duration::from_micros(micros));
        }
        let latency = Latency::from_histogram(&histogram);
        assert_eq!(latency.count, 1000);
        assert_eq!(latency.p50_us, 500);
        assert_eq!(latency.max_us, 1000);
        assert_eq!(Latency::from_histogram(&latency_histogram()).count, 0);
    }
}

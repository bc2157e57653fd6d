//! `--plot FILE.svg`: a run as a picture. The left panel is throughput over time (records/s in
//! short intervals, MB/s on the right axis when every record has one size); the right panel is
//! the latency distribution (latency against percentile, the percentile axis stretched so each
//! extra nine gets the same room). Baselines measured in the same run are drawn dashed beside
//! the run's own series, as lines over time where the baseline ran under load (another server)
//! and as levels where it is one figure (the raw disk).
//!
//! Throughput over time comes from a [`Sampler`]: a task that reads the counters a mode
//! already keeps for its progress line every [`SAMPLE_INTERVAL`] and records the cumulative
//! totals with their time. The load's hot path gains nothing; rates are worked out at the end
//! from the differences between samples and their real spacing, so a late tick on a busy
//! machine stretches an interval instead of skewing its rate.
//!
//! Figures are drawn with plotters' SVG backend and its built-in text measurement: text is
//! written as `<text>` elements for the viewer to render, so no font files are read and no
//! font library is linked.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use crate::storage::BoxError;

/// How often a [`Sampler`] reads its counters.
pub const SAMPLE_INTERVAL: Duration = Duration::from_millis(100);
/// The most points a throughput line is drawn with; longer runs get wider intervals.
const RATE_POINTS_MAX: usize = 400;
/// Highest percentile drawn: 99.999 (five nines).
const NINES_MAX: f64 = 5.0;
/// Spacing of the points of a latency distribution, in nines.
const NINES_STEP: f64 = 0.05;

/// Cumulative records and bytes at one moment of a run.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Sample {
    secs: f64,
    records: u64,
    bytes: u64,
}

/// The cumulative totals of one series, sampled over its run, from which throughput over time
/// is worked out. Starts at zero records at time zero.
#[derive(Clone, Debug, Default)]
pub struct Timeline {
    samples: Vec<Sample>,
}

/// Throughput over one interval of a [`Timeline`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    /// The interval's middle, in seconds since the series started.
    pub secs: f64,
    pub records_per_s: f64,
    pub bytes_per_s: f64,
}

impl Timeline {
    /// Adds the totals reached `secs` after the start; a sample earlier than the last one, or
    /// with smaller totals (a counter read out of order), is ignored.
    pub fn push(&mut self, secs: f64, records: u64, bytes: u64) {
        let last = self.samples.last().copied().unwrap_or(Sample {
            secs: 0.0,
            records: 0,
            bytes: 0,
        });
        if secs < last.secs || records < last.records || bytes < last.bytes {
            return;
        }
        self.samples.push(Sample {
            secs,
            records,
            bytes,
        });
    }

    /// Whether nothing was sampled.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Seconds from the start to the last sample.
    pub fn secs(&self) -> f64 {
        self.samples.last().map_or(0.0, |s| s.secs)
    }

    /// The rate over each interval between samples, intervals shorter than `min_secs` joined
    /// with the ones after them (the last, if short, with the one before), so a final sample
    /// taken just after a tick does not draw a spike.
    pub fn rates(&self, min_secs: f64) -> Vec<Rate> {
        let min_secs = min_secs.max(1e-6);
        let mut spans: Vec<(Sample, Sample)> = Vec::new();
        let mut from = Sample {
            secs: 0.0,
            records: 0,
            bytes: 0,
        };
        for sample in &self.samples {
            if sample.secs - from.secs >= min_secs {
                spans.push((from, *sample));
                from = *sample;
            }
        }
        if let Some(last) = self.samples.last()
            && last.secs > from.secs
        {
            match spans.last_mut() {
                Some(span) => span.1 = *last,
                None => spans.push((from, *last)),
            }
        }
        spans
            .into_iter()
            .map(|(from, to)| {
                let secs = to.secs - from.secs;
                Rate {
                    secs: (from.secs + to.secs) / 2.0,
                    records_per_s: (to.records - from.records) as f64 / secs,
                    bytes_per_s: (to.bytes - from.bytes) as f64 / secs,
                }
            })
            .collect()
    }

    /// [`Timeline::rates`] at the sampling interval, or coarser for a run so long that it
    /// would take more than [`RATE_POINTS_MAX`] points.
    pub fn plotted_rates(&self) -> Vec<Rate> {
        let min_secs =
            (SAMPLE_INTERVAL.as_secs_f64() / 2.0).max(self.secs() / RATE_POINTS_MAX as f64);
        self.rates(min_secs)
    }
}

/// A counter read: cumulative records and bytes so far.
type Read = dyn Fn() -> (u64, u64) + Send + Sync;

/// Reads counters every [`SAMPLE_INTERVAL`] on the current tokio runtime into a [`Timeline`],
/// until [`Sampler::finish`] (or drop).
pub struct Sampler {
    task: tokio::task::JoinHandle<()>,
    timeline: Arc<Mutex<Timeline>>,
    read: Arc<Read>,
    started: Instant,
}

impl Sampler {
    /// Starts sampling `read` now; the series starts at zero records at this moment. Must be
    /// called within a tokio runtime.
    pub fn start(read: impl Fn() -> (u64, u64) + Send + Sync + 'static) -> Self {
        let read: Arc<Read> = Arc::new(read);
        let timeline = Arc::new(Mutex::new(Timeline::default()));
        let started = Instant::now();
        let task = tokio::spawn({
            let read = Arc::clone(&read);
            let timeline = Arc::clone(&timeline);
            async move {
                let mut interval = tokio::time::interval(SAMPLE_INTERVAL);
                interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                interval.tick().await;
                loop {
                    interval.tick().await;
                    let (records, bytes) = read();
                    let secs = started.elapsed().as_secs_f64();
                    lock(&timeline).push(secs, records, bytes);
                }
            }
        });
        Self {
            task,
            timeline,
            read,
            started,
        }
    }

    /// Stops sampling, takes a last sample now and returns the timeline.
    pub fn finish(self) -> Timeline {
        self.task.abort();
        let (records, bytes) = (self.read)();
        let mut timeline = std::mem::take(&mut *lock(&self.timeline));
        timeline.push(self.started.elapsed().as_secs_f64(), records, bytes);
        timeline
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A latency distribution as points `(nines, microseconds)`, where `nines` is
/// `-log10(1 - quantile)`: 0.3 is the median, 1 is p90, 2 is p99, 5 is p99.999. Points stop
/// at the nines the sample count supports (one sample in ten thousand is p99.99) and end with
/// the maximum.
pub fn distribution(histogram: &Histogram<u64>) -> Vec<(f64, u64)> {
    if histogram.is_empty() {
        return Vec::new();
    }
    let supported = (histogram.len() as f64).log10().clamp(0.0, NINES_MAX);
    let mut points = Vec::new();
    let mut nines = 0.0;
    while nines <= supported {
        let quantile = 1.0 - 10f64.powf(-nines);
        points.push((nines, histogram.value_at_quantile(quantile)));
        nines += NINES_STEP;
    }
    points.push((supported.max(NINES_STEP), histogram.max()));
    points
}

/// Whether a series is the run's own or a baseline's (drawn dashed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Measured,
    Baseline,
}

impl Role {
    /// The role of a report's `index`th run: the first is the one measured, the others
    /// (`--compare`'s servers) are baselines.
    pub fn of_run(index: usize) -> Self {
        if index == 0 {
            Self::Measured
        } else {
            Self::Baseline
        }
    }
}

/// A line of the throughput panel.
#[derive(Clone, Debug)]
pub struct Line {
    pub label: String,
    pub role: Role,
    /// Index into the palette; a series and its baseline may share one.
    pub color: usize,
    pub points: Vec<Rate>,
}

/// A level of the throughput panel: a baseline that is one figure, in records/s (MB/s for a
/// figure [`Figure::by_bytes`]).
#[derive(Clone, Debug)]
pub struct Level {
    pub label: String,
    pub color: usize,
    pub value: f64,
}

/// A curve of the latency panel.
#[derive(Clone, Debug)]
pub struct Curve {
    pub label: String,
    pub role: Role,
    pub color: usize,
    /// From [`distribution`].
    pub points: Vec<(f64, u64)>,
}

/// Everything one SVG shows.
#[derive(Clone, Debug, Default)]
pub struct Figure {
    pub title: String,
    /// One line under the panels: the machine and settings the figures come from.
    pub caption: String,
    /// Bytes of every record, when all have one size: the throughput panel then has a MB/s
    /// axis on the right.
    pub record_bytes: Option<u64>,
    /// What a record is called on the throughput axis: `records`, `messages`.
    pub unit: &'static str,
    /// Throughput in payload MB/s rather than records/s (for runs mixing record sizes).
    pub by_bytes: bool,
    pub lines: Vec<Line>,
    pub levels: Vec<Level>,
    pub curves: Vec<Curve>,
}

/// Palette index of the raw disk's levels and of other fixed baselines: a gray, then a brown.
pub const GRAY: usize = 7;
pub const BROWN: usize = 5;

impl Figure {
    pub fn new(title: impl Into<String>, caption: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            caption: caption.into(),
            unit: "records",
            ..Self::default()
        }
    }

    /// Adds a throughput line from `timeline`, unless it is empty.
    pub fn line(
        &mut self,
        label: impl Into<String>,
        role: Role,
        color: usize,
        timeline: &Timeline,
    ) {
        if timeline.is_empty() {
            return;
        }
        self.lines.push(Line {
            label: label.into(),
            role,
            color,
            points: timeline.plotted_rates(),
        });
    }

    /// Adds the raw disk's synced baseline (writes of `write_bytes`, each followed by
    /// `fdatasync`) as a level.
    pub fn synced_disk_level(&mut self, write_bytes: u64, mb_per_s: f64) {
        self.level_mb(
            format!(
                "raw disk: {} write+fdatasync, {} MB/s",
                crate::report::size(write_bytes),
                crate::report::decimal(mb_per_s)
            ),
            BROWN,
            mb_per_s,
        );
    }

    /// Adds a baseline level of `mb_per_s`, drawn as it is in a figure by bytes and in
    /// records/s of [`Figure::record_bytes`] otherwise (and not at all without a record size).
    pub fn level_mb(&mut self, label: impl Into<String>, color: usize, mb_per_s: f64) {
        let value = if self.by_bytes {
            Some(mb_per_s)
        } else {
            self.record_bytes
                .filter(|b| *b > 0)
                .map(|bytes| mb_per_s * crate::report::MB / bytes as f64)
        };
        if let Some(value) = value {
            self.levels.push(Level {
                label: label.into(),
                color,
                value,
            });
        }
    }

    /// A rate as the throughput panel draws it.
    fn value(&self, rate: &Rate) -> f64 {
        if self.by_bytes {
            rate.bytes_per_s / crate::report::MB
        } else {
            rate.records_per_s
        }
    }

    /// Adds a latency curve, unless it has no points.
    pub fn curve(
        &mut self,
        label: impl Into<String>,
        role: Role,
        color: usize,
        points: &[(f64, u64)],
    ) {
        if points.is_empty() {
            return;
        }
        self.curves.push(Curve {
            label: label.into(),
            role,
            color,
            points: points.to_vec(),
        });
    }

    /// Two legend columns under each panel, or one where a label would run into the next
    /// column.
    fn legend_columns(&self) -> usize {
        let longest = self
            .lines
            .iter()
            .map(|l| l.label.chars().count())
            .chain(self.levels.iter().map(|l| l.label.chars().count()))
            .chain(self.curves.iter().map(|c| c.label.chars().count()))
            .max()
            .unwrap_or(0);
        if longest > LEGEND_LABEL_CHARS_MAX {
            1
        } else {
            2
        }
    }

    fn throughput_unit(&self) -> String {
        if self.by_bytes {
            "MB/s".to_string()
        } else {
            format!("{}/s", self.unit)
        }
    }

    /// The figure as an SVG document.
    pub fn to_svg(&self) -> Result<String, BoxError> {
        let mut svg = String::new();
        {
            let columns = self.legend_columns();
            let legend_rows = self
                .lines
                .len()
                .saturating_add(self.levels.len())
                .max(self.curves.len())
                .div_ceil(columns);
            let height = TITLE_PX + CHART_PX + legend_rows as u32 * LEGEND_ROW_PX + CAPTION_PX;
            let root = SVGBackend::with_string(&mut svg, (WIDTH_PX, height)).into_drawing_area();
            root.fill(&WHITE).map_err(draw_error)?;
            let (title, rest) = root.split_vertically(TITLE_PX);
            title
                .draw_text(
                    &self.title,
                    &("sans-serif", 20).into_font().color(&BLACK),
                    (16, 10),
                )
                .map_err(draw_error)?;
            let (panels, caption) = rest.split_vertically(height - TITLE_PX - CAPTION_PX);
            caption
                .draw_text(
                    &self.caption,
                    &("sans-serif", 12).into_font().color(&RGBColor(90, 90, 90)),
                    (16, 8),
                )
                .map_err(draw_error)?;
            let (left, right) = panels.split_horizontally(WIDTH_PX / 2);
            self.throughput_panel(&left)?;
            self.latency_panel(&right)?;
            root.present().map_err(draw_error)?;
        }
        Ok(svg)
    }

    fn throughput_panel(&self, area: &DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), BoxError> {
        let (chart_area, legend_area) = area.split_vertically(CHART_PX);
        let secs = self
            .lines
            .iter()
            .flat_map(|l| l.points.last())
            .map(|p| p.secs)
            .fold(0.0f64, f64::max)
            .max(0.1)
            * 1.02;
        let top = self
            .lines
            .iter()
            .flat_map(|l| l.points.iter().map(|p| self.value(p)))
            .chain(self.levels.iter().map(|l| l.value))
            .fold(0.0f64, f64::max)
            .max(1.0)
            * 1.1;
        let mut builder = ChartBuilder::on(&chart_area);
        builder
            .caption(
                format!("Throughput over time ({})", self.throughput_unit()),
                ("sans-serif", 15),
            )
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(64);
        let mb_per_record = self
            .record_bytes
            .filter(|_| !self.by_bytes)
            .map(|b| b as f64 / crate::report::MB);
        if mb_per_record.is_some() {
            builder.right_y_label_area_size(56);
        }
        let chart = builder
            .build_cartesian_2d(0.0..secs, 0.0..top)
            .map_err(draw_error)?;
        // The right axis is the same lines in MB/s: with one record size the two are
        // proportional.
        let mut chart =
            chart.set_secondary_coord(0.0..secs, 0.0..top * mb_per_record.unwrap_or(1.0));
        // After the secondary coordinate is set, so the right label area is the MB/s axis's.
        let y_desc = self.throughput_unit();
        chart
            .configure_mesh()
            .x_desc("seconds since the phase started")
            .y_desc(y_desc.as_str())
            .y_label_formatter(&|v| si(*v))
            .max_light_lines(1)
            .light_line_style(RGBColor(235, 235, 235))
            .label_style(("sans-serif", 11))
            .draw()
            .map_err(draw_error)?;
        if mb_per_record.is_some() {
            chart
                .configure_secondary_axes()
                .y_desc("MB/s")
                .y_label_formatter(&|v| si(*v))
                .label_style(("sans-serif", 11))
                .draw()
                .map_err(draw_error)?;
        }
        let mut legend = Vec::new();
        for level in &self.levels {
            let style = color(level.color).stroke_width(2);
            let points = [(0.0, level.value), (secs, level.value)];
            chart
                .draw_series(DashedLineSeries::new(points, 8, 5, style))
                .map_err(draw_error)?;
            legend.push((level.label.clone(), Role::Baseline, level.color));
        }
        for line in &self.lines {
            let points: Vec<(f64, f64)> = line
                .points
                .iter()
                .map(|p| (p.secs, self.value(p)))
                .collect();
            let style = color(line.color).stroke_width(2);
            match line.role {
                Role::Measured => chart.draw_series(LineSeries::new(points, style)).map(drop),
                Role::Baseline => chart
                    .draw_series(DashedLineSeries::new(points, 8, 5, style))
                    .map(drop),
            }
            .map_err(draw_error)?;
            legend.push((line.label.clone(), line.role, line.color));
        }
        if self.lines.is_empty() {
            note(&chart_area, "no throughput was sampled")?;
        }
        draw_legend(&legend_area, &legend, self.legend_columns())
    }

    fn latency_panel(&self, area: &DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), BoxError> {
        let (chart_area, legend_area) = area.split_vertically(CHART_PX);
        if self.curves.is_empty() {
            let mut chart = ChartBuilder::on(&chart_area)
                .caption("Latency distribution", ("sans-serif", 15))
                .margin(10)
                .build_cartesian_2d(0.0..1.0, 0.0..1.0)
                .map_err(draw_error)?;
            chart
                .configure_mesh()
                .disable_mesh()
                .disable_axes()
                .draw()
                .map_err(draw_error)?;
            return note(&chart_area, "this mode measures no per-record latency");
        }
        let nines = self
            .curves
            .iter()
            .flat_map(|c| c.points.iter().map(|p| p.0))
            .fold(1.0f64, f64::max)
            .min(NINES_MAX);
        let (low, high) = self
            .curves
            .iter()
            .flat_map(|c| c.points.iter().map(|p| p.1))
            .fold((u64::MAX, 1u64), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let low = (low.max(1) as f64 / 1.5).max(0.5);
        let high = (high as f64 * 1.5).max(low * 10.0);
        let mut chart = ChartBuilder::on(&chart_area)
            .caption("Latency distribution", ("sans-serif", 15))
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d(NinesAxis { top: nines * 1.02 }, MicrosAxis { low, high })
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .x_desc("percentile")
            .y_desc("latency")
            .x_label_formatter(&|n| percentile_label(*n))
            .y_label_formatter(&|v| micros_label(*v))
            .light_line_style(RGBColor(235, 235, 235))
            .label_style(("sans-serif", 11))
            .draw()
            .map_err(draw_error)?;
        let mut legend = Vec::new();
        for curve in &self.curves {
            let points: Vec<(f64, f64)> = curve
                .points
                .iter()
                .map(|(n, us)| (*n, (*us).max(1) as f64))
                .collect();
            let style = color(curve.color).stroke_width(2);
            match curve.role {
                Role::Measured => chart.draw_series(LineSeries::new(points, style)).map(drop),
                Role::Baseline => chart
                    .draw_series(DashedLineSeries::new(points, 8, 5, style))
                    .map(drop),
            }
            .map_err(draw_error)?;
            legend.push((curve.label.clone(), curve.role, curve.color));
        }
        draw_legend(&legend_area, &legend, self.legend_columns())
    }
}

/// The latency panel's x axis: nines (see [`distribution`]), evenly spaced, with ticks at the
/// median and at each whole nine.
struct NinesAxis {
    top: f64,
}

impl Ranged for NinesAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = f64::from(limit.1 - limit.0);
        limit.0 + (span * value / self.top.max(1e-9)).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        [std::f64::consts::LOG10_2, 1.0, 2.0, 3.0, 4.0, 5.0]
            .into_iter()
            .filter(|n| *n <= self.top)
            .collect()
    }

    fn range(&self) -> std::ops::Range<f64> {
        0.0..self.top
    }
}

/// The latency panel's y axis: microseconds on a log scale, with ticks at 1, 2 and 5 of each
/// decade (only at 1 when the range spans many decades).
struct MicrosAxis {
    low: f64,
    high: f64,
}

impl Ranged for MicrosAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let (low, high) = (self.low.max(1e-9).ln(), self.high.max(1e-9).ln());
        let share = (value.max(1e-9).ln() - low) / (high - low).max(1e-9);
        limit.0 + (f64::from(limit.1 - limit.0) * share).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        let first = self.low.max(1e-9).log10().floor() as i32;
        let last = self.high.max(1e-9).log10().ceil() as i32;
        let ticks = |steps: &[f64]| -> Vec<f64> {
            (first..=last)
                .flat_map(|decade| steps.iter().map(move |m| m * 10f64.powi(decade)))
                .filter(|v| (self.low..=self.high).contains(v))
                .collect()
        };
        let fine = ticks(&[1.0, 2.0, 5.0]);
        if fine.len() > 10 { ticks(&[1.0]) } else { fine }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.low..self.high
    }
}

/// Figure geometry, in pixels.
const WIDTH_PX: u32 = 1200;
const TITLE_PX: u32 = 40;
const CHART_PX: u32 = 400;
const LEGEND_ROW_PX: u32 = 18;
/// The longest label that fits a half-width legend column.
const LEGEND_LABEL_CHARS_MAX: usize = 40;
const CAPTION_PX: u32 = 30;

/// The tab10 palette: distinct at a glance and in print.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

fn color(index: usize) -> RGBColor {
    PALETTE[index % PALETTE.len()]
}

/// The legend under a panel: a line sample (dashed for a baseline) and the label, in columns.
fn draw_legend(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    entries: &[(String, Role, usize)],
    columns: usize,
) -> Result<(), BoxError> {
    let columns = columns.max(1);
    let (width, _) = area.dim_in_pixel();
    let column_px = (width as i32 - 40) / columns as i32;
    let font = ("sans-serif", 12).into_font().color(&BLACK);
    for (index, (label, role, hue)) in entries.iter().enumerate() {
        let row = (index / columns) as i32;
        let column = (index % columns) as i32;
        let x = 30 + column * column_px;
        let y = row * LEGEND_ROW_PX as i32 + 9;
        let style = color(*hue).stroke_width(2);
        match role {
            Role::Measured => area.draw(&PathElement::new(vec![(x, y), (x + 28, y)], style)),
            Role::Baseline => area.draw(&DashedPathElement::new(
                vec![(x, y), (x + 28, y)],
                6,
                4,
                style,
            )),
        }
        .map_err(draw_error)?;
        area.draw_text(label, &font, (x + 36, y - 7))
            .map_err(draw_error)?;
    }
    Ok(())
}

/// A sentence in the middle of an empty panel.
fn note(area: &DrawingArea<SVGBackend<'_>, Shift>, text: &str) -> Result<(), BoxError> {
    let (width, height) = area.dim_in_pixel();
    let style = ("sans-serif", 14)
        .into_font()
        .color(&RGBColor(120, 120, 120))
        .pos(plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Center,
            plotters::style::text_anchor::VPos::Center,
        ));
    area.draw_text(text, &style, (width as i32 / 2, height as i32 / 2))
        .map_err(draw_error)
}

fn draw_error(error: impl std::fmt::Display) -> BoxError {
    format!("drawing the figure: {error}").into()
}

/// `1234567.0` as `1.2M`, `45000.0` as `45k`, `12.5` as `12.5`.
pub fn si(value: f64) -> String {
    let magnitude = value.abs();
    let (scaled, suffix) = if magnitude >= 1e9 {
        (value / 1e9, "G")
    } else if magnitude >= 1e6 {
        (value / 1e6, "M")
    } else if magnitude >= 1e3 {
        (value / 1e3, "k")
    } else {
        (value, "")
    };
    let text = if scaled.abs() >= 100.0 || scaled.fract().abs() < 1e-9 {
        format!("{scaled:.0}")
    } else if scaled.abs() >= 10.0 {
        format!("{scaled:.1}")
    } else {
        format!("{scaled:.2}")
    };
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    };
    format!("{text}{suffix}")
}

/// A nines position as the percentile it stands for: `2.0` as `99`, `log10(2)` as `50`.
fn percentile_label(nines: f64) -> String {
    if nines < 0.01 {
        return "0".into();
    }
    let percent = 100.0 * (1.0 - 10f64.powf(-nines));
    let decimals = (nines.round() as i32 - 2).max(0) as usize;
    format!("{percent:.decimals$}")
}

/// Microseconds as people read them: `850µs`, `12ms`, `1.5s`.
fn micros_label(micros: f64) -> String {
    if micros >= 1e6 {
        format!("{}s", si(micros / 1e6))
    } else if micros >= 1e3 {
        format!("{}ms", si(micros / 1e3))
    } else {
        format!("{}µs", si(micros))
    }
}

/// Writes `figure` to `path` as SVG, when a path is given.
pub fn write(path: Option<&Path>, figure: impl FnOnce() -> Figure) -> Result<(), String> {
    let Some(path) = path else {
        return Ok(());
    };
    let svg = figure()
        .to_svg()
        .map_err(|e| format!("plotting {}: {e}", path.display()))?;
    std::fs::write(path, svg).map_err(|e| format!("writing {}: {e}", path.display()))?;
    eprintln!("plot written to {}", path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeline(samples: &[(f64, u64)]) -> Timeline {
        let mut timeline = Timeline::default();
        for &(secs, records) in samples {
            timeline.push(secs, records, records * 100);
        }
        timeline
    }

    #[test]
    fn rates_come_from_differences_over_the_real_spacing() {
        // A tick 50 ms late stretches its interval; the rate stays right.
        let rates = timeline(&[(0.1, 100), (0.2, 200), (0.35, 350), (0.4, 400)]).rates(0.05);
        let per_s: Vec<f64> = rates.iter().map(|r| r.records_per_s.round()).collect();
        assert_eq!(per_s, [1000.0, 1000.0, 1000.0, 1000.0]);
        assert!((rates[0].secs - 0.05).abs() < 1e-9);
        assert!((rates[2].secs - 0.275).abs() < 1e-9);
        assert_eq!(rates[1].bytes_per_s.round(), 100_000.0);
    }

    #[test]
    fn short_intervals_join_their_neighbours() {
        // The final sample 10 ms after the last tick joins the interval before it.
        let rates = timeline(&[(0.1, 100), (0.2, 300), (0.21, 320)]).rates(0.05);
        assert_eq!(rates.len(), 2);
        assert!((rates[1].records_per_s - 2200.0 / 1.1).abs() < 1e-6);
        assert!((rates[1].secs - 0.155).abs() < 1e-9);
        // A run shorter than one interval is one point.
        let rates = timeline(&[(0.02, 40)]).rates(0.05);
        assert_eq!(rates.len(), 1);
        assert_eq!(rates[0].records_per_s.round(), 2000.0);
        // Coarser buckets add up the finer ones.
        let fine: Vec<(f64, u64)> = (1..=10u32)
            .map(|i| (f64::from(i) * 0.1, (i * i) as u64))
            .collect();
        let coarse = timeline(&fine).rates(0.45);
        assert_eq!(coarse.len(), 2);
        assert!((coarse[0].records_per_s - 25.0 / 0.5).abs() < 1e-6);
        assert!((coarse[1].records_per_s - 75.0 / 0.5).abs() < 1e-6);
    }

    #[test]
    fn out_of_order_samples_are_ignored() {
        let rates = timeline(&[(0.1, 100), (0.05, 120), (0.2, 90), (0.2, 200)]).rates(0.05);
        assert_eq!(rates.len(), 2);
        assert!(Timeline::default().rates(0.05).is_empty());
        assert!(Timeline::default().is_empty());
    }

    #[test]
    fn long_runs_are_drawn_with_at_most_the_point_limit() {
        let samples: Vec<(f64, u64)> = (1..=6000u32)
            .map(|i| (f64::from(i) * 0.1, i as u64))
            .collect();
        let rates = timeline(&samples).plotted_rates();
        assert!(
            rates.len() <= RATE_POINTS_MAX && rates.len() >= RATE_POINTS_MAX / 2,
            "{}",
            rates.len()
        );
    }

    #[tokio::test]
    async fn the_sampler_records_counters_over_time() {
        let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let read = Arc::clone(&counter);
        let sampler = Sampler::start(move || {
            let n = read.load(std::sync::atomic::Ordering::Relaxed);
            (n, n * 10)
        });
        for _ in 0..4 {
            counter.fetch_add(1000, std::sync::atomic::Ordering::Relaxed);
            tokio::time::sleep(SAMPLE_INTERVAL).await;
        }
        let timeline = sampler.finish();
        assert!(timeline.secs() >= 0.35, "{timeline:?}");
        let rates = timeline.rates(0.05);
        assert!(rates.len() >= 2, "{rates:?}");
        let total: f64 = timeline.samples.last().map_or(0.0, |s| s.records as f64);
        assert_eq!(total, 4000.0);
    }

    #[test]
    fn distributions_run_from_the_minimum_to_the_supported_nines() {
        let mut histogram = crate::report::latency_histogram();
        for micros in 1..=10_000 {
            histogram.record(micros).expect("in range");
        }
        let points = distribution(&histogram);
        let (first, last) = (points[0], points[points.len() - 1]);
        assert_eq!(first, (0.0, 1));
        assert!((last.0 - 4.0).abs() < 1e-9, "{last:?}");
        assert_eq!(last.1, histogram.max());
        let median = points
            .iter()
            .find(|p| (p.0 - 0.3).abs() < 1e-9)
            .expect("p50");
        assert!((4_990..=5_010).contains(&median.1), "{median:?}");
        assert!(points.windows(2).all(|w| w[0].1 <= w[1].1));
        assert!(distribution(&crate::report::latency_histogram()).is_empty());
    }

    #[test]
    fn latency_ticks_fall_on_one_two_five() {
        let narrow = MicrosAxis {
            low: 30_000.0,
            high: 600_000.0,
        };
        assert_eq!(
            narrow.key_points(10usize),
            [50_000.0, 100_000.0, 200_000.0, 500_000.0]
        );
        let wide = MicrosAxis {
            low: 3.0,
            high: 2_000_000.0,
        };
        assert_eq!(
            wide.key_points(10usize),
            [10.0, 100.0, 1_000.0, 10_000.0, 100_000.0, 1_000_000.0]
        );
        assert_eq!(narrow.map(&30_000.0, (0, 100)), 0);
        assert_eq!(narrow.map(&600_000.0, (0, 100)), 100);
    }

    #[test]
    fn labels_read_as_people_write_them() {
        assert_eq!(si(0.0), "0");
        assert_eq!(si(950.0), "950");
        assert_eq!(si(45_000.0), "45k");
        assert_eq!(si(1_250_000.0), "1.25M");
        assert_eq!(si(12.5), "12.5");
        assert_eq!(percentile_label(std::f64::consts::LOG10_2), "50");
        assert_eq!(percentile_label(1.0), "90");
        assert_eq!(percentile_label(2.0), "99");
        assert_eq!(percentile_label(3.0), "99.9");
        assert_eq!(percentile_label(5.0), "99.999");
        assert_eq!(micros_label(850.0), "850µs");
        assert_eq!(micros_label(12_000.0), "12ms");
        assert_eq!(micros_label(1_500_000.0), "1.5s");
    }

    /// A figure of a run and its baselines, with synthetic data.
    pub(crate) fn sample_figure() -> Figure {
        let mut figure = Figure::new("strata-bench produce: 1KiB records", "2 CPUs, test data");
        figure.record_bytes = Some(1024);
        let run = timeline(
            &(1..=30u32)
                .map(|i| (f64::from(i) * 0.1, i as u64 * 30_000))
                .collect::<Vec<_>>(),
        );
        let other = timeline(
            &(1..=30u32)
                .map(|i| (f64::from(i) * 0.1, i as u64 * 12_000))
                .collect::<Vec<_>>(),
        );
        figure.line("strata produce", Role::Measured, 0, &run);
        figure.line("other server", Role::Baseline, 0, &other);
        figure.level_mb("raw disk, buffered", GRAY, 400.0);
        let mut histogram = crate::report::latency_histogram();
        for micros in 100..=20_000 {
            histogram.record(micros).expect("in range");
        }
        figure.curve(
            "strata ack latency",
            Role::Measured,
            0,
            &distribution(&histogram),
        );
        let mut baseline = crate::report::latency_histogram();
        for micros in 50..=5_000 {
            baseline.record(micros).expect("in range");
        }
        figure.curve(
            "raw disk write+fdatasync",
            Role::Baseline,
            GRAY,
            &distribution(&baseline),
        );
        figure
    }

    #[test]
    fn the_svg_holds_both_panels_every_series_and_the_legend() {
        let svg = sample_figure().to_svg().expect("drawn");
        assert!(
            svg.trim_start().starts_with("<svg"),
            "{}",
            &svg[..svg.len().min(200)]
        );
        assert!(svg.trim_end().ends_with("</svg>"));
        // A measured series is one polyline of many points: the run's throughput and its
        // latency curve. Baselines are dashed: many two-point polylines.
        let (long, short) = polylines(&svg);
        assert_eq!(long, 2, "{svg}");
        assert!(short > 20, "{short} dashes and legend samples");
        for text in [
            "Throughput over time (records/s)",
            "Latency distribution",
            "strata produce",
            "other server",
            "raw disk, buffered",
            "strata ack latency",
            "raw disk write+fdatasync",
            "MB/s",
            "99.9",
            "2 CPUs, test data",
        ] {
            assert!(svg.contains(text), "no {text:?} in the SVG");
        }
        // Text is text for the viewer to render, not outlines: no font was read.
        assert!(svg.matches("<text").count() > 20);
    }

    /// Polylines of more than ten points (whole series), and of fewer (dashes, legend samples).
    fn polylines(svg: &str) -> (usize, usize) {
        let mut counts = (0, 0);
        for element in svg.split("<polyline").skip(1) {
            let points = element
                .split("points=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .map_or(0, |p| p.split_whitespace().count());
            if points > 10 {
                counts.0 += 1;
            } else {
                counts.1 += 1;
            }
        }
        counts
    }

    /// Writes the sample figure where `STRATA_PLOT_SAMPLE` says, to look at.
    #[test]
    fn the_sample_figure_can_be_written_out() {
        if let Some(path) = std::env::var_os("STRATA_PLOT_SAMPLE") {
            write(Some(Path::new(&path)), sample_figure).expect("written");
        }
    }

    #[test]
    fn empty_panels_say_why() {
        let mut figure = Figure::new("consume", "");
        let run = timeline(&[(0.1, 100), (0.2, 200)]);
        figure.line("consume", Role::Measured, 0, &run);
        let svg = figure.to_svg().expect("drawn");
        assert!(svg.contains("this mode measures no per-record latency"));
        let svg = Figure::new("nothing", "").to_svg().expect("drawn");
        assert!(svg.contains("no throughput was sampled"));
    }
}

//! Charts: one or more stacked panels sharing a time (or other) x axis, drawn with plotters to
//! PNG or SVG. Text is set in the embedded DejaVu Sans (no system font library is used).

use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

/// DejaVu Sans 2.37 (Bitstream Vera licence, see `fonts/LICENSE-DejaVu.txt`).
static DEJAVU_SANS: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
static FONT: Once = Once::new();

/// The family every chart asks for.
const FAMILY: &str = "sans-serif";

/// Registers the embedded font with plotters (once per process).
pub fn ensure_font() {
    FONT.call_once(|| {
        // The bytes are a valid TrueType file shipped with the crate; a failure here would be
        // caught by every plot test.
        if plotters::style::register_font(FAMILY, FontStyle::Normal, DEJAVU_SANS).is_err() {
            panic!("the embedded DejaVu Sans does not parse");
        }
    });
}

/// Width of every chart, pixels.
pub const WIDTH: u32 = 1200;
/// Height of one panel, pixels.
pub const PANEL_HEIGHT: u32 = 400;
/// Height of the title band, pixels.
pub const TITLE_HEIGHT: u32 = 50;

/// Size of a chart with `panels` panels.
pub fn size(panels: usize) -> (u32, u32) {
    (WIDTH, TITLE_HEIGHT + PANEL_HEIGHT * panels.max(1) as u32)
}

/// Tableau 10, a palette that stays distinguishable for common colour-vision deficiencies.
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

/// How a series is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// A solid line through the points.
    Line,
    /// A dashed line.
    Dashed,
    /// A filled circle per point, labelled with the series' name.
    Points,
}

/// One series.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend entry.
    pub label: String,
    /// (x, y) points.
    pub points: Vec<(f64, f64)>,
    /// Index into the palette.
    pub color: usize,
    /// How to draw it.
    pub mark: Mark,
}

/// One panel: a y axis and its series.
#[derive(Clone, Debug, Default)]
pub struct Panel {
    /// Y axis label, with its unit.
    pub y_label: String,
    /// Series.
    pub series: Vec<Series>,
    /// Logarithmic y axis when the values span more than a decade (linear otherwise); the
    /// y label then says so.
    pub log_y: bool,
}

/// A chart: a title over panels stacked vertically, sharing the x axis.
#[derive(Clone, Debug, Default)]
pub struct Chart {
    /// Title.
    pub title: String,
    /// X axis label, with its unit.
    pub x_label: String,
    /// Panels, top to bottom.
    pub panels: Vec<Panel>,
    /// Draw the x axis decreasing to the right (the points carry negated x values).
    pub negated_x: bool,
    /// Logarithmic x axis (positive x values only); the x label should say so.
    pub log_x: bool,
}

/// A drawing error.
pub type PlotError = String;

fn err<E: std::fmt::Display>(e: E) -> PlotError {
    e.to_string()
}

/// Renders `chart` into a PNG file.
pub fn png(chart: &Chart, path: &Path) -> Result<(), PlotError> {
    ensure_font();
    let root = BitMapBackend::new(path, size(chart.panels.len())).into_drawing_area();
    draw(root, chart)
}

/// Renders `chart` into an SVG file.
pub fn svg(chart: &Chart, path: &Path) -> Result<(), PlotError> {
    ensure_font();
    let root = SVGBackend::new(path, size(chart.panels.len())).into_drawing_area();
    draw(root, chart)
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, c: &Chart) -> Result<(), PlotError> {
    root.fill(&WHITE).map_err(err)?;
    let (_, h) = root.dim_in_pixel();
    let (top, body) = root.split_vertically(TITLE_HEIGHT.min(h));
    top.draw_text(&c.title, &(FAMILY, 24).into_font().color(&BLACK), (20, 14))
        .map_err(err)?;
    let areas = body.split_evenly((c.panels.len().max(1), 1));
    let x = x_range(c);
    for (area, panel) in areas.iter().zip(&c.panels) {
        draw_panel(area, c, panel, x.clone())?;
    }
    root.present().map_err(err)
}

fn bounds<'a>(points: impl Iterator<Item = &'a f64>) -> Option<(f64, f64)> {
    points
        .filter(|v| v.is_finite())
        .fold(None, |acc, &v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((f64::min(lo, v), f64::max(hi, v))),
        })
}

fn x_range(c: &Chart) -> std::ops::Range<f64> {
    let xs = c
        .panels
        .iter()
        .flat_map(|p| &p.series)
        .flat_map(|s| s.points.iter().map(|p| &p.0));
    let scatter = c
        .panels
        .iter()
        .flat_map(|p| &p.series)
        .any(|s| s.mark == Mark::Points);
    let (lo, hi) = bounds(xs).unwrap_or((0.0, 1.0));
    if c.log_x {
        let pos = c
            .panels
            .iter()
            .flat_map(|p| &p.series)
            .flat_map(|s| s.points.iter().map(|p| &p.0))
            .filter(|v| **v > 0.0);
        let (lo, hi) = bounds(pos).unwrap_or((1.0, 10.0));
        return (lo / 1.5)..(hi * 1.5);
    }
    if scatter {
        let pad = ((hi - lo) * 0.15)
            .max(hi.abs().max(lo.abs()) * 0.1)
            .max(1.0);
        (lo - pad)..(hi + pad)
    } else if hi > lo {
        lo..hi
    } else {
        lo..lo + 1.0
    }
}

/// A log axis only pays when the positive values span more than a decade.
fn use_log(p: &Panel) -> bool {
    let pos = p
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| &p.1))
        .filter(|v| **v > 0.0);
    p.log_y && bounds(pos).is_some_and(|(lo, hi)| hi / lo > 10.0)
}

fn y_range(p: &Panel, log: bool) -> std::ops::Range<f64> {
    let ys = p.series.iter().flat_map(|s| s.points.iter().map(|p| &p.1));
    if log {
        let pos = ys.filter(|v| **v > 0.0);
        let (lo, hi) = bounds(pos).unwrap_or((1.0, 10.0));
        return (lo / 2.0)..(hi * 2.0);
    }
    let (lo, hi) = bounds(ys).unwrap_or((0.0, 1.0));
    let lo = lo.min(0.0);
    let hi = if hi > lo { hi } else { lo + 1.0 };
    lo..(hi + (hi - lo) * 0.1)
}

/// A tick label: short, without float noise.
pub fn tick(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 1e5 {
        format!("{v:.1e}")
    } else if a >= 100.0 || (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.1}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').to_string()
    }
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &Chart,
    p: &Panel,
    x: std::ops::Range<f64>,
) -> Result<(), PlotError> {
    let mut b = ChartBuilder::on(area);
    b.margin(12)
        .margin_right(30)
        .x_label_area_size(48)
        .y_label_area_size(90);
    let log = use_log(p);
    let y = y_range(p, log);
    let y_label = match (log, p.y_label.strip_suffix(')')) {
        (false, _) => p.y_label.clone(),
        (true, Some(head)) => format!("{head}, log scale)"),
        (true, None) => format!("{} (log scale)", p.y_label),
    };
    match (c.log_x, log) {
        (false, true) => {
            let mut chart = b
                .build_cartesian_2d(RangedCoordf64::from(x), y.log_scale())
                .map_err(err)?;
            fill(&mut chart, c, p, &y_label, true)
        }
        (false, false) => {
            let mut chart = b
                .build_cartesian_2d(RangedCoordf64::from(x), RangedCoordf64::from(y))
                .map_err(err)?;
            fill(&mut chart, c, p, &y_label, false)
        }
        (true, true) => {
            let mut chart = b
                .build_cartesian_2d(x.log_scale(), y.log_scale())
                .map_err(err)?;
            fill(&mut chart, c, p, &y_label, true)
        }
        (true, false) => {
            let mut chart = b
                .build_cartesian_2d(x.log_scale(), RangedCoordf64::from(y))
                .map_err(err)?;
            fill(&mut chart, c, p, &y_label, false)
        }
    }
}

fn fill<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    c: &Chart,
    p: &Panel,
    y_label: &str,
    log: bool,
) -> Result<(), PlotError>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let negated = c.negated_x;
    let xfmt = move |v: &f64| tick(if negated { -*v } else { *v });
    let yfmt = |v: &f64| tick(*v);
    chart
        .configure_mesh()
        .x_desc(c.x_label.as_str())
        .y_desc(y_label)
        .x_label_formatter(&xfmt)
        .y_label_formatter(&yfmt)
        .label_style((FAMILY, 15))
        .axis_desc_style((FAMILY, 17))
        .light_line_style(RGBColor(246, 246, 246))
        .bold_line_style(RGBColor(205, 205, 205))
        .draw()
        .map_err(err)?;
    for s in &p.series {
        let color = PALETTE[s.color % PALETTE.len()];
        let pts = s.points.iter().copied().filter(|(x, y)| {
            x.is_finite() && y.is_finite() && (!log || *y > 0.0) && (!c.log_x || *x > 0.0)
        });
        let style = color.stroke_width(2);
        let anno = match s.mark {
            Mark::Line => chart.draw_series(LineSeries::new(pts, style)),
            Mark::Dashed => chart.draw_series(DashedLineSeries::new(pts, 8, 5, style)),
            Mark::Points => {
                let label_style = (FAMILY, 14).into_font().color(&color);
                chart.draw_series(pts.map(|xy| {
                    EmptyElement::at(xy)
                        + Circle::new((0, 0), 6, color.filled())
                        + Text::new(s.label.clone(), (9, -18), label_style.clone())
                }))
            }
        }
        .map_err(err)?;
        let mark = s.mark;
        anno.label(s.label.as_str())
            .legend(move |(x, y)| match mark {
                Mark::Points => Circle::new((x + 10, y), 5, color.filled()).into_dyn(),
                Mark::Line | Mark::Dashed => {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)).into_dyn()
                }
            });
    }
    if !p.series.is_empty() {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font((FAMILY, 14))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.5))
            .draw()
            .map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::tick;

    #[test]
    fn ticks_are_short() {
        assert_eq!(tick(0.0), "0");
        assert_eq!(tick(20.0), "20");
        assert_eq!(tick(2.5), "2.5");
        assert_eq!(tick(0.25), "0.25");
        assert_eq!(tick(150.4), "150");
        assert_eq!(tick(250000.0), "2.5e5");
    }
}

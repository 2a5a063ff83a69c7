//! The sweep as an SVG plot (plotters' SVG backend): p99 and mean wait against the swept
//! value, each measured p99 a circle with its 95% interval, each mean a triangle, the
//! predictions as lines (p99 solid, mean dashed), an overloaded point a hollow circle at the
//! top, labelled. Marks differ in shape as well as colour, so it reads in grey.

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::chart::nice_ceiling;
use super::point::Point;
use crate::units;

const SIZE: (u32, u32) = (960, 600);
/// One colour per series of a two-parameter grid.
const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(23, 190, 207),
];

/// A point's value along the x axis, and the name of its series.
type XOf = fn(&Point) -> f64;
type KeyOf = fn(&Point) -> String;

/// Which parameter runs along the x axis, and the points of each value of the other.
struct Layout<'a> {
    x_name: &'static str,
    x: fn(&Point) -> f64,
    groups: Vec<(String, Vec<&'a Point>)>,
}

fn layout(points: &[Point]) -> Layout<'_> {
    let workers_vary = points.iter().any(|p| p.workers != points[0].workers);
    let rates_vary = points.iter().any(|p| p.rate_per_s != points[0].rate_per_s);
    let along_rate = rates_vary && !workers_vary;
    let (x_name, x, key): (&'static str, XOf, KeyOf) = if along_rate {
        (
            "arrival rate (/s)",
            |p| p.rate_per_s,
            |p| format!("{} workers", p.workers),
        )
    } else {
        (
            "workers",
            |p| p.workers as f64,
            |p| units::per_s(p.rate_per_s),
        )
    };
    let mut groups: Vec<(String, Vec<&Point>)> = Vec::new();
    for p in points {
        let k = key(p);
        match groups.iter_mut().find(|(name, _)| *name == k) {
            Some((_, group)) => group.push(p),
            None => groups.push((k, vec![p])),
        }
    }
    Layout { x_name, x, groups }
}

fn ms_to_s(ms: f64) -> f64 {
    ms / 1e3
}

/// The y axis's top, seconds: above every interval and prediction.
fn y_top(points: &[Point]) -> f64 {
    let top = points
        .iter()
        .filter(|p| !p.overloaded)
        .flat_map(|p| {
            let (m, pr) = (&p.measured.figures, &p.predicted.figures);
            [
                m.p99_wait_ms_ci95.map(|ci| ci[1]),
                m.p99_wait_ms,
                pr.p99_wait_ms,
                m.mean_wait_ms,
            ]
        })
        .flatten()
        .map(ms_to_s)
        .fold(0.0, f64::max);
    nice_ceiling(top * 1.05)
}

/// The plot as SVG text, titled `title` (a page that says so when no point was measured).
pub fn render(points: &[Point], title: &str) -> Result<String, String> {
    let mut out = String::new();
    let drawn = if points.is_empty() {
        draw_nothing(title, &mut out)
    } else {
        draw(points, title, &mut out)
    };
    drawn.map_err(|e| e.to_string())?;
    Ok(out)
}

fn draw_nothing(title: &str, out: &mut String) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
    let root = SVGBackend::with_string(out, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let font = ("sans-serif", 20).into_font();
    root.draw(&Text::new(title.to_string(), (20, 30), font.clone()))?;
    root.draw(&Text::new(
        "no point was measured (interrupted)",
        (20, 70),
        font,
    ))?;
    root.present()?;
    Ok(())
}

fn draw(
    points: &[Point],
    title: &str,
    out: &mut String,
) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
    let root = SVGBackend::with_string(out, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let l = layout(points);
    let xs = points.iter().map(l.x);
    let (lo, hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
        (a.min(x), b.max(x))
    });
    let pad = ((hi - lo) * 0.05).max(0.5);
    let top = y_top(points);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d((lo - pad)..(hi + pad), 0f64..top)?;
    chart
        .configure_mesh()
        .x_desc(l.x_name)
        .y_desc("queue wait (s)")
        .draw()?;
    let many = l.groups.len() > 1;
    for (i, (name, group)) in l.groups.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let suffix = if many {
            format!(" ({name})")
        } else {
            String::new()
        };
        draw_group(&mut chart, group, l.x, top, color, &suffix)?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;
    root.present()?;
    Ok(())
}

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// One series: predicted lines, measured marks, overloaded points.
fn draw_group(
    chart: &mut Chart<'_, '_>,
    group: &[&Point],
    x: fn(&Point) -> f64,
    top: f64,
    color: RGBColor,
    suffix: &str,
) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
    let stable: Vec<&Point> = group.iter().copied().filter(|p| !p.overloaded).collect();
    let predicted = |f: fn(&Point) -> Option<f64>| -> Vec<(f64, f64)> {
        stable
            .iter()
            .filter_map(|p| f(p).map(|v| (x(p), ms_to_s(v))))
            .collect()
    };
    let p99 = predicted(|p| p.predicted.figures.p99_wait_ms);
    chart
        .draw_series(LineSeries::new(p99, color.stroke_width(2)))?
        .label(format!("p99 predicted{suffix}"))
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
    let mean = predicted(|p| p.predicted.figures.mean_wait_ms);
    chart
        .draw_series(DashedLineSeries::new(mean, 6, 4, color.stroke_width(1)))?
        .label(format!("mean predicted, dashed{suffix}"))
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 8, y)], color.stroke_width(1)));
    let bars = stable.iter().filter_map(|p| {
        let m = &p.measured.figures;
        let v = m.p99_wait_ms?;
        let [lo, hi] = m.p99_wait_ms_ci95.unwrap_or([v, v]);
        Some(ErrorBar::new_vertical(
            x(p),
            ms_to_s(lo),
            ms_to_s(v),
            ms_to_s(hi),
            color.filled(),
            10,
        ))
    });
    chart
        .draw_series(bars)?
        .label(format!("p99 measured, 95% CI{suffix}"))
        .legend(move |(x, y)| Rectangle::new([(x + 6, y - 4), (x + 14, y + 4)], color.filled()));
    let means = stable.iter().filter_map(|p| {
        let v = p.measured.figures.mean_wait_ms?;
        Some(TriangleMarker::new((x(p), ms_to_s(v)), 6, color.filled()))
    });
    chart
        .draw_series(means)?
        .label(format!("mean measured{suffix}"))
        .legend(move |(x, y)| TriangleMarker::new((x + 10, y), 6, color.filled()));
    let overloaded = group.iter().filter(|p| p.overloaded).map(|p| {
        EmptyElement::at((x(p), top * 0.96))
            + Circle::new((0, 0), 6, color.stroke_width(2))
            + Text::new("overloaded", (-30, 10), ("sans-serif", 13).into_font())
    });
    chart.draw_series(overloaded)?;
    Ok(())
}

//! Small, dependency-free SVG line charts for the Markdown report: one metric over
//! iterations, with guard events marked. Pure string building, so every platform
//! renders identical bytes.

use std::fmt::Write as _;

const W: f64 = 720.0;
const H: f64 = 220.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 36.0;

/// A vertical marker at an iteration (freeze, cooldown, panic revert …).
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    pub iteration: u32,
    pub label: String,
    pub color: &'static str,
}

fn fmt_num(x: f64) -> String {
    if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

/// A round step (1, 2 or 5 times a power of ten) that cuts `span` into at most
/// `max_steps` parts — the usual "nice numbers" for axis labels (Heckbert, Graphics
/// Gems, 1990) — and the decimals its labels need.
fn nice_step(span: f64, max_steps: f64) -> (f64, usize) {
    let raw = span / max_steps;
    let exp = libm::floor(libm::log10(raw));
    let mag = libm::pow(10.0, exp);
    let norm = raw / mag;
    let m = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    let decimals = if m == 10.0 { -exp - 1.0 } else { -exp };
    (m * mag, decimals.max(0.0) as usize)
}

/// A value axis over some data: padded by 8 %, spanning whole round steps so every
/// label is a round number.
#[derive(Clone, Copy)]
struct Axis {
    lo: f64,
    hi: f64,
    step: f64,
    decimals: usize,
    ticks: u32,
}

impl Axis {
    /// Non-finite values are ignored; no finite value gives the axis 0..1.
    fn over(values: impl Iterator<Item = f64>, max_steps: f64) -> Axis {
        let (mut lo, mut hi) =
            values.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(v), h.max(v)));
        if !lo.is_finite() || !hi.is_finite() {
            lo = 0.0;
            hi = 1.0;
        }
        if hi - lo < 1e-9 {
            lo -= 0.5;
            hi += 0.5;
        }
        let pad = (hi - lo) * 0.08;
        let (step, decimals) = nice_step(hi - lo + 2.0 * pad, max_steps);
        let (lo, hi) = (libm::floor((lo - pad) / step) * step, libm::ceil((hi + pad) / step) * step);
        let ticks = libm::round((hi - lo) / step) as u32;
        Axis { lo, hi, step, decimals, ticks }
    }

    /// The `k`-th tick's value; a tick within rounding of zero is zero (never "-0.00").
    fn tick(&self, k: u32) -> f64 {
        let v = self.lo + self.step * k as f64;
        if v.abs() < self.step * 1e-6 {
            0.0
        } else {
            v
        }
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// A line chart of `values[k]` at iteration `k + 1`, titled `title` with y unit `unit`.
pub fn line_chart(title: &str, unit: &str, values: &[f64], markers: &[Marker]) -> String {
    let n = values.len().max(1);
    let Axis { lo, hi, step, decimals, ticks } = Axis::over(values.iter().copied(), 6.0);
    let x = |i: f64| LEFT + (i - 1.0) / ((n as f64 - 1.0).max(1.0)) * (W - LEFT - RIGHT);
    let y = |v: f64| TOP + (hi - v) / (hi - lo) * (H - TOP - BOTTOM);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" font-family=\"sans-serif\" font-size=\"11\">"
    );
    let _ = writeln!(s, "<title>{}</title>", esc(title));
    let _ = writeln!(s, "<rect width=\"{W}\" height=\"{H}\" fill=\"#ffffff\"/>");
    let _ = writeln!(
        s,
        "<text x=\"{LEFT}\" y=\"18\" font-size=\"13\" font-weight=\"bold\">{} ({})</text>",
        esc(title),
        esc(unit)
    );
    for k in 0..=ticks {
        let v = Axis { lo, hi, step, decimals, ticks }.tick(k);
        let yy = y(v);
        let _ = writeln!(
            s,
            "<line x1=\"{LEFT}\" y1=\"{yy:.1}\" x2=\"{:.1}\" y2=\"{yy:.1}\" stroke=\"#e5e5e5\"/>",
            W - RIGHT
        );
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{v:.decimals$}</text>",
            LEFT - 6.0,
            yy + 4.0,
        );
    }
    // Iteration labels: the first, then every round multiple (at most about 7).
    let every = if n <= 12 { 1 } else { nice_step(n as f64, 6.0).0 as usize };
    for i in (1..=n).filter(|i| *i == 1 || i % every == 0) {
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{i}</text>",
            x(i as f64),
            H - BOTTOM + 14.0
        );
    }
    let _ =
        writeln!(s, "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">iteration</text>", (W + LEFT) / 2.0, H - 6.0);
    for m in markers {
        let xx = x(m.iteration as f64);
        let _ = writeln!(
            s,
            "<line x1=\"{xx:.1}\" y1=\"{TOP}\" x2=\"{xx:.1}\" y2=\"{:.1}\" stroke=\"{}\" stroke-dasharray=\"4 3\"><title>{} at iteration {}</title></line>",
            H - BOTTOM,
            m.color,
            esc(&m.label),
            m.iteration
        );
    }
    let points: Vec<String> =
        values.iter().enumerate().map(|(k, &v)| format!("{:.1},{:.1}", x(k as f64 + 1.0), y(v))).collect();
    let _ =
        writeln!(s, "<polyline fill=\"none\" stroke=\"#1f6feb\" stroke-width=\"2\" points=\"{}\"/>", points.join(" "));
    for (k, &v) in values.iter().enumerate() {
        let _ = writeln!(
            s,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\" fill=\"#1f6feb\"><title>iteration {}: {}</title></circle>",
            x(k as f64 + 1.0),
            y(v),
            k + 1,
            fmt_num(v)
        );
    }
    s.push_str("</svg>\n");
    s
}

/// One point of a scatter chart: `label` shows as its tooltip.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub label: String,
    pub x: f64,
    pub y: f64,
    /// Drawn filled and joined by the front line (e.g. Pareto-optimal).
    pub on_front: bool,
}

/// A scatter chart of `points`, x axis `x_title`, y axis `y_title` (units in the
/// titles). Points with `on_front` are filled and joined in x order by a step-free
/// line — the Pareto front of a sweep's net edge against risk; the others hollow.
/// Each point is a `<circle>` with `data-label` and a `<title>` tooltip.
pub fn scatter_chart(title: &str, x_title: &str, y_title: &str, points: &[Point]) -> String {
    let xa = Axis::over(points.iter().map(|p| p.x), 6.0);
    let ya = Axis::over(points.iter().map(|p| p.y), 6.0);
    let x = |v: f64| LEFT + (v - xa.lo) / (xa.hi - xa.lo) * (W - LEFT - RIGHT);
    let y = |v: f64| TOP + (ya.hi - v) / (ya.hi - ya.lo) * (H - TOP - BOTTOM);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" font-family=\"sans-serif\" font-size=\"11\">"
    );
    let _ = writeln!(s, "<title>{}</title>", esc(title));
    let _ = writeln!(s, "<rect width=\"{W}\" height=\"{H}\" fill=\"#ffffff\"/>");
    let _ = writeln!(s, "<text x=\"{LEFT}\" y=\"18\" font-size=\"13\" font-weight=\"bold\">{}</text>", esc(title));
    let decimals = ya.decimals;
    for k in 0..=ya.ticks {
        let v = ya.tick(k);
        let yy = y(v);
        let _ = writeln!(
            s,
            "<line x1=\"{LEFT}\" y1=\"{yy:.1}\" x2=\"{:.1}\" y2=\"{yy:.1}\" stroke=\"#e5e5e5\"/>",
            W - RIGHT
        );
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{v:.decimals$}</text>",
            LEFT - 6.0,
            yy + 4.0
        );
    }
    let decimals = xa.decimals;
    for k in 0..=xa.ticks {
        let v = xa.tick(k);
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{v:.decimals$}</text>",
            x(v),
            H - BOTTOM + 14.0
        );
    }
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
        (W + LEFT) / 2.0,
        H - 6.0,
        esc(x_title)
    );
    let _ = writeln!(
        s,
        "<text x=\"12\" y=\"{:.1}\" text-anchor=\"middle\" transform=\"rotate(-90 12 {:.1})\">{}</text>",
        (TOP + H - BOTTOM) / 2.0,
        (TOP + H - BOTTOM) / 2.0,
        esc(y_title)
    );
    let mut front: Vec<&Point> = points.iter().filter(|p| p.on_front && p.x.is_finite() && p.y.is_finite()).collect();
    front.sort_by(|a, b| a.x.total_cmp(&b.x));
    if front.len() > 1 {
        let line: Vec<String> = front.iter().map(|p| format!("{:.1},{:.1}", x(p.x), y(p.y))).collect();
        let _ = writeln!(
            s,
            "<polyline class=\"front\" fill=\"none\" stroke=\"#1a7f37\" stroke-width=\"1.5\" points=\"{}\"/>",
            line.join(" ")
        );
    }
    for p in points.iter().filter(|p| p.x.is_finite() && p.y.is_finite()) {
        let (fill, stroke) = if p.on_front { ("#1a7f37", "#1a7f37") } else { ("none", "#1f6feb") };
        let _ = writeln!(
            s,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"1.5\" data-label=\"{}\"><title>{}: {} {}, {} {}</title></circle>",
            x(p.x),
            y(p.y),
            esc(&p.label).replace('"', "&quot;"),
            esc(&p.label),
            esc(x_title),
            fmt_num(p.x),
            esc(y_title),
            fmt_num(p.y)
        );
    }
    s.push_str("</svg>\n");
    s
}

/// Marker colours by guard.
pub fn marker_color(guard: &str) -> &'static str {
    match guard {
        "panic_revert" => "#d1242f",
        "freeze" | "frozen" => "#0969da",
        "cooldown_start" | "cooldown_active" => "#9a6700",
        "oscillation" => "#8250df",
        _ => "#6e7781",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The y labels of a chart, as drawn.
    fn y_labels(svg: &str) -> Vec<String> {
        svg.lines()
            .filter(|l| l.contains("text-anchor=\"end\""))
            .map(|l| l[l.find('>').unwrap() + 1..l.rfind("</text>").unwrap()].to_string())
            .collect()
    }

    #[test]
    fn axis_labels_are_round_numbers() {
        let labels = y_labels(&line_chart("net", "bps", &[-1.37, 2.91, 0.4, 3.3], &[]));
        assert_eq!(labels, ["-2", "-1", "0", "1", "2", "3", "4"]);
        let labels = y_labels(&line_chart("risk", "ratio", &[0.113, 0.1187, 0.126], &[]));
        assert_eq!(labels, ["0.110", "0.115", "0.120", "0.125", "0.130"]);
        let labels = y_labels(&line_chart("flat", "x", &[250.0, 250.0], &[]));
        assert_eq!(labels, ["249.4", "249.6", "249.8", "250.0", "250.2", "250.4", "250.6"]);
        let labels = y_labels(&line_chart("big", "x", &[120.0, 9_870.0], &[]));
        assert_eq!(labels, ["-2000", "0", "2000", "4000", "6000", "8000", "10000", "12000"]);
        let svg = line_chart("long", "x", &[1.0; 24], &[]);
        let x: Vec<&str> = svg
            .lines()
            .filter(|l| l.contains("text-anchor=\"middle\">") && !l.contains("iteration<"))
            .map(|l| &l[l.find('>').unwrap() + 1..l.rfind("</text>").unwrap()])
            .collect();
        assert_eq!(x, ["1", "5", "10", "15", "20"]);
    }

    #[test]
    fn scatter_draws_every_point_and_joins_the_front_in_x_order() {
        let p = |label: &str, x: f64, y: f64, on_front: bool| Point { label: label.into(), x, y, on_front };
        let points =
            [p("b", 0.2, 3.0, true), p("a", 0.0, 1.0, true), p("c", 0.1, 0.5, false), p("nan", f64::NAN, 1.0, false)];
        let svg = scatter_chart("Pareto", "risk ratio", "net (bps)", &points);
        assert_eq!(svg.matches("<circle").count(), 3, "the NaN point is left out");
        assert_eq!(svg.matches("fill=\"#1a7f37\" stroke").count(), 2);
        let front = svg.lines().find(|l| l.starts_with("<polyline class=\"front\"")).unwrap();
        let xs: Vec<f64> = front
            .split("points=\"")
            .nth(1)
            .unwrap()
            .trim_end_matches("\"/>")
            .split(' ')
            .map(|xy| xy.split(',').next().unwrap().parse().unwrap())
            .collect();
        assert!(xs[0] < xs[1], "the front runs left to right: {xs:?}");
        assert_eq!(y_labels(&svg).first().map(String::as_str), Some("0.0"));
        assert!(svg.contains("data-label=\"b\"><title>b: risk ratio 0.200, net (bps) 3.00</title>"));
    }
}

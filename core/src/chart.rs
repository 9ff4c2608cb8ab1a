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

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// A line chart of `values[k]` at iteration `k + 1`, titled `title` with y unit `unit`.
pub fn line_chart(title: &str, unit: &str, values: &[f64], markers: &[Marker]) -> String {
    let n = values.len().max(1);
    let (mut lo, mut hi) = values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| (l.min(v), h.max(v)));
    if !lo.is_finite() || !hi.is_finite() {
        lo = 0.0;
        hi = 1.0;
    }
    if hi - lo < 1e-9 {
        lo -= 0.5;
        hi += 0.5;
    }
    let pad = (hi - lo) * 0.08;
    // The axis spans whole steps, so every label is a round number.
    let (step, decimals) = nice_step(hi - lo + 2.0 * pad, 6.0);
    let (lo, hi) = (libm::floor((lo - pad) / step) * step, libm::ceil((hi + pad) / step) * step);
    let ticks = libm::round((hi - lo) / step) as u32;
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
        let v = lo + step * k as f64;
        // A tick within rounding of zero is zero (never "-0.00").
        let v = if v.abs() < step * 1e-6 { 0.0 } else { v };
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
}

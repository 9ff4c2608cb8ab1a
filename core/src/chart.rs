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
    let (lo, hi) = (lo - pad, hi + pad);
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
    for k in 0..=4 {
        let v = lo + (hi - lo) * k as f64 / 4.0;
        let yy = y(v);
        let _ = writeln!(
            s,
            "<line x1=\"{LEFT}\" y1=\"{yy:.1}\" x2=\"{:.1}\" y2=\"{yy:.1}\" stroke=\"#e5e5e5\"/>",
            W - RIGHT
        );
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LEFT - 6.0,
            yy + 4.0,
            fmt_num(v)
        );
    }
    let step = (n / 12).max(1);
    for i in (1..=n).filter(|i| (i - 1) % step == 0 || *i == n) {
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

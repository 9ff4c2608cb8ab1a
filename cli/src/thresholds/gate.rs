//! A run's thresholds evaluated as its iterations come in ([`Gate`]), and each
//! one's outcome ([`ThresholdResult`]) for the summary, the reports and the exit code.

use super::*;

/// One threshold's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThresholdResult {
    pub metric: String,
    pub threshold: String,
    pub origin: String,
    pub passed: bool,
    /// The aggregate's value (a number, or a verdict name for `final`); None without data.
    pub observed: Option<serde_json::Value>,
    pub abort_on_fail: bool,
    pub delay: u32,
}

impl ThresholdResult {
    /// Why a failed threshold failed, in words.
    pub fn failure_text(&self) -> String {
        if self.threshold.trim_start().starts_with("final") {
            return format!(
                "the final iteration's verdict is {} ({}: {}, {})",
                self.observed_text(),
                self.metric,
                self.threshold,
                self.origin
            );
        }
        format!("{}: {} failed, observed {} ({})", self.metric, self.threshold, self.observed_text(), self.origin)
    }

    pub fn observed_text(&self) -> String {
        match &self.observed {
            None => "no data".into(),
            Some(serde_json::Value::Number(n)) => {
                let text = format!("{:.4}", n.as_f64().unwrap_or(0.0));
                let text = text.trim_end_matches('0').trim_end_matches('.');
                if text == "-0" {
                    "0".into()
                } else {
                    text.to_string()
                }
            }
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        }
    }
}

/// The run's thresholds and the per-iteration values they need: one `Vec<f64>`
/// per referenced numeric metric, the verdicts if `kpi_verdict` is referenced.
#[derive(Debug, Clone, Default)]
pub struct Gate {
    pub thresholds: Vec<Threshold>,
    series: Vec<(usize, Vec<f64>)>,
    verdicts: Option<Vec<KpiVerdict>>,
    /// Iterations observed.
    pub iterations: u32,
    /// Set when an `abort_on_fail` threshold stopped the run: (iteration, label).
    pub aborted: Option<(u32, String)>,
}

impl Gate {
    pub fn new(specs: &[ThresholdSpec]) -> Result<Gate> {
        let thresholds = specs.iter().map(parse).collect::<Result<Vec<_>>>()?;
        let mut series: Vec<(usize, Vec<f64>)> = Vec::new();
        for m in thresholds.iter().filter_map(|t| t.metric) {
            if !series.iter().any(|(i, _)| *i == m) {
                series.push((m, Vec::new()));
            }
        }
        let verdicts = thresholds.iter().any(|t| t.metric.is_none()).then(Vec::new);
        Ok(Gate { thresholds, series, verdicts, iterations: 0, aborted: None })
    }

    /// Takes one iteration's summary. Returns the label of an `abort_on_fail`
    /// threshold that now fails with its delay passed (and remembers it).
    pub fn observe(&mut self, s: &IterSummary) -> Option<String> {
        self.iterations += 1;
        for (m, values) in &mut self.series {
            values.push(NUMERIC[*m].1(s));
        }
        if let Some(v) = &mut self.verdicts {
            v.push(s.summary.kpi_verdict);
        }
        if self.aborted.is_some() {
            return None;
        }
        let hit = self
            .thresholds
            .iter()
            .filter(|t| t.spec.abort_on_fail && self.iterations >= t.spec.delay.max(1))
            .map(|t| self.evaluate(t))
            .find(|r| !r.passed)?;
        let why = format!("{}: {} (observed {})", hit.metric, hit.threshold, hit.observed_text());
        self.aborted = Some((s.iteration, why.clone()));
        Some(why)
    }

    /// Every threshold's result over what has been observed.
    pub fn results(&self) -> Vec<ThresholdResult> {
        self.thresholds.iter().map(|t| self.evaluate(t)).collect()
    }

    fn evaluate(&self, t: &Threshold) -> ThresholdResult {
        let observed = self.aggregate(t);
        let passed = match (observed, t.value) {
            (Some(Value::Number(x)), Value::Number(v)) => match t.op {
                Op::Lt => x < v,
                Op::Le => x <= v,
                Op::Gt => x > v,
                Op::Ge => x >= v,
                Op::Eq => x == v,
                Op::Ne => x != v,
            },
            (Some(Value::Verdict(x)), Value::Verdict(v)) => (t.op == Op::Eq) == (x == v),
            _ => false, // no data never passes
        };
        ThresholdResult {
            metric: t.spec.metric.clone(),
            threshold: t.spec.threshold.clone(),
            origin: t.spec.origin.clone(),
            passed,
            observed: observed.map(|o| match o {
                Value::Number(x) => serde_json::json!(mmsoak_core::edge::round6(x)),
                Value::Verdict(v) => serde_json::json!(v.name()),
            }),
            abort_on_fail: t.spec.abort_on_fail,
            delay: t.spec.delay,
        }
    }

    fn aggregate(&self, t: &Threshold) -> Option<Value> {
        if let Some(m) = t.metric {
            let values = &self.series.iter().find(|(i, _)| *i == m)?.1;
            if t.agg == Agg::Count {
                return Some(Value::Number(values.len() as f64));
            }
            if values.is_empty() {
                return None;
            }
            let fold = |f: fn(f64, f64) -> f64| values.iter().copied().reduce(f).unwrap_or(0.0);
            return Some(Value::Number(match t.agg {
                Agg::Percentile(q) => percentile(values, q),
                Agg::Avg => mean(values),
                Agg::Min => fold(f64::min),
                Agg::Max => fold(f64::max),
                _ => return None,
            }));
        }
        let all = self.verdicts.as_ref()?;
        let last = |w: Option<usize>| &all[all.len().saturating_sub(w.unwrap_or(all.len()))..];
        match t.agg {
            Agg::Final => all.last().map(|v| Value::Verdict(*v)),
            Agg::Iterations(w) => Some(Value::Number(last(w).len() as f64)),
            Agg::Verdicts { verdict, rate, window } => {
                let xs = last(window);
                let n = xs.iter().filter(|v| **v == verdict).count() as f64;
                match (rate, xs.len()) {
                    (false, _) => Some(Value::Number(n)),
                    (true, 0) => None,
                    (true, len) => Some(Value::Number(n / len as f64)),
                }
            }
            _ => None,
        }
    }
}

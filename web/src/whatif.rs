//! What-if: choose a profile, regime, seed, iterations, auto-tune and KPI
//! thresholds — or replay real bars or real tick data (the files picked here,
//! read by the worker); run it (or two configurations side by side) in the worker
//! on core.wasm; see the same charts; export the artifacts the CLI would write.

use std::collections::BTreeMap;
use std::rc::Rc;

use mmsoak_core::exchange::plan::TickChoices;
use mmsoak_core::kpi::KpiThresholds;
use mmsoak_core::market::{parse_bars_csv, Bar, RegimeFile, ITERATION_SECONDS};
use mmsoak_core::params::Params;
use mmsoak_core::report::RunSettings;
use mmsoak_core::soak::{GuardSwitches, SoakConfig};
use wasm_bindgen::JsValue;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::download;
use crate::engine::{CoreWorker, FromWorker};
use crate::model::RunView;
use crate::run_panel::RunPanel;

pub const PROFILES: [(&str, &str); 3] = [
    ("steady_safe", include_str!("../../profiles/steady_safe.json")),
    ("ultra_safe", include_str!("../../profiles/ultra_safe.json")),
    ("aggressive", include_str!("../../profiles/aggressive.json")),
];
pub const REGIMES: [&str; 6] = ["calm", "volatile", "flash_crash", "liquidity_gap", "trending", "mixed"];
/// The regime select's entry for replaying real bars (the book and flow are `calm`'s,
/// as with `mmsoak run --source replay`).
const REPLAY: &str = "replay";
/// The regime select's entry for replaying tick data (`mmsoak run --source ticks`).
const TICKS: &str = "ticks";
/// The regime select's entry for a regime file from `mmsoak market fit`
/// (`mmsoak run --regime FILE`).
const FITTED: &str = "fitted";
/// `--backstep-tolerance-ms`' default, in ns.
const BACKSTEP_TOLERANCE_NS: i64 = 1_000_000_000;
/// JavaScript numbers hold integers exactly only up to here.
const MAX_SEED: u64 = (1 << 53) - 1;

/// One what-if configuration, as typed (numbers are checked when it runs).
#[derive(Debug, Clone, PartialEq)]
pub struct WhatIfConfig {
    pub profile: String,
    pub regime: String,
    pub seed: String,
    pub iterations: String,
    pub auto_tune: bool,
    pub fail_net_bps: String,
    pub fail_risk_ratio: String,
    pub warn_risk_ratio: String,
    pub warn_adverse_p95: String,
    pub guards: GuardSwitches,
    /// Real 1-minute bars to replay (regime `replay`): the CSV's file name and its bars.
    pub replay: Option<(String, Rc<Vec<Bar>>)>,
    /// A fitted market (regime `fitted`): the regime file's name and its checked contents.
    pub regime_file: Option<(String, Rc<RegimeFile>)>,
    /// Tick data to replay (regime `ticks`): the files as picked, read by the worker.
    pub ticks: Option<Rc<Vec<web_sys::File>>>,
    /// A tick replay's iteration length, seconds (`--iteration-seconds`).
    pub iteration_seconds: String,
    /// A tick replay's exchange models; empty takes the CLI's default.
    pub queue_model: String,
    pub latency: String,
    pub maker_fee_bps: String,
    pub taker_fee_bps: String,
    pub tick_size: String,
}

impl Default for WhatIfConfig {
    fn default() -> Self {
        let t = KpiThresholds::default();
        WhatIfConfig {
            profile: "steady_safe".into(),
            regime: "calm".into(),
            seed: "1".into(),
            iterations: "24".into(),
            auto_tune: true,
            fail_net_bps: t.fail_net_bps.to_string(),
            fail_risk_ratio: t.fail_risk_ratio.to_string(),
            warn_risk_ratio: t.warn_risk_ratio.to_string(),
            warn_adverse_p95: t.warn_adverse_p95.to_string(),
            guards: GuardSwitches::default(),
            replay: None,
            regime_file: None,
            ticks: None,
            iteration_seconds: "60".into(),
            queue_model: String::new(),
            latency: String::new(),
            maker_fee_bps: String::new(),
            taker_fee_bps: String::new(),
            tick_size: String::new(),
        }
    }
}

/// An optional text field: empty means "the default".
fn optional(raw: &str) -> Option<String> {
    Some(raw.trim().to_string()).filter(|s| !s.is_empty())
}

fn number<T: std::str::FromStr>(field: &str, raw: &str) -> Result<T, String> {
    raw.trim().parse().map_err(|_| format!("{field}: {raw:?} is not a valid number"))
}

impl WhatIfConfig {
    /// The worker's request — what `mmsoak run` would build from the same flags —
    /// and the tick data files it reads.
    pub fn request(&self) -> Result<(serde_json::Value, Vec<web_sys::File>), String> {
        let profile = PROFILES.iter().find(|(n, _)| *n == self.profile).ok_or("unknown profile")?;
        let baseline: Params = serde_json::from_str(profile.1).map_err(|e| e.to_string())?;
        let safe_params: Params = serde_json::from_str(PROFILES[0].1).map_err(|e| e.to_string())?;
        let seed: u64 = number("seed", &self.seed)?;
        if seed > MAX_SEED {
            return Err(format!("seed: at most {MAX_SEED} in the browser"));
        }
        let iterations: u32 = number("iterations", &self.iterations)?;
        if !(1..=10_000).contains(&iterations) {
            return Err("iterations: between 1 and 10000".into());
        }
        let thresholds = KpiThresholds {
            fail_net_bps: number("fail net bps", &self.fail_net_bps)?,
            fail_risk_ratio: number("fail risk ratio", &self.fail_risk_ratio)?,
            warn_risk_ratio: number("warn risk ratio", &self.warn_risk_ratio)?,
            warn_adverse_p95: number("warn adverse p95", &self.warn_adverse_p95)?,
            ..KpiThresholds::default()
        };
        let ticks = self.regime == TICKS;
        let iteration_seconds = if ticks {
            let s: u32 = number("iteration seconds", &self.iteration_seconds)?;
            if !(1..=86_400).contains(&s) {
                return Err("iteration seconds: between 1 and 86400".into());
            }
            s
        } else {
            ITERATION_SECONDS
        };
        let config = SoakConfig {
            total_iterations: iterations,
            auto_tune: self.auto_tune,
            iterations_per_hour: (3600 / iteration_seconds).max(1),
            thresholds,
            safe_params,
            guards: self.guards,
        };
        let (regime, source, data_file, bars) = match (self.regime.as_str(), &self.replay, &self.ticks) {
            (REPLAY, None, _) => return Err("replay: choose a CSV of 1-minute bars first".into()),
            (REPLAY, Some((name, bars)), _) => ("calm", "replay", Some(name.clone()), bars.as_slice()),
            (TICKS, _, Some(files)) if !files.is_empty() => ("calm", "ticks", Some(files[0].name()), &[][..]),
            (TICKS, _, _) => return Err("tick replay: choose the tick data files first".into()),
            (regime, _, _) => (regime, "sim", None, &[][..]),
        };
        // A regime file runs as `--regime FILE` does: the run records the file's name
        // as its regime and the numbers as `regime_spec`; the core runs regime `fitted`.
        let fitted = match (self.regime.as_str(), &self.regime_file) {
            (FITTED, None) => return Err("regime file: choose a regime file from `mmsoak market fit` first".into()),
            (FITTED, Some((name, file))) => Some((name.clone(), file.spec)),
            _ => None,
        };
        let settings = RunSettings {
            profile: self.profile.clone(),
            regime: fitted.as_ref().map_or_else(|| regime.to_string(), |(name, _)| name.clone()),
            source: source.into(),
            data_file,
            seed,
            iterations,
            auto_tune: self.auto_tune,
            iteration_seconds,
            policy: None,
            // The worker hands the core the streams and the scan's configuration.
            ticks: None,
            bars: None,
            regime_spec: fitted.as_ref().map(|(_, spec)| *spec),
        };
        let mut request = serde_json::json!({
            "config": config, "baseline": baseline, "regime": regime, "seed": seed, "settings": settings, "bars": bars,
        });
        if let Some((_, spec)) = fitted {
            request["spec"] = serde_json::json!(spec);
        }
        let files = match (&self.ticks, ticks) {
            (Some(files), true) => {
                let fee = |field: &str, raw: &str| -> Result<Option<f64>, String> {
                    optional(raw).map(|v| number::<f64>(field, &v)).transpose()
                };
                let choices = TickChoices {
                    queue_model: optional(&self.queue_model),
                    latency: optional(&self.latency),
                    maker_fee_bps: fee("maker fee", &self.maker_fee_bps)?,
                    taker_fee_bps: fee("taker fee", &self.taker_fee_bps)?,
                    tick_size: optional(&self.tick_size),
                };
                request["ticks"] = serde_json::json!({
                    "choices": choices, "iteration_seconds": iteration_seconds,
                    "backstep_tolerance_ns": BACKSTEP_TOLERANCE_NS,
                });
                files.to_vec()
            }
            _ => Vec::new(),
        };
        Ok((request, files))
    }
}

#[derive(Default, PartialEq)]
pub struct WhatIfState {
    pub core_sha256: Option<String>,
    pub progress: BTreeMap<String, (u32, u32, Option<String>)>,
    /// Each finished run, its time in ms and a line on the data it replayed.
    pub results: BTreeMap<String, (Rc<RunView>, f64, Option<String>)>,
    pub error: Option<String>,
}

impl Reducible for WhatIfState {
    type Action = FromWorker;
    fn reduce(self: Rc<Self>, msg: FromWorker) -> Rc<Self> {
        let mut next = WhatIfState {
            core_sha256: self.core_sha256.clone(),
            progress: self.progress.clone(),
            results: self.results.clone(),
            error: None,
        };
        match msg {
            FromWorker::Ready { sha256, .. } => next.core_sha256 = Some(sha256),
            FromWorker::Progress { id, iteration, total, note, .. } => {
                next.progress.insert(id, (iteration, total, note));
            }
            FromWorker::Done { id, files, elapsed_ms, note } => {
                next.progress.remove(&id);
                publish(&id, &files, elapsed_ms);
                match RunView::from_files(&format!("what-if {id}"), files.clone().into_iter().collect()) {
                    Ok(mut run) => {
                        // Export under the CLI's paths (latest/ITER_SUMMARY_1.json, …).
                        run.files = files;
                        next.results.insert(id, (Rc::new(run), elapsed_ms, note));
                    }
                    Err(e) => next.error = Some(e),
                }
            }
            FromWorker::Error { id, message } => {
                if let Some(id) = &id {
                    next.progress.remove(id);
                    publish_error(id, &message);
                }
                next.error = Some(message);
            }
        }
        Rc::new(next)
    }
}

/// `window.<name>`, an object, created when missing.
fn global(name: &str) -> Option<JsValue> {
    let window = web_sys::window()?;
    let existing = js_sys::Reflect::get(&window, &name.into()).ok().filter(|v| v.is_object());
    Some(existing.unwrap_or_else(|| {
        let obj: JsValue = js_sys::Object::new().into();
        let _ = js_sys::Reflect::set(&window, &name.into(), &obj);
        obj
    }))
}

/// `window.mmsoakRuns[id]` = the run's files, `window.mmsoakTimings[id]` = ms: for
/// scripts (and the browser tests) that want the bytes without a download dialog.
fn publish(id: &str, files: &BTreeMap<String, String>, elapsed_ms: f64) {
    let (Some(runs), Some(timings)) = (global("mmsoakRuns"), global("mmsoakTimings")) else { return };
    let obj = js_sys::Object::new();
    for (name, text) in files {
        let _ = js_sys::Reflect::set(&obj, &name.into(), &text.into());
    }
    let _ = js_sys::Reflect::set(&runs, &id.into(), &obj);
    let _ = js_sys::Reflect::set(&timings, &id.into(), &elapsed_ms.into());
}

/// `window.mmsoakErrors[id]` = why the run stopped (bad data, for one), for scripts.
fn publish_error(id: &str, message: &str) {
    if let Some(errors) = global("mmsoakErrors") {
        let _ = js_sys::Reflect::set(&errors, &id.into(), &message.into());
    }
}

#[derive(Properties, PartialEq)]
struct FormProps {
    id: AttrValue,
    config: WhatIfConfig,
    onchange: Callback<WhatIfConfig>,
}

#[function_component(ConfigForm)]
fn config_form(props: &FormProps) -> Html {
    let id = props.id.clone();
    let text = |field: fn(&mut WhatIfConfig) -> &mut String| {
        let (config, onchange) = (props.config.clone(), props.onchange.clone());
        Callback::from(move |e: InputEvent| {
            let mut c = config.clone();
            *field(&mut c) = e.target_unchecked_into::<HtmlInputElement>().value();
            onchange.emit(c);
        })
    };
    let select = |field: fn(&mut WhatIfConfig) -> &mut String| {
        let (config, onchange) = (props.config.clone(), props.onchange.clone());
        Callback::from(move |e: Event| {
            let mut c = config.clone();
            *field(&mut c) = e.target_unchecked_into::<HtmlSelectElement>().value();
            onchange.emit(c);
        })
    };
    let toggle = {
        let (config, onchange) = (props.config.clone(), props.onchange.clone());
        Callback::from(move |e: Event| {
            let mut c = config.clone();
            c.auto_tune = e.target_unchecked_into::<HtmlInputElement>().checked();
            onchange.emit(c);
        })
    };
    let guard_toggle = |name: &'static str| {
        let (config, onchange) = (props.config.clone(), props.onchange.clone());
        Callback::from(move |e: Event| {
            let mut c = config.clone();
            c.guards.set(name, e.target_unchecked_into::<HtmlInputElement>().checked());
            onchange.emit(c);
        })
    };
    let bars_error = use_state(|| None::<String>);
    let load_bars = {
        let (config, onchange, bars_error) = (props.config.clone(), props.onchange.clone(), bars_error.clone());
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let Some(file) = input.files().and_then(|l| l.get(0)) else { return };
            let (config, onchange, bars_error) = (config.clone(), onchange.clone(), bars_error.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let file = gloo_file::File::from(file);
                let parsed = gloo_file::futures::read_as_text(&file)
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|text| parse_bars_csv(&text).map_err(|e| e.to_string()));
                match parsed {
                    Ok(bars) => {
                        bars_error.set(None);
                        onchange.emit(WhatIfConfig { replay: Some((file.name(), Rc::new(bars))), ..config });
                    }
                    Err(e) => bars_error.set(Some(format!("{}: {e}", file.name()))),
                }
            });
        })
    };
    let regime_error = use_state(|| None::<String>);
    let load_regime = {
        let (config, onchange, regime_error) = (props.config.clone(), props.onchange.clone(), regime_error.clone());
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let Some(file) = input.files().and_then(|l| l.get(0)) else { return };
            let (config, onchange, regime_error) = (config.clone(), onchange.clone(), regime_error.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let file = gloo_file::File::from(file);
                let parsed = gloo_file::futures::read_as_text(&file)
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|text| RegimeFile::parse(&text));
                match parsed {
                    Ok(regime) => {
                        regime_error.set(None);
                        onchange.emit(WhatIfConfig { regime_file: Some((file.name(), Rc::new(regime))), ..config });
                    }
                    // The CLI's words for `--regime FILE`, after the file's name.
                    Err(e) => {
                        regime_error.set(Some(format!("{}: {e}", file.name())));
                        onchange.emit(WhatIfConfig { regime_file: None, ..config });
                    }
                }
            });
        })
    };
    let load_ticks = {
        let (config, onchange) = (props.config.clone(), props.onchange.clone());
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let Some(list) = input.files() else { return };
            let files: Vec<web_sys::File> = (0..list.length()).filter_map(|k| list.get(k)).collect();
            let ticks = (!files.is_empty()).then(|| Rc::new(files));
            onchange.emit(WhatIfConfig { ticks, ..config.clone() });
        })
    };
    let c = &props.config;
    let field_id = |name: &str| format!("{id}-{name}");
    let text_input = |name: &str, label: &str, value: &str, placeholder: &str, cb: Callback<InputEvent>| {
        html! {
            <label for={field_id(name)}>{ label }
                <input id={field_id(name)} type="text" value={value.to_string()}
                    placeholder={placeholder.to_string()} oninput={cb} />
            </label>
        }
    };
    let number_input = |name: &str, label: &str, value: &str, step: &str, cb: Callback<InputEvent>| {
        html! {
            <label for={field_id(name)}>{ label }
                <input id={field_id(name)} type="number" step={step.to_string()} value={value.to_string()} oninput={cb} />
            </label>
        }
    };
    html! {
        <fieldset class="config" data-config={id.clone()}>
            <legend>{ format!("Configuration {id}") }</legend>
            <label for={field_id("profile")}>{ "profile" }
                <select id={field_id("profile")} onchange={select(|c| &mut c.profile)}>
                    { for PROFILES.iter().map(|(n, _)| html! { <option value={*n} selected={c.profile == *n}>{ *n }</option> }) }
                </select>
            </label>
            <label for={field_id("regime")}>{ "regime" }
                <select id={field_id("regime")} onchange={select(|c| &mut c.regime)}>
                    { for REGIMES.iter().map(|n| html! { <option value={*n} selected={c.regime == *n}>{ *n }</option> }) }
                    <option value={REPLAY} selected={c.regime == REPLAY}>{ "replay real 1-minute bars (CSV)" }</option>
                    <option value={TICKS} selected={c.regime == TICKS}>{ "replay tick data (LOBSTER, Tardis.dev, Binance)" }</option>
                    <option value={FITTED} selected={c.regime == FITTED}>{ "a fitted market (regime file from mmsoak market fit)" }</option>
                </select>
            </label>
            if c.regime == FITTED {
                <label for={field_id("regime-file")}>{ match &c.regime_file {
                        Some((name, _)) => format!("regime file: {name}"),
                        None => "regime file (JSON, schema mmsoak.regime/1)".to_string(),
                    } }
                    <input id={field_id("regime-file")} type="file" accept=".json,application/json" onchange={load_regime} />
                </label>
                if let Some((_, f)) = &c.regime_file { { regime_summary(f) } }
                if let Some(e) = &*regime_error { <span class="error" role="alert">{ e }</span> }
            }
            if c.regime == REPLAY {
                <label for={field_id("bars")}>{ c.replay.as_ref().map_or_else(
                        || "bars CSV (timestamp,open,high,low,close,volume)".to_string(),
                        |(name, bars)| format!("{name}: {} bars", bars.len())) }
                    <input id={field_id("bars")} type="file" accept=".csv,text/csv" onchange={load_bars} />
                </label>
                if let Some(e) = &*bars_error { <span class="error" role="alert">{ e }</span> }
            }
            if c.regime == TICKS {
                <label for={field_id("ticks")}>{ match c.ticks.as_deref() {
                        Some(files) => format!("tick files: {}", files.iter().map(|f| f.name()).collect::<Vec<_>>().join(", ")),
                        None => "tick files (LOBSTER message + orderbook, Tardis.dev CSV, Binance captures; .gz too)".to_string(),
                    } }
                    <input id={field_id("ticks")} type="file" multiple=true onchange={load_ticks} />
                </label>
                { number_input("iteration-seconds", "iteration length (s)", &c.iteration_seconds, "1", text(|c| &mut c.iteration_seconds)) }
                <details>
                    <summary>{ "Exchange models (empty: the CLI's defaults)" }</summary>
                    { text_input("queue-model", "queue model", &c.queue_model, "auto", text(|c| &mut c.queue_model)) }
                    { text_input("latency", "latency", &c.latency, "constant:25:25", text(|c| &mut c.latency)) }
                    { text_input("maker-fee", "maker fee (bps)", &c.maker_fee_bps, "-0.2", text(|c| &mut c.maker_fee_bps)) }
                    { text_input("taker-fee", "taker fee (bps)", &c.taker_fee_bps, "2", text(|c| &mut c.taker_fee_bps)) }
                    { text_input("tick-size", "tick size", &c.tick_size, "from the data", text(|c| &mut c.tick_size)) }
                </details>
            }
            { number_input("seed", "seed", &c.seed, "1", text(|c| &mut c.seed)) }
            { number_input("iterations", if c.regime == TICKS { "iterations" } else { "iterations (15 min each)" },
                &c.iterations, "1", text(|c| &mut c.iterations)) }
            <label for={field_id("autotune")}>
                <input id={field_id("autotune")} type="checkbox" checked={c.auto_tune} onchange={toggle} />{ " auto-tune" }
            </label>
            <details>
                <summary>{ "KPI thresholds" }</summary>
                { number_input("fail-net", "FAIL below net (bps)", &c.fail_net_bps, "0.1", text(|c| &mut c.fail_net_bps)) }
                { number_input("fail-risk", "FAIL above risk ratio", &c.fail_risk_ratio, "0.01", text(|c| &mut c.fail_risk_ratio)) }
                { number_input("warn-risk", "WARN above risk ratio", &c.warn_risk_ratio, "0.01", text(|c| &mut c.warn_risk_ratio)) }
                { number_input("warn-adverse", "WARN above adverse p95 (bps)", &c.warn_adverse_p95, "0.1", text(|c| &mut c.warn_adverse_p95)) }
            </details>
            <details>
                <summary>{ "Guards (bounds, step caps and the final-iteration hold always apply)" }</summary>
                { for GuardSwitches::NAMES.iter().map(|name| html! {
                    <label for={field_id(&format!("guard-{name}"))}>
                        <input id={field_id(&format!("guard-{name}"))} type="checkbox"
                            checked={c.guards.is_on(name)} onchange={guard_toggle(name)} />{ format!(" {name}") }
                    </label>
                }) }
            </details>
        </fieldset>
    }
}

/// A regime file's name, origin and the numbers that matter most to a market maker.
fn regime_summary(f: &RegimeFile) -> Html {
    let s = &f.spec;
    let rows = [
        ("volatility (bps/√s)", s.vol_bps_per_sqrt_s),
        ("vol of vol (/√min)", s.vol_of_vol),
        ("jumps per hour", s.jump_rate_per_hour),
        ("jump scale (bps)", s.jump_scale_bps),
        ("drift (bps/s)", s.drift_bps_per_s),
        ("market spread (bps)", s.market_spread_bps),
        ("trades per second", s.trade_rate_per_s),
        ("top depth", s.top_depth),
    ];
    html! {
        <table class="regime-file" data-regime={f.name.clone()}>
            <caption>{ format!("{} (fitted from {})", f.name,
                if f.fitted_from.is_empty() { "unrecorded data".to_string() } else { f.fitted_from.join(", ") }) }</caption>
            { for rows.iter().map(|(k, v)| html! { <tr><th>{ *k }</th><td>{ v.to_string() }</td></tr> }) }
        </table>
    }
}

#[function_component(WhatIf)]
pub fn what_if() -> Html {
    let state = use_reducer(WhatIfState::default);
    let worker = {
        let dispatch = state.dispatcher();
        use_memo((), move |_| CoreWorker::spawn(Callback::from(move |m| dispatch.dispatch(m))))
    };
    let config_a = use_state(WhatIfConfig::default);
    let config_b = use_state(|| WhatIfConfig { profile: "ultra_safe".into(), ..WhatIfConfig::default() });
    let ab = use_state(|| false);
    let form_error = use_state(|| None::<String>);
    let run = {
        let (worker, a, b, ab, form_error) =
            (worker.clone(), config_a.clone(), config_b.clone(), ab.clone(), form_error.clone());
        Callback::from(move |_: MouseEvent| {
            let Ok(w) = worker.as_ref() else { return };
            let mut jobs = vec![("A", (*a).clone())];
            if *ab {
                jobs.push(("B", (*b).clone()));
            }
            for (id, config) in jobs {
                match config.request() {
                    Ok((req, files)) => w.run(id, req, &files),
                    Err(e) => return form_error.set(Some(format!("configuration {id}: {e}"))),
                }
            }
            form_error.set(None);
        })
    };
    let busy = !state.progress.is_empty();
    let on_a = {
        let a = config_a.clone();
        Callback::from(move |c| a.set(c))
    };
    let on_b = {
        let b = config_b.clone();
        Callback::from(move |c| b.set(c))
    };
    let toggle_ab = {
        let ab = ab.clone();
        Callback::from(move |e: Event| ab.set(e.target_unchecked_into::<HtmlInputElement>().checked()))
    };
    html! {
        <div class="whatif">
            <p class="engine" id="core-identity">
                { match (&state.core_sha256, worker.as_ref()) {
                    (Some(sha), _) => format!("engine: core.wasm sha256 {sha} (the bytes the CLI embeds), ABI v1, in a Web Worker"),
                    (None, Err(e)) => format!("engine unavailable: {e}"),
                    (None, Ok(_)) => "loading core.wasm…".to_string(),
                } }
            </p>
            <div class="forms">
                <ConfigForm id="A" config={(*config_a).clone()} onchange={on_a} />
                if *ab { <ConfigForm id="B" config={(*config_b).clone()} onchange={on_b} /> }
            </div>
            <label for="ab"><input id="ab" type="checkbox" checked={*ab} onchange={toggle_ab} />{ " compare with a second configuration (A/B)" }</label>
            <button id="run" onclick={run} disabled={busy || state.core_sha256.is_none()}>{ "Run what-if" }</button>
            { for state.progress.iter().map(|(id, (i, n, note))| html! {
                <p class="progress"><label>{ match note {
                        Some(note) => format!("{id}: {note} "),
                        None => format!("{id}: iteration {i} of {n} "),
                    } }
                    <progress value={i.to_string()} max={n.to_string()} /></label></p>
            }) }
            if let Some(e) = &*form_error { <p class="error" role="alert">{ e }</p> }
            if let Some(e) = &state.error { <p class="error" role="alert">{ e }</p> }
            <div class="results">
                { for state.results.iter().map(|(id, (run, ms, note))| {
                    let files = run.files.clone();
                    let export = Callback::from(move |_| {
                        for (name, text) in &files { let _ = download::save(name, text); }
                    });
                    html! {
                        <div class="result" data-result={id.clone()}>
                            <p class="timing">{ format!("{} iterations in {:.2} s", run.summaries.len(), ms / 1000.0) }</p>
                            if let Some(note) = note { <p class="data-note">{ note }</p> }
                            <button onclick={export}>{ format!("Export run {id} (the CLI's artifact files)") }</button>
                            <RunPanel run={run.clone()} />
                        </div>
                    }
                }) }
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmsoak_core::session::{iterate, start, SessionIterateRequest, SessionStartRequest};
    use wasm_bindgen_test::wasm_bindgen_test;

    /// `mmsoak market fit` on the shared Bitstamp bars.
    const FITTED_FILE: &str = include_str!("../tests/btcusd_bitstamp_fitted.json");

    #[wasm_bindgen_test]
    fn a_regime_file_runs_as_regime_fitted_under_its_file_name() {
        let mut c = WhatIfConfig { regime: FITTED.into(), iterations: "2".into(), ..WhatIfConfig::default() };
        assert!(c.request().unwrap_err().contains("choose a regime file"));
        let file = RegimeFile::parse(FITTED_FILE).unwrap();
        c.regime_file = Some(("my_market.json".into(), Rc::new(file.clone())));
        let (req, files) = c.request().unwrap();
        assert!(files.is_empty());
        assert_eq!(req["regime"], "fitted");
        assert_eq!(req["settings"]["regime"], "my_market.json");
        assert_eq!(req["settings"]["source"], "sim");
        assert_eq!(req["spec"], serde_json::to_value(file.spec).unwrap());
        assert_eq!(req["settings"]["regime_spec"], req["spec"]);
        // What the worker sends to session_iterate: the core takes it and runs the fitted market.
        let started = start(SessionStartRequest {
            config: serde_json::from_value(req["config"].clone()).unwrap(),
            baseline: serde_json::from_value(req["baseline"].clone()).unwrap(),
        });
        let call = serde_json::json!({
            "state_json": started.state_json, "regime": req["regime"], "seed": req["seed"], "bars": req["bars"], "spec": req["spec"],
        });
        let r = iterate(serde_json::from_value::<SessionIterateRequest>(call.clone()).unwrap()).unwrap();
        assert_eq!(r.iteration, 1);
        let mut bad = call;
        bad["spec"]["informed_share"] = serde_json::json!(1.25);
        let e = iterate(serde_json::from_value::<SessionIterateRequest>(bad).unwrap()).unwrap_err();
        assert_eq!(e, "regime file: spec.informed_share = 1.25: must be between 0 and 1");
    }
}

//! One run on screen: headline, KPI verdict timeline, charts (the core's own SVGs:
//! axes with units, a tooltip per point, guard markers), final parameters, the
//! per-iteration table and the guard event log.

use std::rc::Rc;

use mmsoak_core::kpi::KpiVerdict;
use yew::prelude::*;

use crate::model::RunView;

#[derive(Properties, PartialEq)]
pub struct RunPanelProps {
    pub run: Rc<RunView>,
}

fn verdict_class(v: KpiVerdict) -> &'static str {
    match v {
        KpiVerdict::Pass => "pass",
        KpiVerdict::Warn => "warn",
        KpiVerdict::Fail => "fail",
        KpiVerdict::Inconclusive => "inconclusive",
    }
}

#[function_component(RunPanel)]
pub fn run_panel(props: &RunPanelProps) -> Html {
    let run = &props.run;
    let rows = run.rows();
    let verdicts = run.verdicts();
    let count = |v: KpiVerdict| verdicts.iter().filter(|(_, x)| *x == v).count();
    let charts = run.charts();
    let events = run.events();
    let engine = run.report.as_ref().map(|r| {
        format!("engine {} · core sha256 {} · ABI v{}", r.engine.kind, &r.engine.core_sha256, r.engine.abi_version)
    });
    html! {
        <section class="run" data-run={run.label.clone()} aria-label={format!("run {}", run.label)}>
            <h2>{ &run.label }</h2>
            <p class="headline">
                { format!("{} iterations · PASS {} · WARN {} · FAIL {} · INCONCLUSIVE {}",
                    rows.len(), count(KpiVerdict::Pass), count(KpiVerdict::Warn),
                    count(KpiVerdict::Fail), count(KpiVerdict::Inconclusive)) }
            </p>
            if let Some(e) = engine { <p class="engine">{ e }</p> }
            <h3>{ "KPI verdict per iteration" }</h3>
            <div class="timeline" role="list" aria-label="KPI verdict timeline">
                { for verdicts.iter().map(|(i, v)| html! {
                    <span role="listitem" tabindex="0" class={classes!("cell", verdict_class(*v))}
                        title={format!("iteration {i}: {}", v.name())}
                        aria-label={format!("iteration {i}: {}", v.name())}>{ v.name().chars().next().unwrap_or('?') }</span>
                }) }
            </div>
            <div class="charts">
                { for charts.iter().map(|c| html! {
                    <figure class="chart" data-chart={c.name.clone()} tabindex="0" aria-label={c.title.clone()}>
                        { Html::from_html_unchecked(AttrValue::from(c.svg.clone())) }
                    </figure>
                }) }
            </div>
            <h3>{ "Final parameters" }</h3>
            if let Some((params, source)) = run.final_params() {
                <table class="final-params">
                    <caption>{ format!("from {source}") }</caption>
                    <thead><tr><th>{ "parameter" }</th><th>{ "value" }</th></tr></thead>
                    <tbody>
                        { for params.entries().into_iter().map(|(name, v)| html! {
                            <tr data-param={name}><td>{ name }</td><td class="num">{ v.to_string() }</td></tr>
                        }) }
                    </tbody>
                </table>
            }
            <details>
                <summary>{ "Per-iteration table" }</summary>
                <table class="iterations">
                    <thead><tr>
                        <th>{ "iteration" }</th><th>{ "verdict" }</th><th>{ "net (bps)" }</th><th>{ "risk ratio" }</th>
                        <th>{ "adverse p95 (bps)" }</th><th>{ "slippage p95 (bps)" }</th><th>{ "fills" }</th><th>{ "tuning" }</th>
                    </tr></thead>
                    <tbody>
                        { for rows.iter().map(|r| {
                            let tuning = if r.applied {
                                r.deltas.iter().map(|(n, d)| format!("{n} {d:+}")).collect::<Vec<_>>().join(", ")
                            } else {
                                r.skipped_reason.clone().unwrap_or_else(|| "-".into())
                            };
                            html! { <tr>
                                <td class="num">{ r.iteration }</td><td>{ r.kpi_verdict.name() }</td>
                                <td class="num">{ format!("{:.2}", r.net_bps) }</td><td class="num">{ format!("{:.3}", r.risk_ratio) }</td>
                                <td class="num">{ format!("{:.2}", r.adverse_p95) }</td><td class="num">{ format!("{:.2}", r.slippage_p95) }</td>
                                <td class="num">{ r.fills }</td><td>{ tuning }</td>
                            </tr> }
                        }) }
                    </tbody>
                </table>
            </details>
            <details open={!events.is_empty()}>
                <summary>{ format!("Guard events ({})", events.len()) }</summary>
                <table class="guard-events">
                    <thead><tr><th>{ "iteration" }</th><th>{ "guard" }</th><th>{ "parameter" }</th><th>{ "detail" }</th></tr></thead>
                    <tbody>
                        { for events.iter().map(|e| html! { <tr>
                            <td class="num">{ e.iteration }</td><td>{ &e.guard }</td>
                            <td>{ e.param.clone().unwrap_or_else(|| "—".into()) }</td><td>{ &e.detail }</td>
                        </tr> }) }
                    </tbody>
                </table>
            </details>
        </section>
    }
}

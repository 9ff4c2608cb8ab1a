//! The sweep tab: open a merged sweep (summary.json + results.jsonl) and see its
//! rescue and harm rates, every run in a table sortable by any column, the Pareto
//! chart of net edge against risk, and each varied axis's effect.

use std::rc::Rc;

use wasm_bindgen_futures::spawn_local;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::sweep_model::{cell, rate, SweepView};

async fn read_all(files: Vec<web_sys::File>) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for f in files {
        let f = gloo_file::File::from(f);
        let text = gloo_file::futures::read_as_text(&f).await.map_err(|e| format!("{}: {e}", f.name()))?;
        out.push((f.name(), text));
    }
    Ok(out)
}

#[function_component(Sweep)]
pub fn sweep() -> Html {
    let view = use_state(|| None::<Rc<SweepView>>);
    let error = use_state(|| None::<String>);
    // (column, ascending); the run index ascending until a header is clicked.
    let sort = use_state(|| ("index".to_string(), true));
    let onchange = {
        let (view, error, sort) = (view.clone(), error.clone(), sort.clone());
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let files: Vec<web_sys::File> =
                input.files().map(|l| (0..l.length()).filter_map(|i| l.get(i)).collect()).unwrap_or_default();
            let (view, error, sort) = (view.clone(), error.clone(), sort.clone());
            spawn_local(async move {
                match read_all(files).await.and_then(|f| SweepView::from_files(&f)) {
                    Ok(v) => {
                        view.set(Some(Rc::new(v)));
                        error.set(None);
                        sort.set(("index".into(), true));
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        })
    };
    let header = |column: &str| {
        let sort = sort.clone();
        let col = column.to_string();
        let (current, ascending) = (*sort).clone();
        let aria = if current == column {
            if ascending {
                "ascending"
            } else {
                "descending"
            }
        } else {
            "none"
        };
        let onclick = Callback::from(move |_: MouseEvent| {
            let asc = if sort.0 == col { !sort.1 } else { true };
            sort.set((col.clone(), asc));
        });
        html! {
            <th aria-sort={aria} data-column={column.to_string()}>
                <button class="sort" {onclick}>{ column.to_string() }
                    { match aria { "ascending" => " ▲", "descending" => " ▼", _ => "" } }</button>
            </th>
        }
    };
    html! {
        <div class="sweep">
            <div class="dropzone">
                <label for="sweep-files">{ "Open a merged sweep: choose summary.json and results.jsonl from the directory `mmsoak sweep merge DIR --out MERGED` wrote." }</label>
                <input id="sweep-files" type="file" multiple=true accept=".json,.jsonl" {onchange} />
            </div>
            if let Some(e) = &*error { <p class="error" role="alert">{ e }</p> }
            if let Some(v) = &*view {
                <section class="sweep-view" aria-label={format!("sweep {}", v.summary.sweep)}>
                    <h2>{ format!("Sweep {}", v.summary.sweep) }</h2>
                    <p class="headline">
                        { format!("{} runs ({} tuned, {} untuned twins) · rescue {} · harm {}",
                            v.summary.runs, v.summary.tuned_runs, v.summary.baseline_runs,
                            rate(&v.summary.rescue), rate(&v.summary.harm)) }
                    </p>
                    <p class="engine">{ format!("sweep hash {}", v.summary.sweep_hash) }</p>
                    <figure class="chart pareto" data-chart="pareto" tabindex="0" aria-label="Pareto chart">
                        { Html::from_html_unchecked(AttrValue::from(v.pareto_svg())) }
                    </figure>
                    <h3>{ "Effect of each varied axis" }</h3>
                    <div class="effects">
                        { for v.effects().into_iter().map(|e| html! {
                            <table class="effect" data-axis={e.axis.clone()}>
                                <caption>{ format!("{} — net edge spread {:.3} bps, risk ratio spread {:.4}",
                                    e.axis, e.net_bps_spread, e.risk_ratio_spread) }</caption>
                                <thead><tr><th>{ "level" }</th><th>{ "runs" }</th><th>{ "net edge (bps)" }</th>
                                    <th>{ "risk ratio" }</th><th>{ "PASS/WARN share" }</th></tr></thead>
                                <tbody>
                                    { for e.levels.iter().map(|l| html! { <tr>
                                        <td>{ &l.level }</td><td class="num">{ l.runs }</td>
                                        <td class="num">{ format!("{:.3}", l.net_bps_mean) }</td>
                                        <td class="num">{ format!("{:.4}", l.risk_ratio_mean) }</td>
                                        <td class="num">{ format!("{:.0} %", l.ok_share * 100.0) }</td>
                                    </tr> }) }
                                </tbody>
                            </table>
                        }) }
                    </div>
                    <h3>{ format!("Runs ({}) — click a column to sort", v.runs.len()) }</h3>
                    <div class="scroll">
                        <table class="runs">
                            <thead><tr>{ for v.columns.iter().map(|c| header(c)) }</tr></thead>
                            <tbody>
                                { for v.order(&sort.0, sort.1).into_iter().map(|i| html! {
                                    <tr data-index={i.to_string()}>
                                        { for v.columns.iter().map(|c| {
                                            let value = v.runs[i].get(c);
                                            let num = matches!(value, Some(serde_json::Value::Number(_)));
                                            html! { <td class={classes!(num.then_some("num"))}>
                                                { value.map(cell).unwrap_or_default() }</td> }
                                        }) }
                                    </tr>
                                }) }
                            </tbody>
                        </table>
                    </div>
                </section>
            }
        </div>
    }
}

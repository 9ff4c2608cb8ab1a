//! mmsoak in the browser: a report viewer for a run's artifacts and what-if soaks
//! computed by the very core.wasm the CLI embeds (see `engine.rs`), and merged sweeps.

mod download;
mod engine;
mod model;
mod run_panel;
mod sweep;
mod sweep_model;
mod viewer;
mod whatif;

use yew::prelude::*;

#[derive(Clone, Copy, PartialEq)]
enum Tab {
    Viewer,
    WhatIf,
    Sweep,
}

#[function_component(App)]
fn app() -> Html {
    let tab = use_state(|| Tab::Viewer);
    let select = |t: Tab| {
        let tab = tab.clone();
        Callback::from(move |_: MouseEvent| tab.set(t))
    };
    let tab_button = |t: Tab, id: &str, label: &str| {
        html! {
            <button id={id.to_string()} role="tab" aria-selected={(*tab == t).to_string()}
                class={classes!((*tab == t).then_some("active"))} onclick={select(t)}>{ label.to_string() }</button>
        }
    };
    html! {
        <>
            <header>
                <h1>{ "mmsoak" }</h1>
                <nav role="tablist">
                    { tab_button(Tab::Viewer, "tab-viewer", "Report viewer") }
                    { tab_button(Tab::WhatIf, "tab-whatif", "What-if") }
                    { tab_button(Tab::Sweep, "tab-sweep", "Sweep") }
                </nav>
            </header>
            <main>
                // Both stay mounted so a running what-if keeps its worker and results.
                <div hidden={*tab != Tab::Viewer}><viewer::Viewer /></div>
                <div hidden={*tab != Tab::WhatIf}><whatif::WhatIf /></div>
                <div hidden={*tab != Tab::Sweep}><sweep::Sweep /></div>
            </main>
        </>
    }
}

fn main() {
    yew::Renderer::<App>::new().render();
}

//! The report viewer: open a run's files (picker or drag-and-drop), or follow the
//! live run when the page is served by `mmsoak serve`.

use std::cell::RefCell;
use std::rc::Rc;

use mmsoak_core::soak::IterSummary;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use web_sys::{DragEvent, EventSource, HtmlInputElement, MessageEvent};
use yew::prelude::*;

use crate::model::RunView;
use crate::run_panel::RunPanel;

pub enum Action {
    Open(Box<RunView>),
    Push(Box<IterSummary>),
    Fail(String),
}

#[derive(Default, PartialEq)]
pub struct ViewerState {
    run: Option<Rc<RunView>>,
    error: Option<String>,
}

impl Reducible for ViewerState {
    type Action = Action;
    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        Rc::new(match action {
            Action::Open(run) => ViewerState { run: Some(Rc::new(*run)), error: None },
            Action::Push(s) => {
                let mut run = self.run.as_deref().cloned().unwrap_or_default();
                run.push(*s);
                ViewerState { run: Some(Rc::new(run)), error: None }
            }
            Action::Fail(e) => ViewerState { run: self.run.clone(), error: Some(e) },
        })
    }
}

fn files_of(list: Option<web_sys::FileList>) -> Vec<web_sys::File> {
    list.map(|l| (0..l.length()).filter_map(|i| l.get(i)).collect()).unwrap_or_default()
}

async fn read_all(files: Vec<web_sys::File>) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for f in files {
        let f = gloo_file::File::from(f);
        let text = gloo_file::futures::read_as_text(&f).await.map_err(|e| format!("{}: {e}", f.name()))?;
        out.push((f.name(), text));
    }
    Ok(out)
}

/// Follows `/api/runs/latest` of the `mmsoak serve` that served this page.
async fn follow_live(dispatch: UseReducerDispatcher<ViewerState>, source: Rc<RefCell<Option<EventSource>>>) {
    let summaries: Vec<IterSummary> = match gloo_net::http::Request::get("api/runs/latest/summaries").send().await {
        Ok(r) if r.ok() => match r.json().await {
            Ok(s) => s,
            Err(e) => return dispatch.dispatch(Action::Fail(format!("live run: {e}"))),
        },
        Ok(r) => return dispatch.dispatch(Action::Fail(format!("live run: HTTP {}", r.status()))),
        Err(e) => return dispatch.dispatch(Action::Fail(format!("live run: {e}"))),
    };
    let after = summaries.last().map_or(0, |s| s.iteration);
    dispatch.dispatch(Action::Open(Box::new(RunView {
        label: "live: latest".into(),
        summaries,
        ..RunView::default()
    })));
    let Ok(es) = EventSource::new(&format!("api/runs/latest/events?after={after}")) else {
        return dispatch.dispatch(Action::Fail("live run: cannot open the event stream".into()));
    };
    let on_iteration = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        if let Some(s) = e.data().as_string().and_then(|t| serde_json::from_str::<IterSummary>(&t).ok()) {
            dispatch.dispatch(Action::Push(Box::new(s)));
        }
    });
    let _ = es.add_event_listener_with_callback("iteration", on_iteration.as_ref().unchecked_ref());
    // The listener lives as long as the stream, which lives until the page closes
    // or another live run replaces it.
    on_iteration.forget();
    if let Some(old) = source.borrow_mut().replace(es) {
        old.close();
    }
}

#[function_component(Viewer)]
pub fn viewer() -> Html {
    let state = use_reducer(ViewerState::default);
    let source = use_mut_ref(|| None::<EventSource>);
    let served = use_state(|| false);
    {
        // Offer the live run only when an `mmsoak serve` API answers.
        let served = served.clone();
        use_effect_with((), move |_| {
            spawn_local(async move {
                let ok = gloo_net::http::Request::get("api/runs").send().await.map(|r| r.ok()).unwrap_or(false);
                served.set(ok);
            });
        });
    }
    let open = {
        let dispatch = state.dispatcher();
        Callback::from(move |files: Vec<web_sys::File>| {
            let dispatch = dispatch.clone();
            spawn_local(async move {
                let result = read_all(files).await.and_then(|f| RunView::from_files("opened run", f));
                dispatch.dispatch(match result {
                    Ok(run) => Action::Open(Box::new(run)),
                    Err(e) => Action::Fail(e),
                });
            });
        })
    };
    let onchange = {
        let open = open.clone();
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            open.emit(files_of(input.files()));
        })
    };
    let ondrop = Callback::from(move |e: DragEvent| {
        e.prevent_default();
        open.emit(files_of(e.data_transfer().and_then(|d| d.files())));
    });
    let ondragover = Callback::from(|e: DragEvent| e.prevent_default());
    let live = {
        let dispatch = state.dispatcher();
        Callback::from(move |_| spawn_local(follow_live(dispatch.clone(), source.clone())))
    };
    html! {
        <div class="viewer">
            <div class="dropzone" {ondrop} {ondragover}>
                <label for="run-files">{ "Open a run: choose its latest/ files (ITER_SUMMARY_*.json, TUNING_REPORT.json, runtime_overrides.json), or drop them here." }</label>
                <input id="run-files" type="file" multiple=true accept=".json" {onchange} />
                if *served {
                    <button id="live" onclick={live}>{ "Follow the live run" }</button>
                }
            </div>
            if let Some(e) = &state.error { <p class="error" role="alert">{ e }</p> }
            if let Some(run) = &state.run { <RunPanel run={run.clone()} /> }
        </div>
    }
}

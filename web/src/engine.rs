//! The what-if engine: a Web Worker (`worker.js`) that instantiates `core.wasm` —
//! the very bytes the CLI embeds — and drives it through the JSON ABI, so the page
//! stays responsive while a soak runs. Messages are JSON strings both ways.

use std::collections::BTreeMap;

use serde::Deserialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{MessageEvent, Worker};
use yew::Callback;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromWorker {
    /// core.wasm is loaded: its sha256 (hex) and ABI version.
    Ready {
        sha256: String,
        abi_version: u32,
    },
    Progress {
        id: String,
        iteration: u32,
        total: u32,
        /// The iteration's ITER_SUMMARY (absent while a tick replay reads its data).
        #[serde(default)]
        summary_file: String,
        /// What the worker is doing, when it is more than stepping iterations.
        #[serde(default)]
        note: Option<String>,
    },
    Done {
        id: String,
        files: BTreeMap<String, String>,
        elapsed_ms: f64,
        /// A line on the data replayed (a tick replay's events, tick, lot and models).
        #[serde(default)]
        note: Option<String>,
    },
    Error {
        id: Option<String>,
        message: String,
    },
}

pub struct CoreWorker {
    worker: Worker,
    // Kept alive as long as the worker: the browser calls it for every message.
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

impl CoreWorker {
    pub fn spawn(on_message: Callback<FromWorker>) -> Result<Self, String> {
        let worker = Worker::new("./worker.js").map_err(|e| format!("cannot start the worker: {e:?}"))?;
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let Some(text) = event.data().as_string() else { return };
            match serde_json::from_str::<FromWorker>(&text) {
                Ok(msg) => on_message.emit(msg),
                Err(e) => on_message.emit(FromWorker::Error { id: None, message: format!("bad worker message: {e}") }),
            }
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        let this = CoreWorker { worker, _on_message: on_message };
        this.post(&serde_json::json!({ "type": "hello" }));
        Ok(this)
    }

    fn post(&self, msg: &serde_json::Value) {
        let _ = self.worker.post_message(&JsValue::from_str(&msg.to_string()));
    }

    /// Starts a what-if soak; progress and the result come back as messages with `id`.
    /// `files`: a tick replay's data, read by the worker (File objects, not JSON).
    pub fn run(&self, id: &str, request: serde_json::Value, files: &[web_sys::File]) {
        let msg = serde_json::json!({ "type": "run", "id": id, "request": request });
        if files.is_empty() {
            return self.post(&msg);
        }
        let list = js_sys::Array::new();
        for f in files {
            list.push(f);
        }
        let obj = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&obj, &"json".into(), &JsValue::from_str(&msg.to_string()));
        let _ = js_sys::Reflect::set(&obj, &"files".into(), &list);
        let _ = self.worker.post_message(&obj);
    }
}

impl Drop for CoreWorker {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

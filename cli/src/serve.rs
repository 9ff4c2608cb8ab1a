//! `mmsoak serve`: a read-only window on an artifact directory — a JSON API over
//! its runs, a Server-Sent-Events feed of new iterations, and (with `--web`) the
//! web app's static files. Binds 127.0.0.1 unless told otherwise.
//!
//! Nothing here maps a request path onto the file system by string: run ids are
//! looked up among the directory's own entries, and static files go through
//! tower-http's ServeDir, which refuses `..` and absolute components.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use clap::Args;
use futures_util::stream::{self, Stream};
use mmsoak_core::soak::IterSummary;
use serde::{Deserialize, Serialize};
use tower_http::services::ServeDir;

use crate::rotate;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Artifact directory to serve (what `mmsoak run --out` wrote).
    #[arg(long, default_value = "artifacts/soak")]
    pub out: PathBuf,
    /// Address to listen on; port 0 picks a free one (printed at start).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: String,
    /// Static files of the web app (a trunk `dist/`) to serve at `/`.
    #[arg(long, value_name = "DIR")]
    pub web: Option<PathBuf>,
}

pub struct ServePlan {
    listener: std::net::TcpListener,
    out: PathBuf,
    web: Option<PathBuf>,
}

pub fn plan(args: &ServeArgs) -> Result<ServePlan> {
    if !args.out.is_dir() {
        anyhow::bail!("--out {}: not a directory (run a soak into it first)", args.out.display());
    }
    if let Some(web) = &args.web {
        if !web.join("index.html").is_file() {
            anyhow::bail!("--web {}: no index.html there (build the web app first)", web.display());
        }
    }
    let listener = std::net::TcpListener::bind(&args.addr)
        .with_context(|| format!("--addr {}: cannot listen there", args.addr))?;
    Ok(ServePlan { listener, out: args.out.clone(), web: args.web.clone() })
}

#[derive(Clone)]
struct AppState {
    out: PathBuf,
}

#[derive(Serialize)]
struct RunInfo {
    id: String,
    /// Completed iterations (summary files plus rotated history).
    iterations: u32,
    /// TUNING_REPORT.json is written when a run ends.
    finished: bool,
}

/// Every run in the artifact directory: `latest`, then `runs/run-*` snapshots, by id.
fn runs(out: &Path) -> Vec<(String, PathBuf)> {
    let mut list = Vec::new();
    if out.join("latest").is_dir() {
        list.push(("latest".to_string(), out.join("latest")));
    }
    let mut snapshots: Vec<(String, PathBuf)> = std::fs::read_dir(out.join("runs"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .collect();
    snapshots.sort();
    list.extend(snapshots);
    list
}

/// The run directory for `id`, only if `id` is one of the listed runs.
fn find_run(out: &Path, id: &str) -> Option<PathBuf> {
    runs(out).into_iter().find(|(name, _)| name == id).map(|(_, p)| p)
}

fn summary_path(run: &Path, i: u32) -> PathBuf {
    run.join(format!("ITER_SUMMARY_{i}.json"))
}

fn summaries(run: &Path) -> Result<Vec<IterSummary>> {
    // Summaries are numbered from 1 with no gaps; rotation folds the oldest into history.
    let mut all = rotate::read_history(run)?;
    let mut i = all.last().map_or(1, |s| s.iteration + 1);
    while let Ok(bytes) = std::fs::read(summary_path(run, i)) {
        all.push(serde_json::from_slice(&bytes).with_context(|| format!("ITER_SUMMARY_{i}.json is corrupt"))?);
        i += 1;
    }
    Ok(all)
}

fn not_found(what: &str) -> Response {
    (StatusCode::NOT_FOUND, Json(serde_json::json!({ "error": format!("{what} not found") }))).into_response()
}

fn server_error(e: anyhow::Error) -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, Json(serde_json::json!({ "error": format!("{e:#}") }))).into_response()
}

async fn list_runs(State(st): State<AppState>) -> Response {
    let infos: Vec<RunInfo> = runs(&st.out)
        .into_iter()
        .map(|(id, dir)| RunInfo {
            iterations: summaries(&dir).map(|s| s.len() as u32).unwrap_or(0),
            finished: dir.join("TUNING_REPORT.json").exists(),
            id,
        })
        .collect();
    Json(infos).into_response()
}

async fn run_summaries(State(st): State<AppState>, UrlPath(id): UrlPath<String>) -> Response {
    let Some(dir) = find_run(&st.out, &id) else { return not_found("run") };
    match summaries(&dir) {
        Ok(all) => Json(all).into_response(),
        Err(e) => server_error(e),
    }
}

async fn run_latest(State(st): State<AppState>, UrlPath(id): UrlPath<String>) -> Response {
    let Some(dir) = find_run(&st.out, &id) else { return not_found("run") };
    match summaries(&dir) {
        Ok(all) => match all.last() {
            Some(last) => Json(last).into_response(),
            None => not_found("iteration"),
        },
        Err(e) => server_error(e),
    }
}

async fn run_report(State(st): State<AppState>, UrlPath(id): UrlPath<String>) -> Response {
    let Some(dir) = find_run(&st.out, &id) else { return not_found("run") };
    match std::fs::read(dir.join("TUNING_REPORT.json")) {
        Ok(bytes) => ([(axum::http::header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(_) => not_found("report (the run has not finished)"),
    }
}

#[derive(Deserialize)]
struct After {
    after: Option<u32>,
}

/// One `iteration` event per ITER_SUMMARY, its id the iteration number: a client
/// that reconnects with `Last-Event-ID` (browsers do) continues where it stopped.
async fn run_events(
    State(st): State<AppState>,
    UrlPath(id): UrlPath<String>,
    Query(q): Query<After>,
    headers: HeaderMap,
) -> Response {
    let Some(dir) = find_run(&st.out, &id) else { return not_found("run") };
    let last_seen = headers.get("last-event-id").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok());
    let next = last_seen.or(q.after).unwrap_or(0) + 1;
    Sse::new(iteration_stream(dir, next)).keep_alive(KeepAlive::default()).into_response()
}

fn iteration_stream(dir: PathBuf, next: u32) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold((dir, next), |(dir, next)| async move {
        loop {
            // Written atomically, so a file that exists is whole; sent as one line of JSON.
            let compact = tokio::fs::read(summary_path(&dir, next))
                .await
                .ok()
                .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok());
            if let Some(value) = compact {
                let event = Event::default().event("iteration").id(next.to_string()).data(value.to_string());
                return Some((Ok(event), (dir, next + 1)));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
}

pub fn router(out: PathBuf, web: Option<PathBuf>) -> Router {
    let api = Router::new()
        .route("/api/runs", get(list_runs))
        .route("/api/runs/{id}/summaries", get(run_summaries))
        .route("/api/runs/{id}/latest", get(run_latest))
        .route("/api/runs/{id}/report", get(run_report))
        .route("/api/runs/{id}/events", get(run_events))
        .with_state(AppState { out });
    match web {
        Some(dir) => api.fallback_service(ServeDir::new(dir)),
        None => api.fallback(|| async { not_found("page (no --web directory is served; the API is under /api/runs)") }),
    }
}

pub async fn execute(plan: ServePlan) -> Result<()> {
    plan.listener.set_nonblocking(true).context("listener")?;
    let addr = plan.listener.local_addr().context("listener")?;
    let listener = tokio::net::TcpListener::from_std(plan.listener).context("listener")?;
    eprintln!("mmsoak: serving {} at http://{addr}/ (API: /api/runs)", plan.out.display());
    axum::serve(listener, router(plan.out, plan.web))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("serving")
}

//! `mmsoak serve`: the live feed of a running soak over Server-Sent Events, the
//! JSON API, and no way out of the served directories.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::Duration;

use common::{json, mmsoak, start_serving};
use serde_json::Value;

/// Reads SSE events (id, data) from `url` on a thread, sending each one over the channel.
fn subscribe(url: String, last_event_id: Option<&str>) -> mpsc::Receiver<(u32, Value)> {
    let (tx, rx) = mpsc::channel();
    let mut req = ureq::get(&url);
    if let Some(id) = last_event_id {
        req = req.set("Last-Event-ID", id);
    }
    let resp = req.call().expect("SSE request");
    assert_eq!(resp.content_type(), "text/event-stream");
    std::thread::spawn(move || {
        let (mut id, mut event) = (None, String::new());
        for line in BufReader::new(resp.into_reader()).lines().map_while(Result::ok) {
            if let Some(v) = line.strip_prefix("id: ") {
                id = v.parse().ok();
            } else if let Some(v) = line.strip_prefix("event: ") {
                event = v.to_string();
            } else if let Some(v) = line.strip_prefix("data: ").filter(|_| event == "iteration") {
                if tx.send((id.unwrap_or(0), serde_json::from_str(v).expect("event data is JSON"))).is_err() {
                    return;
                }
            }
        }
    });
    rx
}

#[test]
fn the_sse_feed_delivers_each_new_iteration_of_a_running_soak() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("soak");
    std::fs::create_dir_all(out.join("latest")).unwrap();
    let mut serve = mmsoak();
    serve.args(["serve", "--addr", "127.0.0.1:0", "--out", out.to_str().unwrap()]);
    let server = start_serving(serve);
    let base = format!("http://{}", server.addr);
    let events = subscribe(format!("{base}/api/runs/latest/events"), None);

    // The soak starts after the client subscribed: every event is a new iteration.
    let mut soak = mmsoak()
        .env("SOAK_SLEEP_SECONDS", "0.3")
        .args(["run", "--iterations", "5", "--auto-tune", "--regime", "volatile", "--out", out.to_str().unwrap()])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut got = Vec::new();
    while got.len() < 5 {
        let (id, summary) = events.recv_timeout(Duration::from_secs(30)).expect("an iteration event within 30 s");
        got.push(id);
        assert_eq!(summary["iteration"], id);
        assert_eq!(
            summary,
            json(out.join(format!("latest/ITER_SUMMARY_{id}.json"))),
            "event {id} differs from the file"
        );
    }
    assert_eq!(got, vec![1, 2, 3, 4, 5]);
    assert!(soak.wait().unwrap().success());

    // A client that reconnects after iteration 3 gets 4 and 5, nothing twice.
    let again = subscribe(format!("{base}/api/runs/latest/events"), Some("3"));
    let ids: Vec<u32> = (0..2).map(|_| again.recv_timeout(Duration::from_secs(10)).unwrap().0).collect();
    assert_eq!(ids, vec![4, 5]);

    let runs = get_json(&format!("{base}/api/runs"));
    assert_eq!(runs[0]["id"], "latest");
    assert_eq!(runs[0]["iterations"], 5);
    assert_eq!(runs[0]["finished"], true);
    assert_eq!(get_json(&format!("{base}/api/runs/latest/summaries")).as_array().unwrap().len(), 5);
    let latest = get_json(&format!("{base}/api/runs/latest/latest"));
    assert_eq!(latest["iteration"], 5);
}

fn get_json(url: &str) -> Value {
    ureq::get(url).call().unwrap().into_string().unwrap().parse().unwrap()
}

/// Sends a request line exactly as written (clients would normalise the path).
fn raw_get(addr: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status = resp.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, resp)
}

#[test]
fn path_traversal_gets_404_and_nothing_outside_the_served_directories() {
    let dir = tempfile::tempdir().unwrap();
    let web = dir.path().join("web");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&web).unwrap();
    std::fs::create_dir_all(out.join("latest")).unwrap();
    std::fs::write(web.join("index.html"), "<html>mmsoak</html>").unwrap();
    std::fs::write(dir.path().join("secret.txt"), "TOP-SECRET").unwrap();
    std::fs::write(out.join("latest/ITER_SUMMARY_1.json"), "{}").unwrap();
    let mut serve = mmsoak();
    serve.args(["serve", "--addr", "127.0.0.1:0", "--out", out.to_str().unwrap(), "--web", web.to_str().unwrap()]);
    let server = start_serving(serve);

    let (status, body) = raw_get(&server.addr, "/");
    assert_eq!(status, 200);
    assert!(body.contains("<html>mmsoak</html>"));
    for path in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/%2e%2e%2f%2e%2e%2fsecret.txt",
        "/..\\secret.txt",
        "/api/runs/..%2F..%2Fsecret.txt/summaries",
        "/api/runs/%2e%2e/latest",
        "/api/runs/..%2F/events",
        "/api/runs/nope/summaries",
    ] {
        let (status, body) = raw_get(&server.addr, path);
        assert_eq!(status, 404, "{path}: {body}");
        assert!(!body.contains("TOP-SECRET"), "{path} leaked the file");
    }
}

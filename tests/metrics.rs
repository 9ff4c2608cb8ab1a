//! `--metrics-addr`: the exposition passes `promtool check metrics`, and a real
//! Prometheus server scrapes `soak_iteration` from a running soak.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{mmsoak, start_serving};
use serde_json::Value;

fn tool(name: &str) -> String {
    let path = format!("/usr/bin/{name}");
    assert!(
        std::path::Path::new(&path).exists(),
        "{path} is missing: install Debian's prometheus package (scripts/test.sh does)"
    );
    path
}

#[test]
fn promtool_accepts_the_exposition_and_prometheus_scrapes_a_running_soak() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("soak");
    let mut run = mmsoak();
    run.env("SOAK_SLEEP_SECONDS", "1")
        .args(["run", "--iterations", "30", "--auto-tune", "--profile", "aggressive", "--regime", "volatile"])
        .args(["--metrics-addr", "127.0.0.1:0", "--out", out.to_str().unwrap()]);
    let soak = start_serving(run);
    let url = format!("http://{}/metrics", soak.addr);

    // Wait for the first iteration, then check the classic text format with promtool.
    let deadline = Instant::now() + Duration::from_secs(30);
    let text = loop {
        let text = ureq::get(&url).call().unwrap().into_string().unwrap();
        if !text.contains("soak_iteration 0") || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    for name in [
        "soak_iteration",
        "soak_net_bps",
        "soak_risk_ratio",
        "soak_adverse_p95",
        "soak_slippage_p95",
        "soak_kpi_verdict{verdict=\"PASS\"}",
        "soak_param{name=\"base_spread_bps\"}",
        "soak_guard_events_total{guard=",
        "process_resident_memory_bytes",
    ] {
        assert!(text.contains(name), "{name} missing from:\n{text}");
    }
    let mut promtool = Command::new(tool("promtool"))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut promtool.stdin.take().unwrap(), text.as_bytes()).unwrap();
    let checked = promtool.wait_with_output().unwrap();
    assert!(
        checked.status.success(),
        "promtool check metrics: {}{}\n{text}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );

    // A real Prometheus, scraping every second.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: mmsoak\n    static_configs:\n      - targets: ['{}']\n",
            soak.addr
        ),
    )
    .unwrap();
    let mut prometheus = Command::new(tool("prometheus"))
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", dir.path().join("tsdb").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let query = format!("http://127.0.0.1:{port}/api/v1/query?query=soak_iteration");
    let deadline = Instant::now() + Duration::from_secs(60);
    let scraped = loop {
        let value = ureq::get(&query)
            .call()
            .ok()
            .and_then(|r| r.into_string().ok().and_then(|s| serde_json::from_str::<Value>(&s).ok()))
            .and_then(|v| {
                let sample = v["data"]["result"][0]["value"][1].as_str()?.parse::<f64>().ok()?;
                Some(sample)
            });
        match value {
            Some(v) if v >= 1.0 => break Some(v),
            _ if Instant::now() > deadline => break None,
            _ => std::thread::sleep(Duration::from_millis(500)),
        }
    };
    let _ = prometheus.kill();
    let _ = prometheus.wait();
    let v = scraped.expect("Prometheus never scraped soak_iteration >= 1 within 60 s");
    assert!(v <= 30.0, "soak_iteration {v} beyond the run's 30 iterations");
}

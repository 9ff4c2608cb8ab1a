//! `mmsoak sweep`: sharding, workers and a real Slurm array give the same merged
//! bytes; a killed shard resumes from its checkpoints; bad input is refused.

mod common;
#[path = "common/sweep.rs"]
mod sweep_common;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use common::{json, mmsoak, run_ok, tree};
use sweep_common::Slurm;

fn write_sweep(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// 2 profiles × 2 regimes × 2 seeds, with untuned twins: 16 soaks.
const SMALL: &str = r#"
name = "test-small"
iterations = 6
seeds = [1, 2]
regimes = ["calm", "volatile"]
profiles = ["steady_safe", "aggressive"]
[judge]
hold_iterations = 2
"#;

fn sweep(args: &[&str]) -> Output {
    mmsoak().arg("sweep").args(args).output().expect("mmsoak runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn merge(dir: &Path, out: &Path) {
    run_ok(&["sweep", "merge", dir.to_str().unwrap(), "--out", out.to_str().unwrap()]);
}

/// The shipped 200-run example (4 profiles × 5 regimes × 10 seeds, 24 iterations,
/// with untuned twins: 400 soaks) run in one process, on 2 workers and as an
/// 8-task Slurm array merges to the same bytes.
#[test]
fn slurm_array_workers_and_one_process_merge_byte_identical() {
    let t = tempfile::tempdir().unwrap();
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/sweeps/profiles-x-regimes.toml");
    let f = file.to_str().unwrap();

    let one = t.path().join("one");
    run_ok(&["sweep", "run", f, "--out", one.to_str().unwrap()]);
    merge(&one, &t.path().join("one-merged"));

    let two = t.path().join("two");
    run_ok(&["sweep", "run", f, "--out", two.to_str().unwrap(), "--workers", "2"]);
    merge(&two, &t.path().join("two-merged"));

    let slurm = Slurm::start(&t.path().join("cluster"));
    let arr = t.path().join("array");
    let mut cmd = mmsoak();
    cmd.env("SLURM_CONF", &slurm.conf).args(["sweep", "slurm", f, "--shards", "8", "--out", arr.to_str().unwrap()]);
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "sweep slurm failed: {}", stderr(&out));
    let job = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(job.chars().all(|c| c.is_ascii_digit()) && !job.is_empty(), "job id printed: {job:?}");
    slurm.wait(&job, Duration::from_secs(1800));
    let shards: Vec<_> = (0..8).map(|i| arr.join(format!("shard-{i:04}-of-0008.json"))).collect();
    for s in &shards {
        assert!(s.exists(), "{} missing; Slurm logs: {:?}", s.display(), tree(&arr.join("slurm")).len());
    }
    merge(&arr, &t.path().join("array-merged"));

    let a = tree(&t.path().join("one-merged"));
    assert_eq!(
        a.iter().map(|(p, _)| p.display().to_string()).collect::<Vec<_>>(),
        ["results.csv", "results.jsonl", "results.parquet", "summary.json", "summary.md"]
    );
    assert!(a == tree(&t.path().join("two-merged")), "--workers 2 merged differently from one process");
    assert!(a == tree(&t.path().join("array-merged")), "the 8-task Slurm array merged differently from one process");

    // The table holds every soak once, tuned and untuned twins alike.
    let csv = String::from_utf8(common::read(t.path().join("one-merged/results.csv"))).unwrap();
    assert_eq!(csv.lines().count(), 1 + 400);
    parquet_holds_the_csv_table(&t.path().join("one-merged"));
    let summary = json(t.path().join("one-merged/summary.json"));
    assert_eq!(summary["tuned_runs"], 200);
    assert_eq!(summary["harm"]["of"], 200);
    assert_eq!(summary["scenarios"].as_array().unwrap().len(), 20);
    eprintln!("rescue {}, harm {}", summary["rescue"], summary["harm"]);
}

/// results.parquet, read back with the parquet crate's reader, is results.csv:
/// the same columns in the same order, and every cell the same value.
fn parquet_holds_the_csv_table(merged: &std::path::Path) {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::Field;
    let file = std::fs::File::open(merged.join("results.parquet")).unwrap();
    let pq = SerializedFileReader::new(file).unwrap();
    let mut csv = csv::Reader::from_path(merged.join("results.csv")).unwrap();
    let header: Vec<String> = csv.headers().unwrap().iter().map(str::to_string).collect();
    let names: Vec<String> =
        pq.metadata().file_metadata().schema_descr().columns().iter().map(|c| c.name().to_string()).collect();
    assert_eq!(names, header);
    let rows: Vec<_> = pq.get_row_iter(None).unwrap().map(|r| r.unwrap()).collect();
    let records: Vec<csv::StringRecord> = csv.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), records.len());
    for (row, record) in rows.iter().zip(&records) {
        for ((name, field), text) in row.get_column_iter().zip(record.iter()) {
            let same = match field {
                Field::Null => text.is_empty(),
                Field::Str(s) => s == text,
                Field::Long(i) => i.to_string() == text,
                Field::Double(d) => text.parse::<f64>() == Ok(*d),
                Field::Bool(b) => b.to_string() == text,
                other => panic!("column {name}: unexpected {other:?}"),
            };
            assert!(same, "column {name}: parquet {field:?}, csv {text:?}");
        }
    }
}

/// A sweep's soak is the soak `mmsoak run` drives: same per-iteration numbers and final parameters.
#[test]
fn a_sweep_soak_equals_mmsoak_run() {
    let t = tempfile::tempdir().unwrap();
    let file = write_sweep(
        t.path(),
        "one.toml",
        "name = \"one\"\niterations = 8\nseeds = [5]\nregimes = [\"volatile\"]\nprofiles = [\"aggressive\"]\n\
         baseline = false\nmetrics = [\"series\", \"final_params\"]\n",
    );
    let out = t.path().join("out");
    run_ok(&["sweep", "run", file.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    merge(&out, &t.path().join("merged"));
    let soak = t.path().join("soak");
    let o = mmsoak()
        .current_dir(t.path())
        .env_remove("MM_RUNTIME_OVERRIDES_JSON")
        .args(["run", "--iterations", "8", "--auto-tune", "--profile", "aggressive", "--regime", "volatile"])
        .args(["--seed", "5", "--out", soak.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let report = json(soak.join("latest/TUNING_REPORT.json"));
    let line = String::from_utf8(common::read(t.path().join("merged/results.jsonl"))).unwrap();
    let row: serde_json::Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
    let rows = report["rows"].as_array().unwrap();
    let net: Vec<&serde_json::Value> = rows.iter().map(|r| &r["net_bps"]).collect();
    let verdicts: Vec<&serde_json::Value> = rows.iter().map(|r| &r["kpi_verdict"]).collect();
    assert_eq!(row["series_net_bps"].as_array().unwrap().iter().collect::<Vec<_>>(), net);
    assert_eq!(row["series_verdicts"].as_array().unwrap().iter().collect::<Vec<_>>(), verdicts);
    for (name, v) in report["final_overrides"].as_object().unwrap() {
        assert_eq!(row[format!("final_{name}")].as_f64(), v.as_f64(), "final {name}");
    }
}

#[test]
fn a_killed_shard_resumes_without_redoing_finished_runs() {
    let t = tempfile::tempdir().unwrap();
    // 12 seeds × twins = 24 soaks of 24 iterations; shard 1/2 holds 12 of them.
    let text = "name = \"kill\"\niterations = 24\nseeds = { first = 1, count = 12 }\nregimes = [\"volatile\"]\n\
                profiles = [\"aggressive\"]\n";
    let file = write_sweep(t.path(), "kill.toml", text);
    let f = file.to_str().unwrap();
    let out = t.path().join("out");
    let args = ["sweep", "run", f, "--out", out.to_str().unwrap(), "--shard", "1/2"];
    let ckpt = out.join("checkpoints/shard-0001-of-0002");
    let count = |d: &Path| {
        std::fs::read_dir(d)
            .map(|e| e.flatten().filter(|e| e.file_name().to_string_lossy().starts_with("run-")).count())
            .unwrap_or(0)
    };
    let mut child = mmsoak().args(args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let start = Instant::now();
    while count(&ckpt) < 3 {
        assert!(start.elapsed() < Duration::from_secs(300), "no checkpoints appeared");
        assert!(child.try_wait().unwrap().is_none(), "the shard finished before it could be killed");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!out.join("shard-0001-of-0002.json").exists(), "the shard completed before the kill");
    let done = count(&ckpt);
    assert!((3..12).contains(&done), "{done} checkpoints");

    let rerun = mmsoak().args(args).output().unwrap();
    assert!(rerun.status.success(), "{}", stderr(&rerun));
    let want = format!("12 runs, {done} done before, {} to run", 12 - done);
    assert!(stderr(&rerun).contains(&want), "expected {want:?} in:\n{}", stderr(&rerun));
    assert!(!ckpt.exists(), "checkpoints are removed once the shard file is written");
    run_ok(&["sweep", "run", f, "--out", out.to_str().unwrap(), "--shard", "0/2"]);
    merge(&out, &t.path().join("merged"));

    let whole = t.path().join("whole");
    run_ok(&["sweep", "run", f, "--out", whole.to_str().unwrap()]);
    merge(&whole, &t.path().join("whole-merged"));
    assert!(
        tree(&t.path().join("merged")) == tree(&t.path().join("whole-merged")),
        "the resumed shard changed the merge"
    );

    // A finished shard re-run does nothing.
    let again = mmsoak().args(args).output().unwrap();
    assert!(again.status.success() && stderr(&again).contains("complete already"), "{}", stderr(&again));
}

#[test]
fn bad_sweep_files_exit_2_naming_key_and_value() {
    let t = tempfile::tempdir().unwrap();
    let base = "name = \"bad\"\niterations = 4\nseeds = [1]\nregimes = [\"calm\"]\n";
    let cases: [(&str, &str); 8] = [
        ("name = \"bad\"\niterations = 4\nseeds = [1]\nregimes = [\"volatle\"]\n", "regimes[0] = \"volatle\""),
        ("name = \"bad\"\niterations = 0\nseeds = [1]\nregimes = [\"calm\"]\n", "iterations: 0"),
        ("name = \"bad\"\niterations = 4\nseeds = [1]\nregims = [\"calm\"]\n", "regims"),
        (&format!("{base}[kpi]\nfail_risk_ratio = 1.5\n"), "kpi.fail_risk_ratio = 1.5"),
        (&format!("{base}guards_off = [[\"freez\"]]\n"), "guards_off[0]: no guard called \"freez\""),
        (&format!("{base}profiles = [\"reckless\"]\n"), "profiles[0] = \"reckless\""),
        (
            &format!("{base}[params]\nbase_spread_bps = {{ min = 1.0, max = 9.0, steps = 2 }}\n"),
            "params.base_spread_bps.min = 1",
        ),
        (&format!("{base}iterations = \"many\"\n"), "iterations"),
    ];
    for (k, (text, want)) in cases.iter().enumerate() {
        let file = write_sweep(t.path(), &format!("bad{k}.toml"), text);
        let out = t.path().join(format!("out{k}"));
        let o = sweep(&["run", file.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "case {k}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains(want) && err.contains(&format!("bad{k}.toml")), "case {k}: want {want:?} in {err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(!out.exists(), "case {k}: nothing written");
        let p = sweep(&["plan", file.to_str().unwrap()]);
        assert_eq!(p.status.code(), Some(2), "plan, case {k}");
    }
}

#[test]
fn shards_out_of_range_are_refused_before_anything_is_written() {
    let t = tempfile::tempdir().unwrap();
    let file = write_sweep(t.path(), "small.toml", SMALL);
    let f = file.to_str().unwrap();
    let out = t.path().join("out");
    let o = sweep(&["run", f, "--out", out.to_str().unwrap(), "--shard", "8/8"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("shard index 8 is out of range for 8 shards"), "{}", stderr(&o));
    let o = mmsoak()
        .env("SLURM_ARRAY_TASK_ID", "9")
        .env("SLURM_ARRAY_TASK_COUNT", "8")
        .args(["sweep", "run", f, "--out", out.to_str().unwrap(), "--shard-from-env"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("SLURM_ARRAY_TASK_ID") && stderr(&o).contains("out of range"), "{}", stderr(&o));
    assert!(!out.exists(), "nothing written");

    // The plan lists every soak with its shard, round-robin.
    let p = run_ok(&["sweep", "plan", f, "--shards", "3"]);
    let text = String::from_utf8(p.stdout).unwrap();
    let lines: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(lines.len(), 16);
    assert!(lines[4].starts_with("4\t1\t"), "{}", lines[4]);
}

#[test]
fn merge_refuses_mixed_sweeps_and_missing_shards() {
    let t = tempfile::tempdir().unwrap();
    let a = write_sweep(t.path(), "a.toml", "name = \"a\"\niterations = 2\nseeds = [1, 2]\nregimes = [\"calm\"]\n");
    let b = write_sweep(t.path(), "b.toml", "name = \"b\"\niterations = 3\nseeds = [1, 2]\nregimes = [\"calm\"]\n");
    let dir = t.path().join("dir");
    let d = dir.to_str().unwrap();
    run_ok(&["sweep", "run", a.to_str().unwrap(), "--out", d, "--shard", "0/2"]);
    let merged = t.path().join("merged");
    let o = sweep(&["merge", d, "--out", merged.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("shards 1 of 2 are missing"), "{}", stderr(&o));

    // Shard 1/2 of another sweep in the same directory: refused, by name.
    let o = sweep(&["run", b.to_str().unwrap(), "--out", d, "--shard", "0/2"]);
    assert_eq!(o.status.code(), Some(2), "a different sweep's shard file is not overwritten");
    assert!(stderr(&o).contains("different sweep"), "{}", stderr(&o));
    let other = t.path().join("other");
    run_ok(&["sweep", "run", b.to_str().unwrap(), "--out", other.to_str().unwrap(), "--shard", "1/2"]);
    std::fs::copy(other.join("shard-0001-of-0002.json"), dir.join("shard-0001-of-0002.json")).unwrap();
    let o = sweep(&["merge", d, "--out", merged.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("shards of different sweeps"), "{}", stderr(&o));
    assert!(!merged.exists(), "nothing merged");

    // The right shard 1/2 makes it whole.
    let right = t.path().join("right");
    run_ok(&["sweep", "run", a.to_str().unwrap(), "--out", right.to_str().unwrap(), "--shard", "1/2"]);
    std::fs::copy(right.join("shard-0001-of-0002.json"), dir.join("shard-0001-of-0002.json")).unwrap();
    merge(&dir, &merged);
    assert_eq!(json(merged.join("summary.json"))["runs"], 4);
}

/// `[[replay]]`: a soak on a window of real bars is the soak `mmsoak run --source
/// replay` drives on those bars; a later window is other market time; bad windows
/// are refused naming the key and the value.
#[test]
fn replay_windows_replay_real_bars_as_mmsoak_run_does() {
    let t = tempfile::tempdir().unwrap();
    let data = common::shared_data("btcusd_bitstamp_1min_a.csv");
    std::fs::copy(&data, t.path().join("bars.csv")).unwrap();
    // The file's first bar opens at 1736208060; the second window starts a day later.
    let text = "name = \"windows\"\niterations = 8\nseeds = [3]\nregimes = [\"calm\"]\nprofiles = [\"aggressive\"]\n\
                baseline = false\nmetrics = [\"series\", \"final_params\"]\n\
                [[replay]]\ndata = \"bars.csv\"\n\
                [[replay]]\ndata = \"bars.csv\"\nstart = \"2025-01-08T00:01:00Z\"\nname = \"day 2\"\n";
    let file = write_sweep(t.path(), "windows.toml", text);
    let plan = run_ok(&["sweep", "plan", file.to_str().unwrap(), "--json"]);
    let plan = String::from_utf8(plan.stdout).unwrap();
    assert!(
        plan.contains("\"window\":\"bars.csv@2025-01-07T00:01:00Z\"") && plan.contains("\"window\":\"day 2\""),
        "{plan}"
    );
    let out = t.path().join("out");
    run_ok(&["sweep", "run", file.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    merge(&out, &t.path().join("merged"));
    let rows: Vec<serde_json::Value> = String::from_utf8(common::read(t.path().join("merged/results.jsonl")))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        (rows[0]["window"].as_str(), rows[1]["window"].as_str()),
        (Some("bars.csv@2025-01-07T00:01:00Z"), Some("day 2"))
    );
    assert_ne!(rows[0]["series_net_bps"], rows[1]["series_net_bps"], "two windows, two markets");

    let soak = t.path().join("soak");
    let o = mmsoak()
        .current_dir(t.path())
        .env_remove("MM_RUNTIME_OVERRIDES_JSON")
        .args(["run", "--source", "replay", "--data", "bars.csv", "--iterations", "8", "--auto-tune"])
        .args(["--profile", "aggressive", "--regime", "calm", "--seed", "3", "--out", soak.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let report = json(soak.join("latest/TUNING_REPORT.json"));
    let rows_run = report["rows"].as_array().unwrap();
    let net: Vec<&serde_json::Value> = rows_run.iter().map(|r| &r["net_bps"]).collect();
    assert_eq!(rows[0]["series_net_bps"].as_array().unwrap().iter().collect::<Vec<_>>(), net);
    for (name, v) in report["final_overrides"].as_object().unwrap() {
        assert_eq!(rows[0][format!("final_{name}")].as_f64(), v.as_f64(), "final {name}");
    }

    let head = "name = \"w\"\niterations = 8\nseeds = [1]\nregimes = [\"calm\"]\n[[replay]]\ndata = \"bars.csv\"\n";
    let cases = [
        (format!("{head}start = \"2024-01-01T00:00:00Z\"\n"), "replay[0]: start = \"2024-01-01T00:00:00Z\""),
        (format!("{head}start = \"2025-01-09T09:00:00Z\"\n"), "replay[0]: the soaks need 7200 s"),
        (format!("{head}start = \"yesterday\"\n"), "replay[0]: start = \"yesterday\""),
        (
            "name = \"w\"\niterations = 8\nseeds = [1]\nregimes = [\"calm\"]\n[[replay]]\ndata = \"nope.csv\"\n".into(),
            "replay[0]: data = \"nope.csv\"",
        ),
        (format!("{head}strat = 1\n"), "strat"),
    ];
    for (k, (text, want)) in cases.iter().enumerate() {
        let file = write_sweep(t.path(), &format!("badw{k}.toml"), text);
        let o = sweep(&["plan", file.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "case {k}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains(want) && err.contains(&format!("badw{k}.toml")), "case {k}: want {want:?} in {err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
    }
    // Looping lets a late window run past the file's end.
    let looped =
        write_sweep(t.path(), "looped.toml", &format!("{head}start = \"2025-01-09T09:00:00Z\"\nloop_data = true\n"));
    run_ok(&["sweep", "plan", looped.to_str().unwrap()]);
}

//! `--source ticks` on bad data: every error one line naming the file (of a
//! LOBSTER pair, the one that holds the bad value), the line and the value;
//! gzip members and what follows them; prices of zero or less; data that turns
//! bad while a run replays it.

mod common;

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;

const LOBSTER_MSG: &str = "lobster/AMZN_2012-06-21_34200000_57600000_message_5.csv.gz";
const LOBSTER_BOOK: &str = "lobster/AMZN_2012-06-21_34200000_57600000_orderbook_5.csv.gz";
const TARDIS_QUOTES: &str = "tardis/binance-futures_quotes_2020-02-22_BTCUSDT_first9999.csv";
const TARDIS_TRADES: &str = "tardis/binance-futures_trades_2020-02-22_BTCUSDT_first9999.csv";

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn gunzip(p: &Path) -> String {
    use std::io::Read;
    let mut s = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(p).unwrap()).read_to_string(&mut s).unwrap();
    s
}

fn gz(text: &str) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(text.as_bytes()).unwrap();
    e.finish().unwrap()
}

fn head(text: &str, n: usize) -> String {
    text.lines().take(n).map(|l| format!("{l}\n")).collect()
}

/// `text` with field `field` (0-based) of line `line` (1-based) replaced by `f(old)`.
fn edit(text: &str, line: usize, field: usize, f: impl Fn(&str) -> String) -> String {
    let mut out = String::new();
    for (i, l) in text.lines().enumerate() {
        if i + 1 == line {
            let mut fields: Vec<String> = l.split(',').map(String::from).collect();
            fields[field] = f(&fields[field]);
            out.push_str(&fields.join(","));
        } else {
            out.push_str(l);
        }
        out.push('\n');
    }
    out
}

fn tick_run(data: &[&Path], out: &Path, iterations: &str, seconds: &str) -> std::process::Command {
    let mut cmd = mmsoak();
    cmd.args(["run", "--source", "ticks", "--engine", "native", "--iteration-seconds", seconds]);
    cmd.args(["--iterations", iterations, "--out", s(out), "--data"]).args(data);
    cmd
}

/// The one line of stderr that says "error"; exit 2, no panic.
fn the_error(o: &Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(2), "should exit 2: {err}");
    assert!(!err.contains("panicked"), "{err}");
    let errors: Vec<&str> = err.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(errors.len(), 1, "one error line expected:\n{err}");
    errors[0].to_string()
}

/// A one-iteration run that must be refused before anything is written, with an
/// error line holding every `expect` and none of `absent`.
fn refused(data: &[&Path], expect: &[&str], absent: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let line = the_error(&tick_run(data, &out, "1", "60").output().unwrap());
    for e in expect {
        assert!(line.contains(e), "expected {e:?} in {line:?}");
    }
    for a in absent {
        assert!(!line.contains(a), "{a:?} should not be in {line:?}");
    }
    assert!(!out.exists(), "nothing may be written on bad input");
}

#[test]
fn a_bad_lobster_value_is_named_in_the_file_of_the_pair_that_holds_it() {
    let dir = tempfile::tempdir().unwrap();
    let msgs = head(&gunzip(&shared_data(LOBSTER_MSG)), 5000);
    let books = head(&gunzip(&shared_data(LOBSTER_BOOK)), 5000);
    let m = dir.path().join("AMZN_2012-06-21_34200000_57600000_message_5.csv");
    let b = dir.path().join("AMZN_2012-06-21_34200000_57600000_orderbook_5.csv");
    std::fs::write(&m, &msgs).unwrap();
    std::fs::write(&b, edit(&books, 17, 0, |_| "-5".into())).unwrap();
    refused(&[&m], &["orderbook_5.csv: line 17: ask_px_1 -5 is not a price"], &["message_5.csv"]);
    std::fs::write(&b, edit(&books, 17, 5, |_| "1x".into())).unwrap();
    refused(&[&m], &["orderbook_5.csv: line 17: ask_sz_2 \"1x\" is not an integer"], &["message_5.csv"]);
    // A bad value in the message file still names the message file.
    std::fs::write(&b, &books).unwrap();
    std::fs::write(&m, edit(&msgs, 23, 4, |_| "abc".into())).unwrap();
    refused(&[&m], &["message_5.csv: line 23: price \"abc\" is not an integer"], &["orderbook_5.csv"]);
}

#[test]
fn bytes_after_the_gzip_stream_are_named_and_gzip_members_are_one_stream() {
    let dir = tempfile::tempdir().unwrap();
    let quotes = std::fs::read_to_string(shared_data(TARDIS_QUOTES)).unwrap();
    let one = gz(&quotes);
    for (junk, shown) in [
        (&b"garbage after the end\n"[..], "\"garbage after th\"…"),
        (b"\n", "\"\\n\""),
        (b"\0\0\0\0", "\"\\x00\\x00\\x00\\x00\""),
    ] {
        let f = dir.path().join("binance-futures_quotes_junk.csv.gz");
        std::fs::write(&f, [&one[..], junk].concat()).unwrap();
        let want = format!(
            "quotes_junk.csv.gz: line 10001: trailing bytes after the end of the gzip stream at byte {}: {shown} is not gzip data",
            one.len(),
        );
        refused(&[&f], &[&want], &["truncated"]);
    }
    // Two members (as `cat a.gz b.gz` makes) read as the plain file does.
    let at = quotes.match_indices('\n').nth(4000).unwrap().0 + 1;
    let two = dir.path().join("binance-futures_quotes_two.csv.gz");
    std::fs::write(&two, [gz(&quotes[..at]), gz(&quotes[at..])].concat()).unwrap();
    let edge = |data: &Path, out: &str| {
        let out = dir.path().join(out);
        let o = tick_run(&[data], &out, "2", "60").output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        json(out.join("latest/ITER_SUMMARY_2.json"))["edge"].clone()
    };
    assert_eq!(edge(&two, "two"), edge(&shared_data(TARDIS_QUOTES), "plain"));
}

#[test]
fn a_price_of_zero_or_less_is_an_error_and_an_empty_side_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, text: &str| -> PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let quotes = std::fs::read_to_string(shared_data(TARDIS_QUOTES)).unwrap();
    let ask = quotes.lines().nth(49).unwrap().split(',').nth(5).unwrap().to_string();
    let f = file("q_neg_ask.csv", &edit(&quotes, 50, 5, |p| format!("-{p}")));
    refused(&[&f], &[&format!("q_neg_ask.csv: line 50: column ask_price: \"-{ask}\" is not a positive price")], &[]);
    let f = file("q_zero_bid.csv", &edit(&quotes, 60, 6, |_| "0".into()));
    refused(&[&f], &["q_zero_bid.csv: line 60: column bid_price: \"0\" is not a positive price"], &[]);
    let trades = std::fs::read_to_string(shared_data(TARDIS_TRADES)).unwrap();
    let f = file("t_zero.csv", &edit(&trades, 70, 6, |_| "0.0".into()));
    refused(&[&f], &["t_zero.csv: line 70: column price: \"0.0\" is not a positive price"], &[]);

    // Binance: a book ticker's ask below zero.
    let cap = gunzip(&shared_data("binance_usdm_raw/btcusdt_20240718.gz"));
    let n = cap.lines().position(|l| l.contains("@bookTicker")).unwrap() + 1;
    let bad: String = cap
        .lines()
        .enumerate()
        .map(|(i, l)| if i + 1 == n { l.replacen("\"a\":\"", "\"a\":\"-", 1) + "\n" } else { format!("{l}\n") })
        .collect();
    let f = file("cap_neg.txt", &bad);
    refused(
        &[&f],
        &[&format!("cap_neg.txt: line {n}: field `a` (price) of bookTicker: \"-"), "not a positive price"],
        &[],
    );

    // A side Tardis leaves empty is no side, not a bad price.
    let mut gaps = quotes.clone();
    for line in [40, 41, 90] {
        gaps = edit(&gaps, line, 4, |_| String::new());
        gaps = edit(&gaps, line, 5, |_| String::new());
    }
    let f = file("binance-futures_quotes_gaps.csv", &gaps);
    let out = dir.path().join("o");
    let o = tick_run(&[&f], &out, "1", "60").output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn market_fit_on_bad_tick_data_exits_2_with_one_line_with_or_without_holdout() {
    let dir = tempfile::tempdir().unwrap();
    let quotes = std::fs::read_to_string(shared_data(TARDIS_QUOTES)).unwrap();
    let ask = quotes.lines().nth(49).unwrap().split(',').nth(5).unwrap().to_string();
    let neg = dir.path().join("q_neg_ask.csv");
    std::fs::write(&neg, edit(&quotes, 50, 5, |p| format!("-{p}"))).unwrap();
    let junk = dir.path().join("binance-futures_quotes_junk.csv.gz");
    let one = gz(&quotes);
    std::fs::write(&junk, [&one[..], b"garbage after the end\n"].concat()).unwrap();
    let cases = [
        (&neg, format!("q_neg_ask.csv: line 50: column ask_price: \"-{ask}\" is not a positive price")),
        (
            &junk,
            format!(
                "quotes_junk.csv.gz: line 10001: trailing bytes after the end of the gzip stream at byte {}",
                one.len()
            ),
        ),
    ];
    for (data, want) in &cases {
        for holdout in [&[][..], &["--holdout", "0.3", "--iteration-seconds", "10"][..]] {
            let regime = dir.path().join("m.json");
            let o = mmsoak()
                .args(["market", "fit", "--data", s(data), "--out", s(&regime)])
                .args(holdout)
                .output()
                .unwrap();
            let line = the_error(&o);
            assert!(line.starts_with("mmsoak: error: ") && line.contains(want.as_str()), "{holdout:?}: {line}");
            assert!(!regime.exists(), "{holdout:?}: nothing may be written on bad input");
        }
    }
}

/// Overwrites byte `at` of `path` in place (the file keeps its inode and length).
fn poke(path: &Path, at: u64, byte: u8) {
    let mut f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.seek(SeekFrom::Start(at)).unwrap();
    f.write_all(&[byte]).unwrap();
    f.sync_all().unwrap();
}

#[test]
fn data_turning_bad_mid_run_stops_it_with_exit_2_and_a_report_of_what_was_done() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("AMZN_2012-06-21_34200000_57600000_message_5.csv");
    let b = dir.path().join("AMZN_2012-06-21_34200000_57600000_orderbook_5.csv");
    std::fs::write(&m, gunzip(&shared_data(LOBSTER_MSG))).unwrap();
    let books = gunzip(&shared_data(LOBSTER_BOOK));
    std::fs::write(&b, &books).unwrap();
    // Row 150,000 (15:52) is read late in the day, long after the start-of-run scan.
    let row = 150_000;
    let at = books.match_indices('\n').nth(row - 2).unwrap().0 as u64 + 1;
    let original = books.as_bytes()[at as usize];
    let out = dir.path().join("o");
    let (md, html) = (dir.path().join("r.md"), dir.path().join("r.html"));
    // A pause between iterations leaves time to edit the file once the run is under way.
    let child = tick_run(&[&m], &out, "26", "900")
        .args(["--export-md", s(&md), "--export-html", s(&html)])
        .env("SOAK_SLEEP_SECONDS", "0.3")
        // The stamps would see the write first (the test below has them): here the replay meets the bad value.
        .env("MMSOAK_TEST_UNWATCHED", "1")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let first = out.join("latest/ITER_SUMMARY_1.json");
    let t0 = std::time::Instant::now();
    while !first.exists() {
        assert!(t0.elapsed().as_secs() < 120, "the run never finished its first iteration");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // Its modification time set back too, as an edit the stamps of some platforms miss.
    let mtime = std::fs::metadata(&b).unwrap().modified().unwrap();
    poke(&b, at, b'-');
    std::fs::File::options().write(true).open(&b).unwrap().set_modified(mtime).unwrap();
    let o = child.wait_with_output().unwrap();
    let line = the_error(&o);
    assert!(
        line.contains(&format!("orderbook_5.csv: line {row}: ask_px_1 -")) && line.contains("is not a price"),
        "{line}"
    );
    let report = json(out.join("latest/TUNING_REPORT.json"));
    let done = report["iterations_completed"].as_u64().unwrap();
    assert!((1..26).contains(&done), "stopped after {done}");
    assert!(line.contains(&format!("the run stopped after iteration {done} of 26")), "{line}");
    assert!(line.contains("changed since the run started") && line.contains("--resume"), "{line}");
    for i in 1..=done {
        assert!(out.join(format!("latest/ITER_SUMMARY_{i}.json")).exists(), "summary {i} lost");
    }
    assert!(!out.join(format!("latest/ITER_SUMMARY_{}.json", done + 1)).exists());
    assert_eq!(json(out.join("latest/TUNING_STATE.json"))["iteration"].as_u64(), Some(done));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("STOPPED after iteration {done} of 26: bad market data")), "{err}");
    // The reports say so under their title, with the error's file, line and value.
    let text = std::fs::read_to_string(&md).unwrap();
    let said = text.lines().nth(2).unwrap();
    let head = format!("**STOPPED after iteration {done} of 26:** bad market data: `");
    assert!(said.starts_with(&head) && said.ends_with('`'), "{said}");
    assert!(
        said.contains(&format!("orderbook_5.csv: line {row}: ask_px_1 -")) && said.contains("is not a price"),
        "{said}"
    );
    let page = std::fs::read_to_string(&html).unwrap();
    let head = format!(
        "<h1>mmsoak soak report</h1>\n<p class=\"verdict broken\"><strong>STOPPED after iteration {done} of 26:</strong> \
         bad market data: <code>"
    );
    let from = page.find(&head).unwrap_or_else(|| panic!("{page}"));
    let said = &page[from..from + page[from..].find("</p>").unwrap()];
    assert!(said.contains(&format!("orderbook_5.csv: line {row}: ask_px_1 -")), "{said}");

    // --resume refuses the edited file, naming it; restored, the run goes on to the end.
    let resume = || {
        let mut cmd = mmsoak();
        cmd.args(["run", "--resume", "--engine", "native", "--out", s(&out)]);
        cmd.output().unwrap()
    };
    let line = the_error(&resume());
    assert!(line.contains("orderbook_5.csv changed since the run started"), "{line}");
    poke(&b, at, original);
    let o = resume();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(json(out.join("latest/TUNING_REPORT.json"))["iterations_completed"], 26);
}

/// Where the `n`th line from the end of `text` starts.
fn lines_from_end(text: &str, n: usize) -> usize {
    text.len() - text.lines().rev().take(n).map(|l| l.len() + 1).sum::<usize>()
}

/// Writes over one digit of the ask price of the `n`th line from the end of
/// `path` (holding `text`), in place: 9682 becomes 9692, still valid data.
fn bump_price(path: &Path, text: &str, n: usize) {
    let at = lines_from_end(text, n);
    let line = text[at..].lines().next().unwrap();
    let col = line.match_indices(',').nth(4).unwrap().0 + 3;
    let old = line.as_bytes()[col];
    assert!(old.is_ascii_digit(), "{line}");
    poke(path, (at + col) as u64, if old == b'9' { b'8' } else { old + 1 });
}

/// A stopped run's artifacts: iterations 1..=done kept, none after.
fn kept(out: &Path, done: u64) {
    for i in 1..=done {
        assert!(out.join(format!("latest/ITER_SUMMARY_{i}.json")).exists(), "summary {i} lost");
    }
    assert!(!out.join(format!("latest/ITER_SUMMARY_{}.json", done + 1)).exists());
    assert_eq!(json(out.join("latest/TUNING_STATE.json"))["iteration"].as_u64(), Some(done));
    assert_eq!(json(out.join("latest/TUNING_REPORT.json"))["iterations_completed"].as_u64(), Some(done));
}

/// The bug: a tick file changed after the start-of-run checks, in data not yet
/// replayed, was replayed as changed when the change parses. Now each iteration
/// checks the files' stamps before it is kept, and a change stops the run as bad
/// data does: exit 2, the iterations before it kept, one line naming the file and
/// what changed; --resume goes on once the bytes are back.
#[test]
fn a_tick_file_changed_between_iterations_stops_the_run_naming_the_change() {
    type Change = fn(&Path, &str);
    let cases: [(&str, Change); 5] = [
        ("was written to (same size)", |p, text| bump_price(p, text, 3)),
        ("grew from", |p, text| {
            let last = text.lines().last().unwrap().to_string();
            let mut f = std::fs::OpenOptions::new().append(true).open(p).unwrap();
            f.write_all(format!("{last}\n").as_bytes()).unwrap();
        }),
        ("was cut from", |p, text| {
            std::fs::OpenOptions::new()
                .write(true)
                .open(p)
                .unwrap()
                .set_len(lines_from_end(text, 20_000) as u64)
                .unwrap();
        }),
        ("was replaced by another file", |p, text| {
            let tmp = p.with_extension("tmp");
            std::fs::write(&tmp, text).unwrap();
            std::fs::rename(&tmp, p).unwrap();
        }),
        ("was removed or can no longer be read", |p, _| std::fs::remove_file(p).unwrap()),
    ];
    for (how, change) in cases {
        let dir = tempfile::tempdir().unwrap();
        let (data, text) = common::tiled_quotes_copies(dir.path(), 10);
        let out = dir.path().join("o");
        let md = dir.path().join("r.md");
        let cmd = {
            let mut cmd = tick_run(&[&data], &out, "30", "60");
            cmd.args(["--export-md", s(&md)]);
            cmd
        };
        let o = paused_at(cmd, dir.path(), 2, || change(&data, &text));
        let line = the_error(&o);
        let said = format!("{} {how}", data.display());
        assert!(line.starts_with(&format!("mmsoak: error: {said}")), "{how}: {line}");
        // The file is named once, saying what happened to it.
        assert_eq!(line.matches(&data.display().to_string()).count(), 1, "{how}: {line}");
        let how_far = "the run stopped after iteration 2 of 30 (its summaries and TUNING_REPORT cover those)";
        let resume = format!("`mmsoak run --resume --out {}`", out.display());
        if how == "was replaced by another file" {
            // The same bytes under a new inode: said as one fact, and --resume goes on.
            assert_eq!(
                line,
                format!(
                    "mmsoak: error: {said} during the run; it still holds the bytes the run started with (the sha256 \
                     in its latest/RUN.json), so nothing replayed differed, but {how_far}, as a change is seen \
                     before the bytes can be compared; continue with {resume}"
                )
            );
        } else {
            assert!(
                line.ends_with(&format!(
                    " during the run, so the rest of the run would not replay the bytes it started with (the \
                     sha256 in its latest/RUN.json); {how_far}; restore it and continue with {resume}, or start a \
                     new run"
                )),
                "{how}: {line}"
            );
        }
        assert!(line.contains("the run stopped after iteration 2 of 30"), "{how}: {line}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("STOPPED after iteration 2 of 30: a market data file changed"), "{how}: {err}");
        kept(&out, 2);
        let report = std::fs::read_to_string(&md).unwrap();
        // Written before the sha256 is compared, the report says what the stamp
        // saw: a same-size change, not yet told from a touch.
        let seen = match how {
            "was written to (same size)" => format!("{} had its modification time moved (same size)", data.display()),
            _ => said.clone(),
        };
        assert!(
            report.contains("**STOPPED after iteration 2 of 30:** a market data file changed: `")
                && report.contains(&seen)
                && report.contains(" during the run`"),
            "{how}: {report}"
        );
        if how == "grew from" {
            assert!(line.contains(&format!("grew from {} to", text.len())), "{line}");
            // Back as it was: --resume goes on to the end.
            std::fs::OpenOptions::new().write(true).open(&data).unwrap().set_len(text.len() as u64).unwrap();
            let o = mmsoak().args(["run", "--resume", "--engine", "native", "--out", s(&out)]).output().unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            assert_eq!(json(out.join("latest/TUNING_REPORT.json"))["iterations_completed"], 30);
        }
    }
}

/// `--resume` stamps the files as it opens them (after checking their sha256)
/// and checks the stamps after every iteration as a fresh run does.
#[test]
fn a_tick_file_changed_during_a_resumed_run_stops_it() {
    let dir = tempfile::tempdir().unwrap();
    let (data, text) = common::tiled_quotes_copies(dir.path(), 10);
    let out = dir.path().join("o");
    // A run stopped after iteration 2 by a file that grew, then restored.
    let o = paused_at(tick_run(&[&data], &out, "30", "60"), dir.path(), 2, || {
        std::fs::OpenOptions::new().append(true).open(&data).unwrap().write_all(b"\n").unwrap();
    });
    assert!(the_error(&o).contains("the run stopped after iteration 2 of 30"));
    std::fs::write(&data, &text).unwrap();
    // Resumed, and written to after its first new iteration: it stops after that one.
    let mut resume = mmsoak();
    resume.args(["run", "--resume", "--engine", "native", "--out", s(&out)]);
    let o = paused_at(resume, dir.path(), 3, || bump_price(&data, &text, 1));
    let line = the_error(&o);
    assert!(
        line.starts_with(&format!("mmsoak: error: {} was written to (same size) during the run, so", data.display())),
        "{line}"
    );
    assert!(line.contains("the run stopped after iteration 3 of 30"), "{line}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("resuming"), "{}", String::from_utf8_lossy(&o.stderr));
    kept(&out, 3);
}

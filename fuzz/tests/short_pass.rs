//! The short pass CI runs (scripts/test.sh): every target, 2,000 mutated inputs,
//! no panic, and every error names the file or variable it is about.

use mmsoak_fuzz::run_target;
use mmsoak_fuzz::targets::TARGETS;

#[test]
fn no_outside_input_crashes_a_parser_and_every_error_names_its_source() {
    let out = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let mut rows = Vec::new();
    for t in &TARGETS {
        let tally = run_target(t, 2_000, 16, out.path()).unwrap();
        assert_eq!(tally.inputs, 2_000);
        // The mutator must reach both outcomes, or the target tests nothing.
        assert!(
            tally.ok > 0 && tally.err > 0,
            "{}: ok {} err {}: the corpus is not exercising it",
            t.name,
            tally.ok,
            tally.err
        );
        if let Some(first) = &tally.first {
            failures
                .push(format!("{}: {} panics, {} unnamed errors; first: {first}", t.name, tally.panics, tally.unnamed));
        }
        rows.push((t.name, tally));
    }
    eprintln!("{}", mmsoak_fuzz::table(&rows));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

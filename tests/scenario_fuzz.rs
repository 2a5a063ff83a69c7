//! The scenario parser against bad input: random bytes, and the bundled scenarios mutated (bytes
//! flipped, ranges deleted or repeated, cut short, lines spliced in from other scenarios, odd
//! tokens inserted). Parsing never panics; every error is one line naming file:line:column that
//! exist in the text. The same parser has a cargo-fuzz target in `fuzz/` for longer runs.

use backlog::control::scenario::{self, BUNDLED, Scenario};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

const FILE: &str = "fuzzed.toml";

/// Parses `text` and checks the error, or the scenario, for what the parser promises.
fn check(text: &str) -> Result<(), TestCaseError> {
    match scenario::parse(text, FILE, "fuzzed") {
        Ok(s) => check_scenario(&s),
        Err(e) => {
            let shown = e.to_string();
            let place = format!("{FILE}:{}:{}: ", e.line, e.column);
            prop_assert!(shown.starts_with(&place), "{shown:?}");
            prop_assert!(
                !shown.contains('\n') && !shown.contains('\r'),
                "not one line: {shown:?}"
            );
            prop_assert!(!e.message.trim().is_empty(), "no message: {shown:?}");
            // The place exists in the text (one past the end for "expected more").
            let lines = text.split('\n').count();
            prop_assert!(e.line >= 1 && e.line <= lines, "{shown:?} in {lines} lines");
            let line_chars = text
                .split('\n')
                .nth(e.line - 1)
                .unwrap_or("")
                .chars()
                .count();
            prop_assert!(
                e.column >= 1 && e.column <= line_chars + 1,
                "{shown:?}: line {} has {line_chars} characters",
                e.line
            );
            Ok(())
        }
    }
}

/// A scenario that parsed is usable: steps in time order, an end after 0, printable steps.
fn check_scenario(s: &Scenario) -> Result<(), TestCaseError> {
    prop_assert!(s.steps.windows(2).all(|w| w[0].at_ns <= w[1].at_ns));
    prop_assert!(s.end.at.is_none_or(|at| !at.is_zero()));
    prop_assert!(s.end.events.is_none_or(|n| n > 0));
    prop_assert!(!s.description.contains('\n'));
    for step in &s.steps {
        for line in scenario::log_lines(step, step.at_ns) {
            prop_assert!(!line.contains('\n'), "{line:?}");
        }
    }
    Ok(())
}

/// Odd things to splice in: table headers, keys, quotes, numbers at and past every limit.
const TOKENS: &[&str] = &[
    "[start]\n",
    "[[step]]\n",
    "[end]\n",
    "[step]\n",
    "at = ",
    "rate = ",
    "workers = ",
    "service = ",
    "queue_cap = ",
    "fail_rate = ",
    "events = ",
    "\"",
    "'''",
    "\"\"\"",
    "=",
    "[",
    "]",
    "{",
    "}",
    ",",
    "#",
    "\n",
    "\r\n",
    "\t",
    "\\",
    "\\u0000",
    "0",
    "-1",
    "1e309",
    "-0.0",
    "nan",
    "inf",
    "9223372036854775807",
    "-9223372036854775808",
    "99999999999999999999",
    "\"1e400/s\"",
    "\"0/s\"",
    "\"NaN/s\"",
    "\"99999999999h\"",
    "\"18446744073709551615ns\"",
    "\"1.5\"",
    "\"unbounded\"",
    "true",
    "1979-05-27T07:32:00Z",
    "µ",
    "日本",
    "\u{2028}",
    "\u{feff}",
];

/// Keys the parser knows (and a few it does not), for text shaped like a scenario.
const KEYS: &[&str] = &[
    "description",
    "at",
    "caption",
    "arrival",
    "rate",
    "burst",
    "service",
    "service_dist",
    "work",
    "workers",
    "max_workers",
    "queue_cap",
    "overflow",
    "fail_rate",
    "paused",
    "pause",
    "seed",
    "reset_stats",
    "events",
    "worker",
    r#""a\nb""#,
];

/// Values of every TOML type, at and past the limits, and strings with line breaks, escapes
/// and control characters in them (error messages quote values).
const VALUES: &[&str] = &[
    "0",
    "1",
    "-1",
    "3",
    "4096",
    "4097",
    "9223372036854775807",
    "-9223372036854775808",
    "0.5",
    "1.5",
    "-0.0",
    "1e309",
    "nan",
    "inf",
    "-inf",
    "true",
    "false",
    r#""""#,
    r#""5s""#,
    r#""0""#,
    r#""250ms""#,
    r#""24h""#,
    r#""25h""#,
    r#""-1s""#,
    r#""99999999999999h""#,
    r#""2.5/s""#,
    r#""0/s""#,
    r#""1e400/s""#,
    r#""10000001/s""#,
    r#""NaN/s""#,
    r#""fixed""#,
    r#""bursty""#,
    r#""cpu""#,
    r#""drop-old""#,
    r#""unbounded""#,
    r#""a\nb""#,
    r#""x\ry""#,
    r#""\u001b[2J""#,
    r#""\t""#,
    "\"\"\"\nmulti\nline\"\"\"",
    "'''\nraw\n'''",
    "[]",
    r#"[1, "a\nb"]"#,
    "{}",
    r#"{ a = "x\ny" }"#,
    "1979-05-27T07:32:00Z",
    "07:32:00",
];

const HEADERS: &[&str] = &[
    "",
    "[start]",
    "[[step]]",
    "[end]",
    "[step]",
    "[[end]]",
    "[start.x]",
];

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 20_000,
        rng_seed: RngSeed::Fixed(7),
        ..ProptestConfig::default()
    })]

    /// Tables of known keys with values of every type: reaches the checks behind the TOML
    /// parser (ranges, units, names, order of steps) far more often than random bytes.
    #[test]
    fn scenario_shaped_text_never_panics_the_parser(
        tables in prop::collection::vec(
            (
                0..HEADERS.len(),
                prop::collection::vec((0..KEYS.len(), 0..VALUES.len()), 0..6),
            ),
            0..6,
        )
    ) {
        let mut text = String::new();
        for (header, pairs) in tables {
            text.push_str(HEADERS[header]);
            text.push('\n');
            for (key, value) in pairs {
                text.push_str(&format!("{} = {}\n", KEYS[key], VALUES[value]));
            }
        }
        check(&text)?;
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    /// Replace the byte at (a fraction of the length) with this one.
    Flip(f64, u8),
    /// Delete this many bytes from there.
    Delete(f64, usize),
    /// Repeat this many bytes from there.
    Duplicate(f64, usize),
    /// Keep this fraction of the text.
    Truncate(f64),
    /// Insert line `k` of bundled scenario `j` before line `i` (fractions of the counts).
    Splice(f64, usize, f64),
    /// Insert a token at a fraction of the length.
    Insert(f64, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = 0.0..1.0f64;
    prop_oneof![
        1 => (at.clone(), any::<u8>()).prop_map(|(p, b)| Mutation::Flip(p, b)),
        1 => (at.clone(), 1usize..40).prop_map(|(p, n)| Mutation::Delete(p, n)),
        1 => (at.clone(), 1usize..80).prop_map(|(p, n)| Mutation::Duplicate(p, n)),
        1 => at.clone().prop_map(Mutation::Truncate),
        1 => (at.clone(), 0..BUNDLED.len(), at.clone())
            .prop_map(|(i, j, k)| Mutation::Splice(i, j, k)),
        2 => (at, 0..TOKENS.len()).prop_map(|(p, t)| Mutation::Insert(p, t)),
    ]
}

/// A byte position at fraction `p` of `len`.
fn pos(p: f64, len: usize) -> usize {
    ((p * len as f64) as usize).min(len)
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let len = bytes.len();
    match *m {
        Mutation::Flip(p, b) if len > 0 => {
            let i = pos(p, len - 1);
            bytes[i] = b;
        }
        Mutation::Flip(..) => {}
        Mutation::Delete(p, n) => {
            let i = pos(p, len);
            bytes.drain(i..(i + n).min(len));
        }
        Mutation::Duplicate(p, n) => {
            let i = pos(p, len);
            let copy = bytes[i..(i + n).min(len)].to_vec();
            bytes.splice(i..i, copy);
        }
        Mutation::Truncate(p) => bytes.truncate(pos(p, len)),
        Mutation::Splice(i, j, k) => {
            let donor: Vec<&str> = BUNDLED[j].1.lines().collect();
            let line = donor[pos(k, donor.len() - 1)];
            let text = String::from_utf8_lossy(bytes).into_owned();
            let mut lines: Vec<&str> = text.split('\n').collect();
            lines.insert(pos(i, lines.len()), line);
            *bytes = lines.join("\n").into_bytes();
        }
        Mutation::Insert(p, t) => {
            let i = pos(p, len);
            bytes.splice(i..i, TOKENS[t].bytes());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 10_000,
        rng_seed: RngSeed::Fixed(6),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_bytes_never_panic_the_parser(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        // The parser takes text; a file that is not UTF-8 is refused when read (see below).
        check(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn random_toml_like_text_never_panics_the_parser(
        parts in prop::collection::vec(
            prop_oneof![(0..TOKENS.len()).prop_map(|t| TOKENS[t].to_string()), "[a-z_]{1,12}", " "],
            0..60,
        )
    ) {
        check(&parts.concat())?;
    }

    #[test]
    fn mutated_bundled_scenarios_never_panic_the_parser(
        which in 0..BUNDLED.len(),
        mutations in prop::collection::vec(mutation(), 1..8),
    ) {
        let mut bytes = BUNDLED[which].1.as_bytes().to_vec();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        check(&String::from_utf8_lossy(&bytes))?;
    }
}

#[test]
fn a_file_that_is_not_utf8_is_a_one_line_error() {
    let path = std::env::temp_dir().join(format!("backlog-fuzz-{}.toml", std::process::id()));
    std::fs::write(&path, b"[start]\nrate = \"\xff\xfe/s\"\n").unwrap();
    let err = scenario::load(path.to_str().unwrap())
        .expect_err("not UTF-8")
        .to_string();
    std::fs::remove_file(&path).ok();
    assert!(err.contains("--scenario: cannot read"), "{err}");
    assert!(!err.contains('\n'), "{err}");
}

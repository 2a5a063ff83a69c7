//! Scenario files from arbitrary bytes: the parser must never panic, and every error must be one
//! line naming file:line:column. Run with `cargo +nightly fuzz run scenario` from the crate root;
//! the bundled scenarios in `../assets/scenarios/` make a good starting corpus.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Files are read as UTF-8 (anything else is refused before parsing).
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = backlog::scenario::parse(text, "fuzz.toml", "fuzz") {
        let shown = e.to_string();
        assert!(
            shown.starts_with(&format!("fuzz.toml:{}:{}: ", e.line, e.column)),
            "{shown:?}"
        );
        assert!(!shown.contains('\n') && !shown.contains('\r'), "{shown:?}");
    }
});

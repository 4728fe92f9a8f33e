//! Fuzz target `rewrite`: see `fuzz/checks.rs` for what it checks.

#![no_main]

#[allow(dead_code)]
#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::rewrite(data));

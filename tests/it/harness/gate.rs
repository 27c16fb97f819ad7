//! Tests that need something from outside Rust (Debian's Chromium, node with the OpenID
//! provider) run by one switch each: `1` they must (a missing tool fails them), `0` they are
//! skipped, unset they run where the tools are. A skip is said once per test process.

use std::io::Write;
use std::sync::Once;

/// One group of such tests.
pub struct Gate {
    /// The environment variable, e.g. `MSB_BROWSER_TESTS`.
    pub switch: &'static str,
    /// Who they are, for the skip line ("browser tests").
    pub name: &'static str,
    /// How to install what they need (said when `1` finds it missing and when skipping).
    pub install: &'static str,
    /// The command that runs just them.
    pub run: &'static str,
    /// Guards the one skip line.
    pub said: &'static Once,
}

impl Gate {
    /// Whether the tests run here, given what is `missing`. Panics when they must and cannot,
    /// or when the switch holds anything but `1` or `0`.
    pub fn runs(&self, missing: &[String]) -> bool {
        let switch = self.switch;
        match std::env::var(switch).as_deref() {
            Ok("1") => {
                assert!(
                    missing.is_empty(),
                    "{switch}=1 but {} missing: run {} (.ci/run does).",
                    missing.join(" and "),
                    self.install
                );
                true
            }
            Ok("0") => self.skipped(&format!("{switch}=0")),
            Err(std::env::VarError::NotPresent) if missing.is_empty() => true,
            Err(std::env::VarError::NotPresent) => {
                self.skipped(&format!("{} missing", missing.join(", ")))
            }
            Ok(other) => panic!("{switch} is {other:?}: set it to 1 (run, as CI does) or 0 (skip)"),
            Err(error) => panic!("{switch}: {error}"),
        }
    }

    /// Says once, on the terminal (libtest captures `eprintln!` of a passing test), that the
    /// tests were skipped and how to run them; answers `false`.
    fn skipped(&self, why: &str) -> bool {
        self.said.call_once(|| {
            let line = format!(
                "\n{} SKIPPED ({why}): to run them, {} and `{}=1 {}`\n",
                self.name, self.install, self.switch, self.run
            );
            let _ = std::io::stderr().write_all(line.as_bytes());
        });
        false
    }
}

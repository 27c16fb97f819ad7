//! The dependency tree, checked offline from `cargo metadata --locked --offline` (what
//! `cargo deny check sources bans licenses` would say, without building cargo-deny): every
//! package comes from crates.io or this repository, none is banned, and each one's license
//! expression is satisfied by the allow-list below.
//!
//! The allow-list is today's tree: adding a dependency under another license is a decision to
//! make here, on purpose. `cargo test --test it dependencies::` runs it alone.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

/// Licenses every package may be used under (SPDX ids): the fewest today's tree needs (where a
/// package offers a choice, the choice is one of these).
const ALLOWED: &[&str] = &[
    "0BSD",
    "Apache-2.0",
    "BSD-3-Clause",
    "ISC",
    "MIT",
    // File-level copyleft; only `webdriver`, a dev-dependency of the browser tests (fantoccini).
    "MPL-2.0",
    "Unicode-3.0",
    "Zlib",
];

/// Packages that must not be in the tree, and why.
const BANNED: &[(&str, &str)] = &[
    (
        "openssl-sys",
        "TLS is rustls (aws-lc-rs); OpenSSL would be a second stack",
    ),
    (
        "openssl",
        "TLS is rustls (aws-lc-rs); OpenSSL would be a second stack",
    ),
    (
        "native-tls",
        "TLS is rustls (aws-lc-rs); OpenSSL would be a second stack",
    ),
];

/// Packages that may be in the tree once only (two copies of SQLite would be two libraries
/// in one binary, each with its own locks).
const ONE_COPY: &[&str] = &["rusqlite", "libsqlite3-sys"];

const CRATES_IO: &str = "registry+https://github.com/rust-lang/crates.io-index";

/// The `cargo metadata` record of every package built on this platform (read once a run).
fn packages() -> &'static [Value] {
    static PACKAGES: OnceLock<Vec<Value>> = OnceLock::new();
    PACKAGES.get_or_init(read_packages)
}

fn read_packages() -> Vec<Value> {
    let host = String::from_utf8(
        Command::new("rustc")
            .arg("-vV")
            .output()
            .expect("run rustc -vV")
            .stdout,
    )
    .expect("UTF-8");
    let host = host
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .expect("rustc names its host");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--locked",
            "--offline",
            "--format-version",
            "1",
            "--filter-platform",
            host,
            "--manifest-path",
            concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"),
        ])
        .output()
        .expect("run cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata --locked --offline failed (build first, so every package is here): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("metadata JSON");
    metadata["packages"]
        .as_array()
        .expect("a package list")
        .clone()
}

fn id(package: &Value) -> String {
    format!("{} {}", package["name"], package["version"]).replace('"', "")
}

#[test]
fn every_package_comes_from_crates_io_or_this_repository() {
    let strays: Vec<String> = packages()
        .iter()
        .filter(|p| !(p["source"].is_null() || p["source"] == CRATES_IO))
        .map(|p| format!("{} from {}", id(p), p["source"]))
        .collect();
    assert!(strays.is_empty(), "packages from elsewhere: {strays:#?}");
}

#[test]
fn no_banned_package_and_one_sqlite() {
    let packages = packages();
    for (banned, why) in BANNED {
        let found: Vec<String> = packages
            .iter()
            .filter(|p| p["name"] == *banned)
            .map(id)
            .collect();
        assert!(found.is_empty(), "{found:?} is banned: {why}");
    }
    let mut copies: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for package in packages {
        if let Some(name) = ONE_COPY.iter().find(|n| package["name"] == **n) {
            copies.entry(name).or_default().push(id(package));
        }
    }
    for name in ONE_COPY {
        let found = copies.get(name).map_or(0, Vec::len);
        assert_eq!(
            found,
            1,
            "{name}: one copy wanted, found {:?}",
            copies.get(name)
        );
    }
}

#[test]
fn every_license_is_allowed() {
    let refused: Vec<String> = packages()
        .iter()
        .filter(|p| {
            p["license"]
                .as_str()
                .is_none_or(|license| !Expression::parse(license).is_some_and(|e| e.allowed()))
        })
        .map(|p| format!("{}: {}", id(p), p["license"]))
        .collect();
    assert!(
        refused.is_empty(),
        "licenses outside the allow-list (tests/it/dependencies.rs): {refused:#?}"
    );
}

#[test]
fn license_expressions_are_read_as_spdx_says() {
    let allowed = |text: &str| Expression::parse(text).is_some_and(|e| e.allowed());
    assert!(allowed("MIT OR Apache-2.0"));
    assert!(allowed("MIT/Apache-2.0"), "the old slash is an OR");
    assert!(
        allowed("Apache-2.0 OR GPL-2.0-only"),
        "one allowed choice is enough"
    );
    assert!(!allowed("GPL-3.0-only"));
    assert!(
        !allowed("MIT AND GPL-3.0-only"),
        "every AND term must be allowed"
    );
    assert!(allowed("(MIT OR Apache-2.0) AND Unicode-3.0"));
    assert!(allowed("Apache-2.0 WITH LLVM-exception OR MIT"));
    assert!(
        !allowed("Apache-2.0 WITH LLVM-exception"),
        "an exception is part of the id"
    );
    assert!(!allowed("GPL-2.0-only WITH Classpath-exception-2.0"));
    assert!(allowed(
        "ISC AND (Apache-2.0 OR ISC) AND Apache-2.0 AND MIT AND BSD-3-Clause AND \
         (Apache-2.0 OR ISC OR MIT) AND (Apache-2.0 OR ISC OR MIT-0)"
    ));
    assert!(Expression::parse("MIT OR").is_none());
    assert!(Expression::parse("(MIT").is_none());
}

/// An SPDX license expression: `AND` binds tighter than `OR`; `/` is an old spelling of `OR`.
enum Expression {
    License(String),
    All(Vec<Expression>),
    Any(Vec<Expression>),
}

impl Expression {
    fn parse(text: &str) -> Option<Self> {
        let spaced = text
            .replace('(', " ( ")
            .replace(')', " ) ")
            .replace('/', " OR ");
        let tokens: Vec<&str> = spaced.split_whitespace().collect();
        let mut at = 0;
        let expression = Self::any(&tokens, &mut at)?;
        (at == tokens.len()).then_some(expression)
    }

    fn any(tokens: &[&str], at: &mut usize) -> Option<Self> {
        let mut terms = vec![Self::all(tokens, at)?];
        while tokens.get(*at) == Some(&"OR") {
            *at += 1;
            terms.push(Self::all(tokens, at)?);
        }
        Some(Self::Any(terms))
    }

    fn all(tokens: &[&str], at: &mut usize) -> Option<Self> {
        let mut terms = vec![Self::one(tokens, at)?];
        while tokens.get(*at) == Some(&"AND") {
            *at += 1;
            terms.push(Self::one(tokens, at)?);
        }
        Some(Self::All(terms))
    }

    fn one(tokens: &[&str], at: &mut usize) -> Option<Self> {
        let token = *tokens.get(*at)?;
        *at += 1;
        if token == "(" {
            let inner = Self::any(tokens, at)?;
            (tokens.get(*at) == Some(&")")).then_some(())?;
            *at += 1;
            return Some(inner);
        }
        if matches!(token, ")" | "AND" | "OR" | "WITH") {
            return None;
        }
        if tokens.get(*at) == Some(&"WITH") {
            let exception = tokens.get(*at + 1)?;
            *at += 2;
            return Some(Self::License(format!("{token} WITH {exception}")));
        }
        Some(Self::License(token.to_owned()))
    }

    fn allowed(&self) -> bool {
        match self {
            Self::License(id) => ALLOWED.contains(&id.as_str()),
            Self::All(terms) => terms.iter().all(Self::allowed),
            Self::Any(terms) => terms.iter().any(Self::allowed),
        }
    }
}

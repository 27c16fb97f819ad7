//! The source tree keeps its layers (docs/architecture.md): read `src/` as text and check who
//! imports whom. Comments and `#[cfg(test)]` modules are left out; only `crate::…` and
//! `super::…` paths count, resolved to the longest module that exists.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The faces over the domain: they may use Rocket and each other's shared parts, nothing
/// below may use them.
const FRAMEWORK_FACING: &[&str] = &["web", "api", "cli", "startup", "config", "logging", "ops"];

/// The most lines of code (tests excluded) one file may have.
const MAX_LINES: usize = 450;

struct Module {
    path: String,
    file: PathBuf,
    code: String,
}

fn source_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/web/pages/history/list.rs` → `crate::web::pages::history::list`; `mod.rs` names its folder.
fn module_path(root: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(root).expect("under src");
    let mut parts: Vec<String> = relative
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    std::iter::once("crate".to_owned())
        .chain(parts)
        .collect::<Vec<_>>()
        .join("::")
}

/// The file without its tests and without comments (which may name paths freely).
fn code_of(text: &str) -> String {
    let without_tests = text.split("#[cfg(test)]").next().unwrap_or("");
    without_tests
        .lines()
        .map(|line| match line.find("//") {
            // A `//` inside a string (a URL) is rare in imports; cutting it only loses text.
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn modules() -> Vec<Module> {
    let root = source_root();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files.sort();
    files
        .into_iter()
        .filter(|file| !file.ends_with("main.rs"))
        .map(|file| {
            let text = std::fs::read_to_string(&file).expect("read source");
            Module {
                path: module_path(&root, &file),
                code: code_of(&text),
                file,
            }
        })
        .collect()
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Reads `a::b::{c, d::e}` from the start of `text` into full paths under `prefix`.
fn read_paths(text: &str, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    let mut path = prefix;
    let mut rest = text;
    loop {
        let ident: String = rest.chars().take_while(|&c| is_ident(c)).collect();
        if ident.is_empty() {
            if let Some(group) = rest.strip_prefix('{') {
                let mut depth = 0;
                let mut start = 0;
                for (at, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => {
                            read_paths(group[start..at].trim(), path.clone(), out);
                            return;
                        }
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            read_paths(group[start..at].trim(), path.clone(), out);
                            start = at + 1;
                        }
                        _ => {}
                    }
                }
            }
            out.push(path);
            return;
        }
        rest = &rest[ident.len()..];
        path.push(ident);
        match rest.strip_prefix("::") {
            Some(more) => rest = more,
            None => {
                out.push(path);
                return;
            }
        }
    }
}

/// Every module path `module` names through `crate::` or `super::`.
fn named_paths(module: &Module) -> Vec<Vec<String>> {
    let own: Vec<String> = module.path.split("::").map(str::to_owned).collect();
    let mut out = Vec::new();
    let code = &module.code;
    for (at, _) in code
        .match_indices("crate::")
        .chain(code.match_indices("super::"))
    {
        if code[..at]
            .chars()
            .next_back()
            .is_some_and(|c| is_ident(c) || c == ':')
        {
            continue; // the tail of a longer path, e.g. `super::super::`
        }
        let mut rest = &code[at..];
        let base = if let Some(more) = rest.strip_prefix("crate::") {
            rest = more;
            vec!["crate".to_owned()]
        } else {
            // `super` is the parent module, for a file (`a/b.rs`) and a folder (`a/b/mod.rs`)
            // alike.
            let mut base = own.clone();
            while let Some(more) = rest.strip_prefix("super::") {
                base.pop();
                rest = more;
            }
            base
        };
        read_paths(rest, base, &mut out);
    }
    out
}

/// Who imports whom, by module, leaving out a module's own ancestors (a child reading its
/// parent's items is how Rust folders work).
fn import_graph(modules: &[Module]) -> BTreeMap<String, BTreeSet<String>> {
    let known: BTreeSet<&str> = modules.iter().map(|m| m.path.as_str()).collect();
    let resolve = |path: &[String]| {
        (1..=path.len())
            .rev()
            .map(|n| path[..n].join("::"))
            .find(|candidate| known.contains(candidate.as_str()))
    };
    modules
        .iter()
        .map(|module| {
            let targets = named_paths(module)
                .iter()
                .filter_map(|path| resolve(path))
                .filter(|target| {
                    target != &module.path && !module.path.starts_with(&format!("{target}::"))
                })
                .collect();
            (module.path.clone(), targets)
        })
        .collect()
}

/// `crate::web::history::list` → `web`.
fn top(path: &str) -> &str {
    path.split("::").nth(1).unwrap_or("")
}

#[test]
fn the_reader_sees_every_module() {
    let modules = modules();
    let paths: BTreeSet<&str> = modules.iter().map(|m| m.path.as_str()).collect();
    for expected in [
        "crate::web::pages::history::list",
        "crate::api::balance::request",
        "crate::runs::planner",
        "crate::db::history",
    ] {
        assert!(
            paths.contains(expected),
            "{expected} not found in {paths:?}"
        );
    }
    // The reader itself: a grouped import resolves to each of its modules.
    let graph = import_graph(&modules);
    let planner = &graph["crate::runs::planner"];
    assert!(
        planner.iter().any(|t| t.starts_with("crate::")),
        "{planner:?}"
    );
}

#[test]
fn web_and_api_never_import_each_other() {
    for (module, targets) in import_graph(&modules()) {
        for target in targets {
            let pair = (top(&module), top(&target));
            assert!(
                !matches!(pair, ("web", "api") | ("api", "web")),
                "{module} imports {target}"
            );
        }
    }
}

#[test]
fn the_domain_never_imports_a_face_or_the_web_framework() {
    for module in modules() {
        let layer = top(&module.path);
        if layer.is_empty() || FRAMEWORK_FACING.contains(&layer) {
            continue;
        }
        assert!(
            !module.code.contains("rocket::") && !module.code.contains("use rocket"),
            "{} uses Rocket",
            module.path
        );
    }
    for (module, targets) in import_graph(&modules()) {
        let layer = top(&module);
        if layer.is_empty() || FRAMEWORK_FACING.contains(&layer) {
            continue;
        }
        for target in targets {
            assert!(
                !FRAMEWORK_FACING.contains(&top(&target)),
                "{module} imports {target}"
            );
        }
    }
}

#[test]
fn a_page_never_imports_another_page_and_the_kit_no_page() {
    let modules = modules();
    // A page is a module right under `web::pages` that mounts routes of its own.
    let pages: BTreeSet<String> = modules
        .iter()
        .filter(|m| m.path.starts_with("crate::web::pages::") && m.path.split("::").count() == 4)
        .filter(|m| m.code.contains("pub fn routes("))
        .map(|m| m.path.clone())
        .collect();
    assert!(pages.len() >= 8, "pages found: {pages:?}");
    let page_of = |path: &str| {
        pages
            .iter()
            .find(|page| path == page.as_str() || path.starts_with(&format!("{page}::")))
            .cloned()
    };
    for (module, targets) in import_graph(&modules) {
        let own = page_of(&module);
        let in_kit = module.starts_with("crate::web::kit");
        for target in targets {
            let Some(other) = page_of(&target) else {
                continue;
            };
            assert!(!in_kit, "{module} (shared) imports the page {target}");
            if let Some(own) = &own {
                assert_eq!(&other, own, "{module} imports the page {target}");
            }
        }
    }
}

/// The layers of docs/architecture.md, top first: a module may import its own layer and the
/// ones below it, never one above.
const LAYERS: &[&[&str]] = &[
    &["web", "api", "cli", "startup"],
    &["ops"],
    &["scheduler"],
    &["runs"],
    &[
        "auth",
        "keyring",
        "known_models",
        "presets",
        "monitors",
        "notify",
    ],
    &["db"],
    &[
        "modelscope",
        "crypto",
        "config",
        "ids",
        "clock",
        "closed_set",
        "names",
        "pace",
        "i18n",
        "telemetry",
        "logging",
    ],
];

fn layer_of(path: &str) -> Option<usize> {
    let top = top(path);
    LAYERS.iter().position(|layer| layer.contains(&top))
}

#[test]
fn every_module_has_a_layer_and_nothing_imports_upward() {
    let modules = modules();
    for module in &modules {
        if module.path == "crate" {
            continue; // lib.rs assembles everything
        }
        assert!(
            layer_of(&module.path).is_some(),
            "{} belongs to no layer: add it to LAYERS and docs/architecture.md",
            module.path
        );
    }
    for (module, targets) in import_graph(&modules) {
        let Some(own) = layer_of(&module) else {
            continue;
        };
        for target in targets {
            if let Some(theirs) = layer_of(&target) {
                assert!(theirs >= own, "{module} imports {target}, a layer above it");
            }
        }
    }
}

#[test]
fn there_are_no_import_circles() {
    let graph = import_graph(&modules());
    // Tarjan's strongly connected components (the tree is small enough to recurse).
    struct Walk<'g> {
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        circles: Vec<Vec<&'g str>>,
    }
    impl<'g> Walk<'g> {
        fn visit(&mut self, node: &'g str) {
            let n = self.index.len();
            self.index.insert(node, n);
            self.low.insert(node, n);
            self.stack.push(node);
            self.on_stack.insert(node);
            for next in self.graph.get(node).into_iter().flatten() {
                let next = next.as_str();
                if !self.graph.contains_key(next) {
                    continue;
                }
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[node].min(self.low[next]);
                    self.low.insert(node, low);
                } else if self.on_stack.contains(next) {
                    let low = self.low[node].min(self.index[next]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut component = Vec::new();
                while let Some(top) = self.stack.pop() {
                    self.on_stack.remove(top);
                    component.push(top);
                    if top == node {
                        break;
                    }
                }
                if component.len() > 1 {
                    self.circles.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        graph: &graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        circles: Vec::new(),
    };
    for node in graph.keys() {
        if !walk.index.contains_key(node.as_str()) {
            walk.visit(node);
        }
    }
    assert!(
        walk.circles.is_empty(),
        "import circles: {:?}",
        walk.circles
    );
}

#[test]
fn no_file_is_longer_than_its_one_job_needs() {
    for module in modules() {
        let lines = module.code.lines().count();
        assert!(
            lines <= MAX_LINES,
            "{} has {lines} lines of code (tests excluded); split it by job",
            module.file.display()
        );
    }
}

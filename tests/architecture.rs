//! Architecture invariants checked on the source itself.
//!
//! **No import cycles:** within every crate of the workspace, the modules form a DAG — a module
//! never reaches, through `crate::`, `super::`, `self::` or a child's name, back to itself. The
//! crate root (`lib.rs`, `main.rs`) is the crate's facade and is left out: it names every module
//! and may re-export their types. (Cycles between crates Cargo already refuses.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module's path inside its crate, `""` for the root: `server::tracker`.
type Module = String;

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module a file under `src/` defines.
fn module_of(relative: &Path) -> Module {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts.join("::")
}

fn parent(m: &str) -> Module {
    m.rsplit_once("::")
        .map_or(String::new(), |(p, _)| p.to_string())
}

fn join(base: &str, name: &str) -> Module {
    if base.is_empty() {
        name.to_string()
    } else {
        format!("{base}::{name}")
    }
}

/// The longest known module that `path` (a `::` path from the crate root) starts with.
fn resolve(path: &str, known: &BTreeSet<Module>) -> Option<Module> {
    let segments: Vec<&str> = path.split("::").collect();
    (1..=segments.len())
        .rev()
        .map(|n| segments[..n].join("::"))
        .find(|candidate| known.contains(candidate))
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The `::` path that starts at byte `at` of `line`, braces expanded one level:
/// `a::b::{c, d::e}` → `a::b::c`, `a::b::d::e`.
fn paths_at(line: &str, at: usize) -> Vec<String> {
    let rest = &line[at..];
    let end = rest
        .find(|c: char| !(is_ident(c) || c == ':'))
        .unwrap_or(rest.len());
    let head = rest[..end].trim_end_matches(':').to_string();
    if rest[end..].starts_with('{') && rest[..end].ends_with("::") {
        let inner = &rest[end + 1..];
        let close = inner.find('}').unwrap_or(inner.len());
        return inner[..close]
            .split(',')
            .map(|item| {
                item.trim()
                    .split([' ', '{'])
                    .next()
                    .unwrap_or("")
                    .to_string()
            })
            .filter(|item| !item.is_empty())
            .map(|item| format!("{head}::{item}"))
            .collect();
    }
    vec![head]
}

/// Edges `from → to` between the non-root modules of one crate.
fn module_graph(files: &[(Module, String)]) -> BTreeMap<Module, BTreeSet<Module>> {
    let known: BTreeSet<Module> = files.iter().map(|(m, _)| m.clone()).collect();
    let mut graph: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (module, text) in files {
        if module.is_empty() {
            continue;
        }
        let mut edge = |target: Option<Module>| {
            if let Some(t) = target
                && !t.is_empty()
                && &t != module
            {
                graph.entry(module.clone()).or_default().insert(t);
            }
        };
        let children: Vec<(String, Module)> = known
            .iter()
            .filter(|k| parent(k) == *module)
            .map(|k| {
                (
                    format!("{}::", k.rsplit("::").next().unwrap_or(k)),
                    k.clone(),
                )
            })
            .collect();
        // Inside an inline module (`mod tests { … }`), `super::` is this file's module.
        let mut depth: i64 = 0;
        let mut inline_module_depth: Option<i64> = None;
        for line in text.lines() {
            let code = line.split("//").next().unwrap_or("");
            let trimmed = code.trim_start();
            if inline_module_depth.is_none()
                && (trimmed.starts_with("mod ") || trimmed.starts_with("pub(crate) mod "))
                && trimmed.trim_end().ends_with('{')
            {
                inline_module_depth = Some(depth);
            }
            depth += code.matches('{').count() as i64 - code.matches('}').count() as i64;
            if inline_module_depth.is_some_and(|d| depth <= d) {
                inline_module_depth = None;
            }
            for (prefix, child) in &children {
                let relative = code.match_indices(prefix.as_str()).any(|(at, _)| {
                    at == 0 || !code[..at].ends_with(|c: char| is_ident(c) || c == ':')
                });
                if relative {
                    for (at, _) in code.match_indices(prefix.as_str()) {
                        for p in paths_at(code, at) {
                            edge(resolve(&join(module, &p), &known).or(Some(child.clone())));
                        }
                    }
                }
            }
            for (at, _) in code.match_indices("crate::") {
                if at > 0 && code[..at].ends_with(|c: char| is_ident(c) || c == ':') {
                    continue;
                }
                for p in paths_at(code, at + "crate::".len()) {
                    edge(resolve(&p, &known));
                }
            }
            for (at, _) in code.match_indices("super::") {
                if at > 0 && code[..at].ends_with(|c: char| is_ident(c) || c == ':') {
                    continue;
                }
                let mut base = if inline_module_depth.is_some() {
                    module.clone()
                } else {
                    parent(module)
                };
                let mut rest_at = at + "super::".len();
                while code[rest_at..].starts_with("super::") {
                    base = parent(&base);
                    rest_at += "super::".len();
                }
                for p in paths_at(code, rest_at) {
                    edge(resolve(&join(&base, &p), &known));
                }
            }
        }
    }
    graph
}

/// One cycle, if the graph has any.
fn find_cycle(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Option<Vec<Module>> {
    fn visit(
        node: &Module,
        graph: &BTreeMap<Module, BTreeSet<Module>>,
        done: &mut BTreeSet<Module>,
        stack: &mut Vec<Module>,
    ) -> Option<Vec<Module>> {
        if let Some(i) = stack.iter().position(|m| m == node) {
            let mut cycle = stack[i..].to_vec();
            cycle.push(node.clone());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, done, stack) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(node.clone());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|m| visit(m, graph, &mut done, &mut Vec::new()))
}

/// Every crate of the workspace: folders beside the root package with a `Cargo.toml` and `src/`.
fn crates() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut dirs = vec![root.to_path_buf()];
    for entry in std::fs::read_dir(root).expect("the workspace").flatten() {
        let dir = entry.path();
        if dir.join("Cargo.toml").is_file() && dir.join("src").is_dir() {
            dirs.push(dir);
        }
    }
    dirs.sort();
    dirs
}

#[test]
fn no_crate_has_an_import_cycle() {
    let crates = crates();
    assert!(crates.len() >= 8, "found only {crates:?}");
    for dir in crates {
        let src = dir.join("src");
        let mut paths = vec![];
        rust_files(&src, &mut paths);
        let files: Vec<(Module, String)> = paths
            .iter()
            .filter(|p| !p.starts_with(src.join("bin")))
            .map(|p| {
                let relative = p.strip_prefix(&src).expect("under src");
                let text = std::fs::read_to_string(p).expect("readable source");
                (module_of(relative), text)
            })
            .collect();
        let graph = module_graph(&files);
        if let Some(cycle) = find_cycle(&graph) {
            panic!("{}: import cycle {}", dir.display(), cycle.join(" → "));
        }
    }
}

#[test]
fn the_cycle_check_sees_a_cycle() {
    let files = vec![
        (String::new(), "pub mod a;\npub mod b;".to_string()),
        (
            "a".to_string(),
            "use crate::b::{Thing, other::X};".to_string(),
        ),
        ("b".to_string(), "use super::a::Helper;".to_string()),
        ("b::other".to_string(), "// use crate::a;".to_string()),
        ("c".to_string(), "use d::Thing;".to_string()),
        ("c::d".to_string(), "use super::Other;".to_string()),
        (
            "e".to_string(),
            "fn f() {}\nmod tests {\n    use super::*;\n}\n".to_string(),
        ),
    ];
    let graph = module_graph(&files);
    assert_eq!(
        find_cycle(&graph),
        Some(vec!["a".to_string(), "b".to_string(), "a".to_string()])
    );
    assert!(graph["a"].contains("b::other"));
    // A parent naming its child, and the child naming its parent, is a cycle too.
    assert!(graph["c"].contains("c::d") && graph["c::d"].contains("c"));
    // `super::` in a file's own test module is the file itself, not its parent.
    assert!(!graph.contains_key("e"));
    let acyclic = vec![
        ("a".to_string(), "use crate::b::Thing;".to_string()),
        ("b".to_string(), "fn f() {}".to_string()),
    ];
    assert_eq!(find_cycle(&module_graph(&acyclic)), None);
}

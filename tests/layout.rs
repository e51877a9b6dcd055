//! The workspace's shape, as the README's layout section states it: no module of any crate
//! depends on a module that depends back on it, and the command-line crate stays a thin shell.
//!
//! A module's dependencies are its code's `crate::m` paths (comments and its test module left
//! out), `super::` in a submodule, and a parent's uses of its own submodules by name.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const CRATES: [&str; 4] = [
    "crates/bgmm/src",
    "crates/bgmm-io/src",
    "crates/bgmm-report/src",
    "src",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `a::b` of `src/a/b.rs` or `src/a/b/mod.rs`; `crate` of lib.rs and main.rs.
fn module_name(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    if parts == ["lib"] || parts == ["main"] {
        return "crate".into();
    }
    parts.join("::")
}

/// The code of a file without comments and without its `#[cfg(test)] mod tests`.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every `crate::x` or `crate::x::y` path in `code`.
fn crate_paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in code.match_indices("crate::") {
        if code[..i]
            .chars()
            .last()
            .is_some_and(|c| is_ident(c) || c == ':')
        {
            continue;
        }
        let rest = &code[i + "crate::".len()..];
        let first: String = rest.chars().take_while(|c| is_ident(*c)).collect();
        let after = &rest[first.len()..];
        let second: String = after
            .strip_prefix("::")
            .map(|s| s.chars().take_while(|c| is_ident(*c)).collect())
            .unwrap_or_default();
        out.push(if second.is_empty() {
            first
        } else {
            format!("{first}::{second}")
        });
    }
    out
}

/// Whether `code` names `name::` other than in a path (`x::name::`) or a `mod name;`.
fn uses_child(code: &str, name: &str) -> bool {
    let pat = format!("{name}::");
    code.match_indices(&pat).any(|(i, _)| {
        !code[..i]
            .chars()
            .last()
            .is_some_and(|c| is_ident(c) || c == ':')
    })
}

fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeMap<String, String> = files
        .iter()
        .map(|f| (module_name(src, f), code(&fs::read_to_string(f).unwrap())))
        .collect();
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (m, text) in &modules {
        let edges = g.entry(m.clone()).or_default();
        for p in crate_paths(text) {
            let target = if modules.contains_key(&p) {
                p
            } else {
                p.split("::").next().unwrap().to_string()
            };
            if modules.contains_key(&target)
                && &target != m
                && !m.starts_with(&format!("{target}::"))
            {
                edges.insert(target);
            }
        }
        if let Some((parent, _)) = m.rsplit_once("::") {
            if text.contains("super::") {
                edges.insert(parent.to_string());
            }
        }
        for child in modules.keys() {
            let prefix = if m == "crate" {
                String::new()
            } else {
                format!("{m}::")
            };
            let Some(name) = child.strip_prefix(&prefix) else {
                continue;
            };
            if name.is_empty() || name.contains("::") || child == m {
                continue;
            }
            if uses_child(text, name) {
                edges.insert(child.clone());
            }
        }
    }
    g
}

/// A cycle through `start`, if any: depth-first search of the paths back to it.
fn cycle_through(
    g: &BTreeMap<String, BTreeSet<String>>,
    start: &str,
    at: &str,
    path: &mut Vec<String>,
    seen: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    for next in g.get(at).into_iter().flatten() {
        if next == start {
            let mut c = path.clone();
            c.push(start.to_string());
            return Some(c);
        }
        if seen.insert(next.clone()) {
            path.push(next.clone());
            if let Some(c) = cycle_through(g, start, next, path, seen) {
                return Some(c);
            }
            path.pop();
        }
    }
    None
}

#[test]
fn no_module_depends_on_a_module_that_depends_back_on_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cycles = Vec::new();
    for krate in CRATES {
        let g = graph(&root.join(krate));
        assert!(g.len() > 5, "{krate}: only {} modules found", g.len());
        for m in g.keys() {
            let mut path = vec![m.clone()];
            if let Some(c) = cycle_through(&g, m, m, &mut path, &mut BTreeSet::new()) {
                cycles.push(format!("{krate}: {}", c.join(" -> ")));
                break;
            }
        }
    }
    assert!(cycles.is_empty(), "module cycles:\n{}", cycles.join("\n"));
}

/// The checker finds a cycle where there is one (else the test above could not fail).
#[test]
fn the_cycle_check_sees_a_cycle() {
    let dir = std::env::temp_dir().join(format!("bgmm-layout-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("a")).unwrap();
    fs::write(dir.join("lib.rs"), "mod a;\nmod b;\n").unwrap();
    fs::write(dir.join("a/mod.rs"), "mod c;\nuse crate::b::X;\n").unwrap();
    fs::write(dir.join("a/c.rs"), "// crate::b in a comment is no use\n").unwrap();
    fs::write(
        dir.join("b.rs"),
        "pub struct X;\nfn f() { crate::a::g() }\n",
    )
    .unwrap();
    let g = graph(&dir);
    let mut path = vec!["b".to_string()];
    let c = cycle_through(&g, "b", "b", &mut path, &mut BTreeSet::new());
    assert_eq!(c, Some(vec!["b".into(), "a".into(), "b".into()]));
    assert!(g["a::c"].is_empty());
    fs::remove_dir_all(&dir).unwrap();
}

/// The binary's crate is argument parsing and dispatch: at most 3250 lines outside tests (3000
/// until `loo` and select's sampler flags came, 3200 until `sample --engine smc`'s flags and
/// bars; what they do, and the text and run writing of the posterior, went to the libraries).
#[test]
fn the_command_line_crate_is_a_thin_shell() {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let lines: usize = files
        .iter()
        .map(|f| {
            let text = fs::read_to_string(f).unwrap();
            text.split("#[cfg(test)]\nmod tests")
                .next()
                .unwrap()
                .lines()
                .count()
        })
        .sum();
    assert!(lines > 1000, "only {lines} lines found");
    assert!(
        lines <= 3250,
        "src/ has {lines} lines of non-test code (at most 3250)"
    );
}

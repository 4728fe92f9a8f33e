//! The library's module graph has no cycles (issue 17), checked over the source itself:
//! every `crate::`, `super::` and `self::` path and every `use` of a child module is an
//! edge from the file it is written in to the module file it names. A path through a
//! module's re-export (`pub use child::Item` in a `mod.rs`) leads on to the child that
//! defines the item, and the re-export itself is the module's façade, not an edge. Test
//! modules (`#[cfg(test)] mod … { … }`) are left out. Two graphs must be acyclic: the
//! files, and the top-level modules (`compress`, `select`, …) they belong to.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module path (`compress::prepared`) → source with comments, strings and tests removed.
fn modules() -> BTreeMap<String, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                if !path.ends_with("bin") {
                    stack.push(path);
                }
                continue;
            }
            let rel = path.strip_prefix(&root).expect("under src");
            let rel = rel.to_string_lossy().replace('\\', "/");
            let Some(stem) = rel.strip_suffix(".rs") else {
                continue;
            };
            if stem == "lib" || stem == "main" {
                continue;
            }
            let name = stem.strip_suffix("/mod").unwrap_or(stem).replace('/', "::");
            let text = std::fs::read_to_string(&path).expect("read source");
            out.insert(name, without_tests(&code_only(&text)));
        }
    }
    out
}

/// The source with comments, string and char literals blanked out, so that a path in
/// a doc comment or an error message is not taken for a dependency.
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = src[i + 2..].find("*/").map_or(b.len(), |e| i + 2 + e + 2);
                i = end;
            }
            b'r' if matches!(b.get(i + 1), Some(b'"' | b'#'))
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) =>
            {
                let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
                if b.get(i + 1 + hashes) != Some(&b'"') {
                    out.push('r');
                    i += 1;
                    continue;
                }
                let close = format!("\"{}", "#".repeat(hashes));
                let body = i + 2 + hashes;
                i = src[body..]
                    .find(&close)
                    .map_or(b.len(), |e| body + e + close.len());
                out.push_str("\"\"");
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
                out.push_str("\"\"");
            }
            // A char literal ('x', '\n', '"'); anything else is a lifetime.
            b'\'' if b.get(i + 1) == Some(&b'\\') => {
                i += 2;
                while i < b.len() && b[i] != b'\'' {
                    i += 1;
                }
                i += 1;
            }
            b'\'' if src[i + 1..].chars().nth(1) == Some('\'') => {
                i += 1 + src[i + 1..].chars().next().map_or(1, char::len_utf8) + 1;
            }
            _ => {
                let c = src[i..].chars().next().expect("char");
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    out
}

/// The source without `#[cfg(test)] mod name { … }` blocks.
fn without_tests(src: &str) -> String {
    let mut out = src.to_owned();
    while let Some(at) = out.find("#[cfg(test)]") {
        let rest = &out[at..];
        let Some(open) = rest.find('{') else { break };
        let mut depth = 0;
        let mut end = rest.len();
        for (k, c) in rest[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + k + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.replace_range(at..at + end, "");
    }
    out
}

/// The `use` declarations of a source, each expanded into full paths, with whether it is
/// a `pub use` (a re-export).
fn uses(src: &str) -> Vec<(bool, Vec<String>)> {
    let mut out = Vec::new();
    let mut rest = src;
    while let Some(at) = find_word(rest, "use") {
        let before = rest[..at].trim_end();
        let public = before.ends_with("pub") || before.ends_with(')') && before.contains("pub(");
        let Some(end) = rest[at..].find(';') else {
            break;
        };
        let tree: String = rest[at + 3..at + end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let mut paths = Vec::new();
        expand("", &tree, &mut paths);
        out.push((public, paths));
        rest = &rest[at + end..];
    }
    out
}

/// Where the keyword `word` starts a statement in `src`.
fn find_word(src: &str, word: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(k) = src[from..].find(word) {
        let at = from + k;
        let before = src[..at].chars().next_back();
        let after = src[at + word.len()..].chars().next();
        let starts = before.is_none_or(|c| c.is_whitespace() || c == ';' || c == '{' || c == '}');
        if starts && after.is_some_and(char::is_whitespace) {
            return Some(at);
        }
        from = at + word.len();
    }
    None
}

/// `a::{b::{C, D}, e}` → `a::b::C`, `a::b::D`, `a::e` (`as` renames dropped).
fn expand(prefix: &str, tree: &str, out: &mut Vec<String>) {
    let Some(open) = tree.find('{') else {
        let path = tree.split("as").next().unwrap_or(tree);
        let path = path.trim_end_matches("::*").trim_end_matches("::self");
        out.push(format!("{prefix}{path}"));
        return;
    };
    let head = &tree[..open];
    let inner = &tree[open + 1..tree.len() - 1];
    let mut depth = 0;
    let mut start = 0;
    for (k, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                expand(&format!("{prefix}{head}"), &inner[start..k], out);
                start = k + 1;
            }
            _ => {}
        }
    }
    if start < inner.len() {
        expand(&format!("{prefix}{head}"), &inner[start..], out);
    }
}

struct Crate {
    modules: BTreeMap<String, String>,
    /// Module → (name it re-exports → the full path it points to).
    reexports: BTreeMap<String, BTreeMap<String, String>>,
}

impl Crate {
    fn load() -> Self {
        let modules = modules();
        let mut reexports = BTreeMap::new();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs");
        let lib = code_only(&std::fs::read_to_string(root).expect("read lib"));
        for (module, src) in modules
            .iter()
            .map(|(m, s)| (m.as_str(), s))
            .chain([("", &lib)])
        {
            let mut names = BTreeMap::new();
            for (public, paths) in uses(src) {
                for path in paths.into_iter().filter(|_| public) {
                    if let Some(full) = absolute(module, &path, &modules) {
                        let name = full.rsplit("::").next().unwrap_or("").to_owned();
                        names.insert(name, full);
                    }
                }
            }
            reexports.insert(module.to_owned(), names);
        }
        Self { modules, reexports }
    }

    /// The module file that defines what `path` (absolute, without `crate::`) names.
    fn owner(&self, path: &str, hops: usize) -> Option<String> {
        let segs: Vec<&str> = path.split("::").collect();
        let (mut module, mut next) = (String::new(), 0);
        for k in (1..=segs.len()).rev() {
            let m = segs[..k].join("::");
            if self.modules.contains_key(&m) {
                (module, next) = (m, k);
                break;
            }
        }
        // Through a re-export to the module that defines the item.
        if let Some(name) = segs.get(next)
            && let Some(target) = self.reexports.get(&module).and_then(|r| r.get(*name))
            && hops < 8
            && let Some(owner) = self.owner(target, hops + 1)
        {
            return Some(owner);
        }
        (!module.is_empty()).then_some(module)
    }

    /// Module file → the module files it depends on.
    fn edges(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut out = BTreeMap::new();
        for (module, src) in &self.modules {
            let mut deps = BTreeSet::new();
            let reexported: BTreeSet<String> = uses(src)
                .into_iter()
                .filter(|(public, _)| *public && module_is_dir(module, &self.modules))
                .flat_map(|(_, p)| p)
                .collect();
            let mut paths: Vec<String> = uses(src)
                .into_iter()
                .flat_map(|(_, p)| p)
                .filter(|p| !reexported.contains(p))
                .collect();
            paths.extend(inline_paths(src));
            for path in paths {
                if let Some(full) = absolute(module, &path, &self.modules)
                    && let Some(owner) = self.owner(&full, 0)
                    && owner != *module
                {
                    deps.insert(owner);
                }
            }
            out.insert(module.clone(), deps);
        }
        out
    }
}

fn module_is_dir(module: &str, modules: &BTreeMap<String, String>) -> bool {
    let prefix = format!("{module}::");
    modules.keys().any(|m| m.starts_with(&prefix))
}

/// `crate::…`, `super::…` and `self::…` paths written in code (not in `use`).
fn inline_paths(src: &str) -> Vec<String> {
    let mut out = Vec::new();
    for head in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(k) = src[from..].find(head) {
            let at = from + k;
            from = at + head.len();
            let before = src[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let end = src[at..]
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .map_or(src.len(), |e| at + e);
            // `super::{a, b}` is a use tree: `uses` expands it.
            if src[end..].starts_with('{') {
                continue;
            }
            out.push(src[at..end].trim_end_matches(':').to_owned());
        }
    }
    out
}

/// A path as written in `module`, made absolute (no `crate::`); `None` for other crates.
fn absolute(module: &str, path: &str, modules: &BTreeMap<String, String>) -> Option<String> {
    let is_dir = module_is_dir(module, modules) || module.is_empty();
    let mut base: Vec<&str> = module.split("::").filter(|s| !s.is_empty()).collect();
    let mut segs = path.split("::").filter(|s| !s.is_empty()).peekable();
    match segs.peek().copied() {
        Some("crate") => {
            segs.next();
            base.clear();
        }
        Some("self") => {
            segs.next();
        }
        Some("super") => {
            // `super` of a file module is its directory's module; of a `mod.rs`, the
            // parent of that directory.
            segs.next();
            base.pop();
            while segs.peek() == Some(&"super") {
                segs.next();
                base.pop();
            }
        }
        Some(first) => {
            // A relative path starts at a child module, or names another crate.
            let child = if module.is_empty() {
                first.to_owned()
            } else {
                format!("{module}::{first}")
            };
            if !(is_dir && modules.contains_key(&child)) {
                return None;
            }
        }
        None => return None,
    }
    let full: Vec<&str> = base.into_iter().chain(segs).collect();
    Some(full.join("::"))
}

/// One cycle of `graph`, if it has any.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_owned(), 1);
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next) {
                Some(1) => {
                    let from = stack.iter().position(|n| n == next).unwrap_or(0);
                    let mut found = stack[from..].to_vec();
                    found.push(next.clone());
                    return Some(found);
                }
                Some(_) => {}
                None => {
                    if let Some(found) = visit(next, graph, state, stack) {
                        return Some(found);
                    }
                }
            }
        }
        stack.pop();
        state.insert(node.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if !state.contains_key(node)
            && let Some(found) = visit(node, graph, &mut state, &mut Vec::new())
        {
            return Some(found);
        }
    }
    None
}

#[test]
fn module_files_form_no_cycle() {
    let edges = Crate::load().edges();
    assert!(edges.len() > 50, "read the modules: {}", edges.len());
    if let Some(c) = cycle(&edges) {
        panic!("module cycle: {}", c.join(" -> "));
    }
}

#[test]
fn top_level_modules_form_no_cycle() {
    let top = |m: &str| m.split("::").next().unwrap_or(m).to_owned();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, deps) in Crate::load().edges() {
        let entry = graph.entry(top(&from)).or_default();
        entry.extend(deps.iter().map(|d| top(d)).filter(|d| *d != top(&from)));
    }
    assert!(graph["compress"].contains("select"), "{graph:?}");
    if let Some(c) = cycle(&graph) {
        panic!("top-level module cycle: {}", c.join(" -> "));
    }
}

/// The checker itself finds a cycle and follows re-exports.
#[test]
fn the_checker_sees_edges_through_reexports() {
    let krate = Crate::load();
    let edges = krate.edges();
    // prepared.rs writes `use super::Input`, which compress/mod.rs re-exports from input.rs.
    assert!(
        edges["compress::prepared"].contains("compress::input"),
        "{edges:?}"
    );
    let mut graph = BTreeMap::new();
    graph.insert("a".to_owned(), BTreeSet::from(["b".to_owned()]));
    graph.insert("b".to_owned(), BTreeSet::from(["a".to_owned()]));
    assert_eq!(cycle(&graph).map(|c| c.len()), Some(3));
    assert_eq!(
        code_only("let s = \"crate::x\"; // crate::y\nlet c = '\"'; crate::z"),
        "let s = \"\"; \nlet c = ; crate::z"
    );
}

#!/usr/bin/env python3
"""Generate the items of `pith eval funcret` beyond the four Python dev sdists.

How to run (from the repository root):

    python3 scripts/funcret/generate.py --fetch-only   # download the pinned archives, check sha256
    python3 scripts/funcret/generate.py                # fetch, parse, write eval/funcret/*.jsonl

The archives (Python sdists, Rust `.crate` files, npm `.tgz` files) come through the
registries' own clients only (pip download, cargo fetch, npm pack), pinned by version and
sha256, into eval/funcret/archives/ (gitignored). They are parsed with the Python
tree-sitter bindings (installed into a venv under $FUNCRET_SCRATCH, default
/work/funcret-scratch, outside git) — independent from pith's own chunker.

An item is a function or method with a doc comment whose first sentence (the query) has
at least 4 words; see scripts/funcret/README.md for the rules. Nothing is written by hand:
every field is read from the archive.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
OUT_DIR = REPO / "eval" / "funcret"
ARCHIVES = Path(os.environ.get("FUNCRET_ARCHIVES", OUT_DIR / "archives"))
SCRATCH = Path(os.environ.get("FUNCRET_SCRATCH", "/work/funcret-scratch"))
VENV_PINS = [
    "tree-sitter==0.26.1",
    "tree-sitter-python==0.25.0",
    "tree-sitter-rust==0.24.2",
    "tree-sitter-javascript==0.25.0",
    "tree-sitter-typescript==0.23.2",
    "tiktoken==0.14.0",
]
PER_REPO = 40
SEED = 19

# (registry, name, version, language of the repository, split, sha256 of the archive).
# Split by repository: no setting is ever chosen on "held".
PINS = [
    ("pypi", "attrs", "26.1.0", "python", "dev",
     "d03ceb89cb322a8fd706d4fb91940737b6642aa36998fe130a9bc96c985eff32"),
    ("pypi", "jinja2", "3.1.6", "python", "dev",
     "0137fb05990d35f1275a587e9aee6d56da821fc83491a0fb838183be43f66d6d"),
    ("crate", "clap_builder", "4.6.7", "rust", "dev",
     "ec0797fb7aeb1406c84efac526901f7ec3ead2124f946b494e72879d4b54704d"),
    ("crate", "toml_edit", "0.25.20+spec-1.1.0", "rust", "dev",
     "e76360e201d6dbd6583e17795ba71a88f47365a9139c8450a7979c32303b8e73"),
    ("npm", "commander", "14.0.3", "javascript", "dev",
     "5849703c500e0f324eb01340d8bda1f9ec48fc37bb7be9712eb0dd52aad92f6c"),
    ("npm", "rxjs", "7.8.2", "typescript", "dev",
     "2312f8ffd9726ffd7bd53ea12c5f13663d09a3dc3326f448c70b88f5ef6fac82"),
    ("pypi", "werkzeug", "3.1.9", "python", "held",
     "55ca7c70a75689be937aa27f8ff4b018f06ff4838fc73045560bf0f5a1291060"),
    ("pypi", "more-itertools", "11.2.1", "python", "held",
     "cbf08fd0af284dc69718b9b76a8e6203df624d70209ea511e4219d350c856f63"),
    ("crate", "itertools", "0.14.0", "rust", "held",
     "2b192c782037fadd9cfa75548310488aabdbf3d2da73885b31bd0abd03351285"),
    ("crate", "serde_json", "1.0.154", "rust", "held",
     "e7e9cc8b1b85264074fbcc02a88680c4096b1e47df8f739dceb03bf482f04bd6"),
    ("npm", "axios", "1.21.1", "javascript", "held",
     "5659acb8c9414ad88aa539db8e529947c9bac8cdf55973e314a078fc0205751c"),
    ("npm", "@reduxjs/toolkit", "2.16.0", "typescript", "held",
     "f815be44e3876a2c72f01135768a872048c00cb7bfabf313b238004302c32f2a"),
]

# ---------------------------------------------------------------------------
# Context rules: the same as src/eval/funcret.rs (keep them in step).
# ---------------------------------------------------------------------------

EXTS = {
    "python": (".py",),
    "rust": (".rs",),
    # A JS or TS repository's source is both.
    "javascript": (".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx", ".mts", ".cts"),
    "typescript": (".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx", ".mts", ".cts"),
}
SKIP_DIRS = {
    "tests", "test", "__tests__", "docs", "doc", "examples", "example", "benches",
    "bench", "benchmarks", "fixtures", "fixture", "dist", "node_modules",
}


def in_context(rel: str, language: str) -> bool:
    """Whether a file (path below the repository root) is part of the context."""
    parts = rel.split("/")
    name = parts[-1]
    if any(p in SKIP_DIRS for p in parts[:-1]):
        return False
    if not name.endswith(EXTS[language]):
        return False
    if re.search(r"\.d\.[mc]?ts$", name) or ".min." in name:
        return False
    if name.startswith("test_") or name == "conftest.py":
        return False
    stem = name.rsplit(".", 1)[0]
    return not (stem.endswith("_test") or ".test" in stem or ".spec" in stem)


# ---------------------------------------------------------------------------
# Fetching
# ---------------------------------------------------------------------------


def label(name: str) -> str:
    """The package's name as it appears in file names (`@scope/x` -> `scope-x`)."""
    return name.lstrip("@").replace("/", "-")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(cmd: list[str], **kw) -> None:
    print("$", " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True, **kw)


def fetch(registry: str, name: str, version: str) -> Path:
    """The archive of one pin, downloaded through the registry's client if not cached."""
    ARCHIVES.mkdir(parents=True, exist_ok=True)
    if registry == "pypi":
        # sdist names normalise differently (more_itertools-11.2.1.tar.gz).
        stem = re.sub(r"[-_.]+", "_", name).lower()
        have = [
            p
            for p in ARCHIVES.glob("*.tar.gz")
            if re.sub(r"[-_.]+", "_", p.name[: -len("-" + version + ".tar.gz")]).lower() == stem
            and p.name.endswith(f"-{version}.tar.gz")
        ]
        if not have:
            run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                 "-d", str(ARCHIVES), f"{name}=={version}"]
            )
            have = [
                p
                for p in ARCHIVES.glob(f"*-{version}.tar.gz")
                if re.sub(r"[-_.]+", "_", p.name[: -len("-" + version + ".tar.gz")]).lower() == stem
            ]
        return have[0]
    if registry == "crate":
        out = ARCHIVES / f"{name}-{version}.crate"
        if not out.exists():
            # A throwaway project depending on exactly this version; cargo fetch puts the
            # .crate into the registry cache.
            proj = SCRATCH / "cargo-fetch" / name
            (proj / "src").mkdir(parents=True, exist_ok=True)
            (proj / "src" / "lib.rs").write_text("")
            (proj / "Cargo.toml").write_text(
                f'[package]\nname = "fetch-{name.replace("_", "-")}"\nversion = "0.0.0"\n'
                f'edition = "2021"\n\n[dependencies]\n{name} = "={version}"\n'
            )
            run(["cargo", "fetch", "--manifest-path", str(proj / "Cargo.toml")])
            home = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo"))
            found = sorted(home.glob(f"registry/cache/*/{name}-{version}.crate"))
            if not found:
                raise SystemExit(f"cargo fetch did not leave {name}-{version}.crate")
            shutil.copy(found[0], out)
        return out
    if registry == "npm":
        # npm pack names a scoped package's file scope-name-version.tgz.
        out = ARCHIVES / f"{label(name)}-{version}.tgz"
        if not out.exists():
            run(["npm", "pack", "--silent", f"{name}@{version}", "--pack-destination", str(ARCHIVES)],
                stdout=subprocess.DEVNULL)
        return out
    raise ValueError(registry)


def fetch_all(pins: list[tuple]) -> dict[str, Path]:
    paths = {}
    bad = []
    for registry, name, version, _lang, _split, want in pins:
        path = fetch(registry, name, version)
        got = sha256(path)
        if want and got != want:
            bad.append(f"{path.name}: sha256 {got}, pinned {want}")
        elif not want:
            print(f"{path.name}: sha256 {got} (not pinned yet)", file=sys.stderr)
        paths[name] = path
    if bad:
        raise SystemExit("checksum mismatch:\n" + "\n".join(bad))
    return paths


# ---------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------


def ensure_venv() -> Path:
    """A venv with the pinned tree-sitter bindings; returns its python."""
    venv = SCRATCH / "venv"
    py = venv / "bin" / "python"
    if not py.exists():
        run([sys.executable, "-m", "venv", str(venv)])
    try:
        subprocess.run([str(py), "-c", "import tree_sitter_typescript, tiktoken"], check=True,
                       capture_output=True)
    except subprocess.CalledProcessError:
        run([str(py), "-m", "pip", "install", "-q", *VENV_PINS])
    return py


def words(s: str) -> int:
    return sum(1 for w in s.split() if re.search(r"[A-Za-z]", w))


def first_sentence(paragraph: list[str]) -> str:
    text = " ".join(l.strip() for l in paragraph).strip()
    text = re.sub(r"\s+", " ", text)
    # A sentence ends at . ! ? before a space or the end, but not in "e.g." or "i.e.".
    m = re.match(r"(.+?(?<!\be\.g)(?<!\bi\.e)(?<!\betc)[.!?])(\s|$)", text)
    return m.group(1) if m else text


def first_paragraph(lines: list[str]) -> list[str]:
    out = []
    for l in lines:
        s = l.strip()
        if not s:
            if out:
                break
            continue
        if s.startswith(("@", "#", "```", ":param", ":return", ">>>", "..")):
            break
        out.append(s)
    return out


class Extractor:
    def __init__(self):
        import tree_sitter as ts
        import tree_sitter_javascript
        import tree_sitter_python
        import tree_sitter_rust
        import tree_sitter_typescript

        self.parsers = {
            "python": ts.Parser(ts.Language(tree_sitter_python.language())),
            "rust": ts.Parser(ts.Language(tree_sitter_rust.language())),
            "javascript": ts.Parser(ts.Language(tree_sitter_javascript.language())),
            "typescript": ts.Parser(ts.Language(tree_sitter_typescript.language_typescript())),
            "tsx": ts.Parser(ts.Language(tree_sitter_typescript.language_tsx())),
        }

    def functions(self, rel: str, text: str, language: str):
        """Yields (qualname, name, start_row, end_row, doc_first_row, doc_last_row, query)
        with 0-based rows, for every documented function of one file."""
        if rel.endswith(".py"):
            grammar = "python"
        elif rel.endswith(".rs"):
            grammar = "rust"
        elif rel.endswith(".tsx"):
            grammar = "tsx"
        elif rel.endswith((".ts", ".mts", ".cts")):
            grammar = "typescript"
        else:
            grammar = "javascript"
        src = text.encode()
        tree = self.parsers[grammar].parse(src)
        lines = text.split("\n")
        if grammar == "python":
            yield from self._python(tree.root_node, [], lines)
        elif grammar == "rust":
            yield from self._rust(tree.root_node, [], lines)
        else:
            yield from self._js(tree.root_node, [], lines)

    # Python: module- and class-level defs with a docstring.
    def _python(self, node, scope, lines):
        for child in node.named_children:
            inner = child
            if child.type == "decorated_definition":
                inner = child.child_by_field_name("definition")
            if inner is None:
                continue
            if inner.type == "class_definition":
                name = inner.child_by_field_name("name").text.decode()
                body = inner.child_by_field_name("body")
                if body is not None:
                    yield from self._python(body, scope + [name], lines)
            elif inner.type == "function_definition":
                name = inner.child_by_field_name("name").text.decode()
                body = inner.child_by_field_name("body")
                if body is None or not body.named_children:
                    continue
                first = body.named_children[0]
                if first.type != "expression_statement" or not first.named_children:
                    continue
                s = first.named_children[0]
                if s.type != "string":
                    continue
                raw = s.text.decode()
                m = re.match(r'^[rRuU]?("""|\'\'\'|"|\')(.*)\1$', raw, re.S)
                if not m:
                    continue
                doc = m.group(2).expandtabs().split("\n")
                # Only the docstring may sit on its lines.
                if lines[first.start_point.row].strip()[:1] not in ('"', "'", "r", "u", "R", "U"):
                    continue
                if lines[first.end_point.row].strip()[-3:] not in ('"""', "'''") and not lines[
                    first.end_point.row
                ].strip().endswith(('"', "'")):
                    continue
                para = first_paragraph(doc)
                yield (
                    ".".join(scope + [name]),
                    name,
                    inner.start_point.row,
                    inner.end_point.row,
                    first.start_point.row,
                    first.end_point.row,
                    first_sentence(para),
                )

    # Rust: fns at module level, in impls, traits and non-test modules; `///` docs above.
    def _rust(self, node, scope, lines):
        children = node.named_children
        for i, child in enumerate(children):
            if child.type == "mod_item":
                name = child.child_by_field_name("name").text.decode()
                body = child.child_by_field_name("body")
                attrs = self._rust_attrs(children, i)
                if name in ("tests", "test") or any("cfg(test)" in a for a in attrs):
                    continue
                if body is not None:
                    yield from self._rust(body, scope, lines)
            elif child.type in ("impl_item", "trait_item"):
                if child.type == "impl_item":
                    ty = child.child_by_field_name("type").text.decode()
                else:
                    ty = child.child_by_field_name("name").text.decode()
                ty = re.sub(r"<.*", "", ty, flags=re.S).strip()
                body = child.child_by_field_name("body")
                if body is not None:
                    yield from self._rust(body, scope + [ty], lines)
            elif child.type == "function_item":
                name = child.child_by_field_name("name").text.decode()
                doc_rows = []
                j = i - 1
                expect = child.start_point.row - 1
                while j >= 0:
                    prev = children[j]
                    t = prev.text.decode()
                    if prev.end_point.row != expect and not (
                        prev.type == "line_comment" and prev.end_point.row == expect + 1
                        and prev.end_point.column == 0
                    ):
                        break
                    if prev.type == "attribute_item":
                        if doc_rows:
                            break  # an attribute between doc lines: not one block
                        expect = prev.start_point.row - 1
                    elif prev.type == "line_comment" and t.startswith("///") and not t.startswith("////"):
                        doc_rows.append(prev.start_point.row)
                        expect = prev.start_point.row - 1
                    else:
                        break
                    j -= 1
                if not doc_rows:
                    continue
                doc_rows.sort()
                if doc_rows != list(range(doc_rows[0], doc_rows[-1] + 1)):
                    continue
                doc = [re.sub(r"^\s*///\s?", "", lines[r]) for r in doc_rows]
                yield (
                    "::".join(scope + [name]),
                    name,
                    child.start_point.row,
                    child.end_point.row,
                    doc_rows[0],
                    doc_rows[-1],
                    first_sentence(first_paragraph(doc)),
                )

    @staticmethod
    def _rust_attrs(children, i):
        out = []
        j = i - 1
        while j >= 0 and children[j].type in ("attribute_item", "line_comment"):
            out.append(children[j].text.decode())
            j -= 1
        return out

    # JS/TS: function declarations, class methods, const f = arrow/function; `/** */` above.
    def _js(self, node, scope, lines):
        children = node.named_children
        for i, child in enumerate(children):
            inner = child
            if child.type == "export_statement":
                inner = child.child_by_field_name("declaration")
                if inner is None:
                    continue
            name = None
            target = None
            if inner.type in ("class_declaration", "abstract_class_declaration", "class"):
                cname = inner.child_by_field_name("name")
                body = inner.child_by_field_name("body")
                if cname is not None and body is not None:
                    yield from self._js(body, scope + [cname.text.decode()], lines)
                continue
            if inner.type in ("function_declaration", "generator_function_declaration",
                              "method_definition"):
                n = inner.child_by_field_name("name")
                if inner.child_by_field_name("body") is None or n is None:
                    continue
                name, target = n.text.decode(), inner
            elif inner.type in ("lexical_declaration", "variable_declaration"):
                decls = [c for c in inner.named_children if c.type == "variable_declarator"]
                if len(decls) != 1:
                    continue
                value = decls[0].child_by_field_name("value")
                n = decls[0].child_by_field_name("name")
                if value is None or n is None or n.type != "identifier":
                    continue
                if value.type not in ("arrow_function", "function_expression", "function",
                                      "generator_function"):
                    continue
                name, target = n.text.decode(), value
            else:
                continue
            if i == 0:
                continue
            prev = children[i - 1]
            t = prev.text.decode()
            if prev.type != "comment" or not t.startswith("/**") or t.startswith("/***"):
                continue
            if prev.end_point.row != child.start_point.row - 1:
                continue
            # The comment must have its lines to itself.
            if lines[prev.start_point.row].strip()[:3] != "/**" or not lines[
                prev.end_point.row
            ].strip().endswith("*/"):
                continue
            body = t[3:-2].split("\n")
            doc = [re.sub(r"^\s*\*\s?", "", l) for l in body]
            yield (
                ".".join(scope + [name]),
                name,
                child.start_point.row,
                child.end_point.row,
                prev.start_point.row,
                prev.end_point.row,
                first_sentence(first_paragraph(doc)),
            )


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def normalized(text: str) -> str:
    """A file's text with each line's comment marker (`///`, `//!`, `//`, `*`, `#`) and
    indentation stripped, lines joined by spaces: doc comments read as running text."""
    out = []
    for line in text.split("\n"):
        out.append(re.sub(r"^\s*(///?!?|/\*\*|\*|#)?\s?", "", line))
    return squash(" ".join(out))


GENERATED = re.compile(r"generated|do not edit|auto-generated", re.I)


def repo_items(ex: Extractor, archive: Path, language: str, package: str, enc):
    """(items, context tokens, context files) of one archive."""
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.isfile()]
        roots = {m.name.split("/")[0] for m in members}
        assert len(roots) == 1, roots
        root = roots.pop()
        files = {}
        for m in members:
            rel = m.name.split("/", 1)[1]
            if in_context(rel, language):
                data = tar.extractfile(m).read()
                try:
                    files[rel] = data.decode("utf-8")
                except UnicodeDecodeError:
                    continue
    tokens = sum(len(enc.encode(t, disallowed_special=())) for t in files.values())
    cands = []
    for rel in sorted(files):
        text = files[rel]
        head = "\n".join(text.split("\n")[:5])
        if GENERATED.search(head) or rel.endswith("tests.rs") or "/vendor/" in f"/{rel}":
            continue
        lines = text.split("\n")
        for qual, name, a, b, da, db, query in ex.functions(rel, text, language):
            if words(query) < 4:
                continue
            body = [
                l for r, l in enumerate(lines[a : b + 1], start=a)
                if not (da <= r <= db) and l.strip()
            ]
            if len(body) - 1 < 3:
                continue
            cands.append(
                {
                    "package": package,
                    "language": language,
                    "archive": archive.name,
                    "root": root,
                    "file": rel,
                    "qualname": qual,
                    "name": name,
                    "query": query,
                    "lineno": a + 1,
                    "end_lineno": b + 1,
                    "def_line": lines[a].strip(),
                    "doc_lines": [da + 1, db + 1],
                }
            )
    # A query must name one function: it may occur in the repository only in the target's
    # own doc comment (not twice among candidates, not in a copied doc of a trait method,
    # an overload, a one-line wrapper or a type). Searched in the text with comment markers
    # stripped and whitespace collapsed, case-insensitive.
    corpus = "\n".join(normalized(files[rel]) for rel in sorted(files))
    unique = [c for c in cands if corpus.count(squash(c["query"])) == 1]
    rng = random.Random(f"{SEED}:{package}")
    picked = sorted(
        rng.sample(unique, min(PER_REPO, len(unique))),
        key=lambda c: (c["file"], c["lineno"]),
    )
    stats = {"candidates": len(cands), "unique": len(unique), "files": len(files),
             "tokens": tokens}
    return picked, stats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fetch-only", action="store_true",
                    help="download the pinned archives and check their sha256, nothing else")
    ap.add_argument("--in-venv", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if not args.in_venv:
        fetch_all(PINS)
        if args.fetch_only:
            print(f"{len(PINS)} archives in {ARCHIVES}", file=sys.stderr)
            return
        py = ensure_venv()
        os.execv(str(py), [str(py), __file__, "--in-venv"])
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", "/work/shared/tiktoken_cache")
    import tiktoken

    enc = tiktoken.get_encoding("o200k_base")
    ex = Extractor()
    out = {"dev": [], "held": []}
    summary = []
    for registry, name, version, language, split, want in PINS:
        archive = fetch(registry, name, version)
        items, stats = repo_items(ex, archive, language, f"{label(name)}-{version}", enc)
        for it in items:
            it["split"] = split
        out[split].extend(items)
        summary.append(
            {"package": f"{label(name)}-{version}", "registry": registry, "language": language,
             "split": split, "archive": archive.name, "sha256": sha256(archive),
             "items": len(items), **stats}
        )
        print(f"{split:4} {language:10} {name}-{version}: {len(items)} items "
              f"({stats['unique']} unique of {stats['candidates']} candidates), "
              f"{stats['files']} files, {stats['tokens']} tokens", file=sys.stderr)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for split, items in out.items():
        with open(OUT_DIR / f"{split}.jsonl", "w") as f:
            for it in items:
                f.write(json.dumps(it, ensure_ascii=False) + "\n")
    (OUT_DIR / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(f"dev {len(out['dev'])} items, held {len(out['held'])} items", file=sys.stderr)


if __name__ == "__main__":
    main()

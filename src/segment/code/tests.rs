#![allow(clippy::unwrap_used)]

use super::*;
use crate::segment::check_tiling;

fn chunks(lang: Lang, text: &str) -> Vec<Chunk> {
    let chunks = CodeChunker::new(lang).chunk(text);
    check_tiling(text, &chunks).unwrap();
    chunks
}

/// The chunk named `name`, which must be unique.
fn named<'c>(chunks: &'c [Chunk], name: &str) -> &'c Chunk {
    let found: Vec<_> = chunks
        .iter()
        .filter(|c| c.name.as_deref() == Some(name) && c.kind != ChunkKind::Footer)
        .collect();
    assert_eq!(found.len(), 1, "{name}: {chunks:#?}");
    found[0]
}

#[test]
fn every_query_compiles() {
    for lang in Lang::ALL {
        assert_eq!(defs::compile_error(lang), None, "{lang:?}");
    }
}

#[test]
fn python_class_is_split_into_header_members_and_no_empty_footer() {
    let src = "import os\n\n\n# helper\n@cache\ndef f(x):\n    def inner():\n        pass\n    return x\n\n\nclass A(B):\n    \"\"\"Doc.\"\"\"\n\n    n = 1\n\n    @property\n    def m(self):\n        return 1\n\n    async def n2(self):\n        pass\n\nX = 1\n";
    let c = chunks(Lang::Python, src);
    let kinds: Vec<_> = c.iter().map(|c| (c.kind, c.name.as_deref())).collect();
    assert_eq!(
        kinds,
        [
            (ChunkKind::TopLevel, None),
            (ChunkKind::Function, Some("f")),
            (ChunkKind::Header, Some("A")),
            (ChunkKind::Function, Some("A.m")),
            (ChunkKind::Function, Some("A.n2")),
            (ChunkKind::TopLevel, None),
        ]
    );
    assert!(c[1].text(src).starts_with("# helper\n@cache\ndef f"));
    assert!(c[2].text(src).ends_with("n = 1\n\n"));
    assert!(c[3].text(src).starts_with("    @property\n"));
    assert_eq!(c[3].parent, Some(2));
    assert_eq!(c[4].parent, Some(2));
    assert_eq!(c[5].text(src), "X = 1\n");
}

#[test]
fn rust_impl_members_attributes_and_nested_mod() {
    let src = "//! crate doc\nuse std::fmt;\n\n/// A thing.\n#[derive(Debug)]\npub struct Bar<T>(T);\n\nmod m {\n    impl<T> fmt::Display for Bar<T> {\n        /// Shows it.\n        fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {\n            fn helper() {}\n            Ok(())\n        }\n    }\n}\n";
    let c = chunks(Lang::Rust, src);
    let bar = named(&c, "Bar");
    assert_eq!(bar.kind, ChunkKind::Type);
    assert!(
        bar.text(src)
            .starts_with("/// A thing.\n#[derive(Debug)]\n")
    );
    let m = named(&c, "m");
    assert_eq!(m.kind, ChunkKind::Header);
    let imp = named(&c, "m.Bar");
    assert_eq!(imp.kind, ChunkKind::Header);
    let fmt = named(&c, "m.Bar.fmt");
    assert_eq!(fmt.kind, ChunkKind::Function);
    assert!(fmt.text(src).starts_with("        /// Shows it.\n"));
    assert!(fmt.text(src).contains("fn helper"));
    let footers: Vec<_> = c.iter().filter(|c| c.kind == ChunkKind::Footer).collect();
    assert_eq!(footers.len(), 2);
    assert!(footers.iter().all(|f| f.text(src).trim() == "}"));
}

#[test]
fn javascript_exports_and_arrow_functions_are_functions() {
    let src = "const x = require('x');\n\n/** Adds. */\nexport function add(a, b) {\n  return a + b;\n}\n\nexport const sub = (a, b) => {\n  return a - b;\n};\n\nexport default class C extends D {\n  static n = 1;\n  get v() { return 1; }\n  run() {}\n}\n\nmodule.exports.f = function () {};\n";
    let c = chunks(Lang::JavaScript, src);
    let add = named(&c, "add");
    assert_eq!(add.kind, ChunkKind::Function);
    assert!(add.text(src).starts_with("/** Adds. */\nexport function"));
    let sub = named(&c, "sub");
    assert_eq!(sub.kind, ChunkKind::Function);
    assert!(sub.text(src).starts_with("export const sub"));
    assert!(sub.text(src).contains("};\n"));
    let class = named(&c, "C");
    assert_eq!(class.kind, ChunkKind::Header);
    assert!(class.text(src).starts_with("export default class C"));
    let h = c
        .iter()
        .position(|x| x.name.as_deref() == Some("C"))
        .unwrap();
    assert_eq!(named(&c, "C.v").parent, Some(h));
    assert_eq!(named(&c, "C.run").parent, Some(h));
    assert_eq!(named(&c, "f").kind, ChunkKind::Function);
}

#[test]
fn typescript_and_tsx_types_and_classes() {
    let src = "export interface P { a: number }\ntype Q = string;\nexport enum E { A }\n\nexport abstract class K<T> {\n  abstract go(): void;\n  private h = (x: T) => x;\n}\n";
    for lang in [Lang::TypeScript, Lang::Tsx] {
        let c = chunks(lang, src);
        assert_eq!(named(&c, "P").kind, ChunkKind::Type);
        assert_eq!(named(&c, "Q").kind, ChunkKind::Type);
        assert_eq!(named(&c, "E").kind, ChunkKind::Type);
        assert_eq!(named(&c, "K").kind, ChunkKind::Header);
        assert_eq!(named(&c, "K.go").kind, ChunkKind::Function);
        assert_eq!(named(&c, "K.h").kind, ChunkKind::Function);
    }
}

#[test]
fn go_methods_are_named_by_receiver() {
    let src = "package p\n\n// T is a thing.\ntype T struct{ n int }\n\n// Get gets.\nfunc (t *T) Get() int { return t.n }\n\nfunc (l List[E]) Len() int { return 0 }\n\nfunc F() {}\n";
    let c = chunks(Lang::Go, src);
    assert_eq!(named(&c, "T").kind, ChunkKind::Type);
    let get = named(&c, "T.Get");
    assert!(get.text(src).starts_with("// Get gets.\nfunc"));
    assert_eq!(named(&c, "List.Len").kind, ChunkKind::Function);
    assert_eq!(named(&c, "F").kind, ChunkKind::Function);
}

#[test]
fn java_nested_classes_and_javadoc() {
    let src = "package p;\n\nimport java.util.List;\n\n/** Outer. */\npublic class Outer {\n    private int n;\n\n    /** Ctor. */\n    public Outer() {}\n\n    @Override\n    public String toString() { return \"\"; }\n\n    static class Inner {\n        void go() { new Runnable() { public void run() {} }; }\n    }\n\n    enum Color { RED, GREEN }\n}\n";
    let c = chunks(Lang::Java, src);
    let outer = c
        .iter()
        .position(|x| x.name.as_deref() == Some("Outer"))
        .unwrap();
    assert_eq!(c[outer].kind, ChunkKind::Header);
    assert!(c[outer].text(src).starts_with("/** Outer. */\n"));
    assert!(
        named(&c, "Outer.Outer")
            .text(src)
            .starts_with("    /** Ctor. */\n")
    );
    let ts = named(&c, "Outer.toString");
    assert!(ts.text(src).starts_with("    @Override\n"));
    assert_eq!(ts.parent, Some(outer));
    let inner = c
        .iter()
        .position(|x| x.name.as_deref() == Some("Outer.Inner"))
        .unwrap();
    assert_eq!(c[inner].parent, Some(outer));
    assert_eq!(named(&c, "Outer.Inner.go").parent, Some(inner));
    assert_eq!(named(&c, "Outer.Color").kind, ChunkKind::Type);
    assert!(
        !c.iter()
            .any(|x| x.name.as_deref() == Some("Outer.Inner.go.run"))
    );
}

#[test]
fn long_gaps_become_line_blocks() {
    let mut src = String::new();
    for i in 0..100 {
        src.push_str(&format!("X{i} = {i}\n"));
    }
    src.push_str("\ndef f():\n    pass\n");
    let c = chunks(Lang::Python, &src);
    assert!(c.len() >= 4, "{c:?}");
    assert!(c[..c.len() - 1].iter().all(|c| c.kind == ChunkKind::Lines));
    assert!(
        c.iter()
            .all(|c| c.text(&src).lines().count() <= MAX_GAP_LINES)
    );
    assert_eq!(c.last().unwrap().kind, ChunkKind::Function);
}

#[test]
fn garbage_falls_back_to_lines() {
    let src = "}}} ((( ]]] <<< @@@ ::: ;;; {{{\n@@@ }}} ))) ::: <<<\n".repeat(3);
    for lang in Lang::ALL {
        let c = chunks(lang, &src);
        assert!(
            c.iter().all(|c| c.kind == ChunkKind::Lines),
            "{lang:?}: {c:?}"
        );
    }
}

#[test]
fn leading_whitespace_joins_the_first_chunk() {
    let src = "\n\n\ndef f():\n    pass\n";
    let c = chunks(Lang::Python, src);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].kind, ChunkKind::Function);
    assert_eq!(
        chunks(Lang::Python, "  \n"),
        [Chunk::new(0..3, ChunkKind::TopLevel)]
    );
    assert!(chunks(Lang::Python, "").is_empty());
}

#[test]
fn clean_definitions_survive_errors_elsewhere() {
    let src = "def good(a):\n    return a\n\n\ndef bad(:\n    return )\n\n\nclass K:\n    def m(self):\n        pass\n\n\ndef tail():\n    pass\n";
    let c = chunks(Lang::Python, src);
    assert_eq!(named(&c, "good").kind, ChunkKind::Function);
    assert_eq!(named(&c, "tail").kind, ChunkKind::Function);
    assert_eq!(named(&c, "K.m").kind, ChunkKind::Function);
    assert!(
        !c.iter().any(|x| x.name.as_deref() == Some("bad")),
        "{c:#?}"
    );
    let js = "function ok() {\n  return 1;\n}\n\nfunction broken( {\n  return ;\n}\n\nclass C {\n  m() {}\n}\n";
    let c = chunks(Lang::JavaScript, js);
    assert_eq!(named(&c, "ok").kind, ChunkKind::Function);
}

#[test]
fn containers_without_members_are_types() {
    let c = chunks(
        Lang::Python,
        "class E(Exception):\n    \"\"\"Doc.\"\"\"\n\n    code = 1\n",
    );
    assert_eq!(c.len(), 1);
    assert_eq!(
        (c[0].kind, c[0].name.as_deref()),
        (ChunkKind::Type, Some("E"))
    );
    let c = chunks(
        Lang::Rust,
        "impl Marker for S {}\n\ntrait T {\n    const N: usize;\n}\n",
    );
    assert_eq!(named(&c, "S").kind, ChunkKind::Type);
    assert_eq!(named(&c, "T").kind, ChunkKind::Type);
}

#[test]
fn same_line_definitions_share_a_chunk() {
    // Two functions on one line cannot be cut at a line start: the second stays with
    // the first rather than starting mid-line.
    let src = "function a() {} function b() {}\nfunction c() {}\n";
    let c = chunks(Lang::JavaScript, src);
    assert_eq!(c.len(), 2, "{c:#?}");
    assert_eq!(c[0].text(src), "function a() {} function b() {}\n");
    assert_eq!(c[1].name.as_deref(), Some("c"));
}

#[test]
fn deep_nesting_does_not_overflow() {
    let deep = format!("x = {}1{} +\n", "(".repeat(20_000), ")".repeat(20_000));
    for lang in [Lang::Python, Lang::JavaScript] {
        chunks(lang, &deep);
    }
}

#[test]
fn unusual_impl_types_still_hold_their_members() {
    let src = "impl<T: Show> Show for &T {\n    fn show(&self) {}\n}\n\nimpl<T> Show for Vec<T> {\n    fn show(&self) {}\n}\n";
    let c = chunks(Lang::Rust, src);
    assert_eq!(named(&c, "&T").kind, ChunkKind::Header);
    assert_eq!(named(&c, "&T.show").kind, ChunkKind::Function);
    assert_eq!(named(&c, "Vec").kind, ChunkKind::Header);
    assert_eq!(named(&c, "Vec.show").kind, ChunkKind::Function);
}

#![allow(clippy::unwrap_used)]
use pith::segment::{Chunker, ProseChunker};
#[test]
fn smoke() {
    let t = "# Hi\n\nMr. Smith went to Washington. He paid $3.50 for it! See https://x.com/a.b?c=d. Then `a.b()`. Done.\n\n- one. Two.\n- three\n\n```\ncode.\n\n```\n| a | b |\n|---|---|\n\n日本語。です。\n";
    for c in ProseChunker.chunk(t) { println!("{:?} {:?}", c.kind, c.text(t)); }
}

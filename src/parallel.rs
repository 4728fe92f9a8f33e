//! A scoped parallel map over the machine's cores, for per-document work.

/// Applies `f` to every item on up to `available_parallelism` threads, keeping order.
pub(crate) fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || items.len() < 2 {
        return items.iter().map(f).collect();
    }
    let per = items.len().div_ceil(threads);
    let mut parts = items.chunks(per);
    // The last part runs on the calling thread: one spawn fewer, and a long-lived caller
    // keeps the fast path of per-thread caches (the tokenizer's regex scratch space
    // belongs to the first thread that used it; a fresh thread takes a locked slow path
    // on every match).
    let last = parts.next_back().unwrap_or_default();
    std::thread::scope(|s| {
        let handles: Vec<_> = parts
            .map(|part| {
                let f = &f;
                s.spawn(move || part.iter().map(f).collect::<Vec<R>>())
            })
            .collect();
        let mine: Vec<R> = last.iter().map(&f).collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(v) => v,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .chain(mine)
            .collect()
    })
}

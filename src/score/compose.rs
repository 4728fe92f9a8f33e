//! Value composition: how a unit's relevance, information and salience become the one
//! value selection reads, and the structure-aware lifts on top — records of tool output
//! the query points at, the entry a reference page gives a named function, a JSON array
//! item valued as one.

use crate::segment::{Chunk, ChunkKind};

/// Weight of query-less information in a query-aware value: it only orders the units the
/// query says nothing about (relevance is normalised to 0..=1).
pub(crate) const INFORMATION_PRIOR: f64 = 0.05;

/// Weight of a tool-output line's salience (errors, failures, summaries; see
/// [`crate::score::salience`]), and of its value for the query. Salience weighs more than
/// the redundancy penalty can take (at most the preset's `redundancy`, 0.5 in `rag`), so
/// sixteen alike `FAILED` lines are all kept before any line that merely matches the
/// query; among salient lines redundancy still orders.
pub(crate) const SALIENCE: f64 = 1.5;
pub(crate) const QUERY_SHARE: f64 = 0.4;

/// Lines of a record (a commit, a hunk, a folder, one file's hits; see
/// [`crate::segment::output::records`]) that the query points at are salient: each line
/// gets the record's share of its best relevance (relative to the best record's), on the
/// scale of salience, so the commit the query names outranks the header lines of every
/// other commit. Only around where it points: the record's opening lines (a commit's
/// header and subject, a hunk's header) and the lines within [`RECORD_REACH`] of its best
/// one, so one matching line does not bring a 400-line new file of a diff whole.
pub(crate) fn lift_records(
    kind: crate::segment::OutputKind,
    texts: &[&str],
    relevance: &[f64],
    values: &mut [f64],
) {
    let (record, share) = crate::segment::output::records(kind, texts);
    // Each record's best line and its best relevance. In a listing the best line is the
    // one worth most, a file the query names (`meta_test.go` for its tests) over one its
    // words match more.
    let listing = kind == crate::segment::OutputKind::Listing;
    let key = |i: usize| if listing { values[i] } else { relevance[i] };
    let mut best: std::collections::HashMap<usize, (usize, f64)> = std::collections::HashMap::new();
    for (i, (r, &rel)) in record.iter().zip(relevance).enumerate() {
        if let Some(r) = r {
            let b = best.entry(*r).or_insert((i, rel));
            if key(i) > key(b.0) {
                b.0 = i;
            }
            b.1 = b.1.max(rel);
        }
    }
    // A diff's hunks are read under their file: a file the query points at brings its
    // hunks (from their headers on) up to a share of its relevance, as their own best.
    if kind == crate::segment::OutputKind::Diff {
        let mut file = None;
        for (i, r) in record.iter().enumerate() {
            if *r != Some(i) {
                continue;
            }
            if texts[i].starts_with("diff --git ") {
                file = Some(i);
            } else if !texts[i].starts_with("@@ ") {
                // A commit of `git log -p`: its own record, under no file.
                file = None;
            } else if let Some(f) = file
                && let Some(&(_, file_rel)) = best.get(&f)
                && let Some(hunk) = best.get_mut(&i)
                && FILE_SHARE * file_rel > hunk.1
            {
                *hunk = (i, FILE_SHARE * file_rel);
            }
        }
    }
    // Relative to the best record: the one the query points at most is kept first.
    let top = best.values().map(|b| b.1).fold(0.0, f64::max);
    if top <= 0.0 {
        return;
    }
    // A hunk whose header names the function the query names (its salience says so) is
    // the one asked about, however few of the query's words its lines share: the best.
    let mut asked = std::collections::HashSet::new();
    if kind == crate::segment::OutputKind::Diff {
        for (r, b) in best.iter_mut() {
            if texts[*r].starts_with("@@ ") && values[*r] >= SALIENCE {
                b.1 = top;
                asked.insert(*r);
            }
        }
    }
    // A listing's neighbours are only alphabetical: a file needs its folder's header to
    // make a path, nothing around it.
    let (head, reach) = match kind {
        crate::segment::OutputKind::Listing => (1, 0),
        _ => (RECORD_HEAD, RECORD_REACH),
    };
    for (i, (r, v)) in record.iter().zip(values.iter_mut()).enumerate() {
        if let Some(r) = r {
            let (at, rel) = best[r];
            if i - r < head || i.abs_diff(at) <= reach {
                // A commit is its head (hash, author, date, subject): the other files of
                // its stat around the one asked about come after it.
                let near = if kind == crate::segment::OutputKind::GitLog && i - r >= head && i != at
                {
                    STAT_SHARE
                } else {
                    1.0
                };
                // Each line keeps its own relevance on top, so within a lifted record
                // the line the query names comes before its neighbours.
                *v = v.max(near * SALIENCE * share * rel / top + QUERY_SHARE * relevance[i]);
            } else if asked.contains(r) {
                // The rest of an asked hunk is what changed in the function asked about:
                // read top-down, its changes before their context, above other hunks.
                let changed = texts[i].starts_with(['+', '-']);
                let place = ASKED_DECAY * (i - r) as f64 / texts.len() as f64;
                let tail = if changed { ASKED_CHANGE } else { ASKED_CONTEXT };
                *v = v.max(SALIENCE * share * (tail - place));
            }
        }
    }
    // A listed file is a path only with its folder's header: the header comes right
    // after the best file of its folder, before the other files the query points at.
    if listing {
        let mut folder_best: std::collections::HashMap<usize, f64> =
            std::collections::HashMap::new();
        for (i, r) in record.iter().enumerate() {
            if let Some(r) = r
                && *r != i
            {
                let b = folder_best.entry(*r).or_insert(0.0);
                *b = b.max(values[i]);
            }
        }
        for (h, b) in folder_best {
            values[h] = values[h].max(b - HEADER_GAP);
        }
    }
}

/// How far below the best file of its folder a listing's folder header ranks: just
/// below it, so the file comes first and its path right after.
const HEADER_GAP: f64 = 1e-3;

/// Shares of an asked hunk's lift that its changed lines and its context lines past
/// [`RECORD_REACH`] get (see [`lift_records`]): above the hunks the query's file brings
/// ([`FILE_SHARE`]), each a little less the further down it is (by [`ASKED_DECAY`] of its
/// place in the output), so a long hunk is kept from its header on.
const ASKED_CHANGE: f64 = 0.95;
const ASKED_CONTEXT: f64 = 0.85;
const ASKED_DECAY: f64 = 0.05;

/// Share of a lifted commit's lift that the lines of its stat around the asked one get
/// (see [`lift_records`]).
const STAT_SHARE: f64 = 0.6;

/// Share of its file's relevance a hunk of a diff gets as its own (see [`lift_records`]):
/// below a hunk the query points at itself.
const FILE_SHARE: f64 = 0.8;

/// Opening lines of a record that come with it: a commit's header, author, date and
/// subject; a hunk's header.
const RECORD_HEAD: usize = 5;

/// Lines on each side of a record's best line that come with it: the context a hunk
/// shows, the files next to a match in a commit's stat.
const RECORD_REACH: usize = 12;

/// Units of an entry's description that come with its signature.
const ENTRY_UNITS: usize = 3;

/// Most units an entry reaches past its signature, the ones it passes over included: a
/// history table, an "Added in" line and a parameter list before the description (Node's
/// API docs).
const ENTRY_REACH: usize = 24;

/// Whether a unit of an entry is its description rather than what the page puts before
/// it: a sentence of a few words with no line of a list or of a version table in it.
fn describes(unit: &str) -> bool {
    let aside = |line: &str| {
        let t = line.trim();
        t.starts_with(['•', '□', '◦', '☆', '*', '-', '+', '|'])
            || t.starts_with("Added in")
            || (t.starts_with('v') && t[1..].starts_with(|c: char| c.is_ascii_digit()))
    };
    !unit.lines().any(aside) && unit.split_whitespace().count() >= 4
}

/// Reference pages (a library's docs as text): the entry of a name the query asks about —
/// its signature and the first sentences that describe it — is worth as much as the best
/// match, since a page about `json` matches `json` everywhere and the entry says what
/// `dumps` does. An entry ends at the next signature.
pub(crate) fn api_entries(
    texts: &[&str],
    names: &std::collections::HashSet<String>,
    options: &std::collections::HashSet<String>,
    values: &mut [f64],
) {
    use crate::score::names::{opens_entry, option_term};
    let top = values.iter().copied().fold(0.0, f64::max);
    let mut i = 0;
    while i < texts.len() {
        if !options.is_empty() && option_term(texts[i]).iter().any(|o| options.contains(*o)) {
            i = option_entry(texts, i, top, values);
            continue;
        }
        if !opens_entry(texts[i], names) {
            i += 1;
            continue;
        }
        values[i] = values[i].max(top);
        let mut j = i + 1;
        let mut described = 0;
        while j < texts.len()
            && j <= i + ENTRY_REACH
            && described < ENTRY_UNITS
            && !opens_entry(texts[j], names)
        {
            values[j] = values[j].max(top * 0.95);
            described += usize::from(describes(texts[j]));
            j += 1;
        }
        i = j;
    }
}

/// Most units of an option's description that come with its term.
const OPTION_UNITS: usize = 8;

/// A manual's option the query names (`-acodec codec (input/output)`, `\--stat[=<n>]`):
/// its term and its description — to the end of the description's first paragraph or the
/// next term — are worth as much as the best match, since the description rarely repeats
/// the option's name. Returns the unit after the entry.
fn option_entry(texts: &[&str], term: usize, top: f64, values: &mut [f64]) -> usize {
    use crate::score::names::option_term;
    // A paragraph ends where the whitespace after a unit holds a blank line.
    let ends_paragraph = |t: &str| t[t.trim_end().len()..].matches('\n').count() >= 2;
    values[term] = values[term].max(top);
    // The description: the paragraph after a term that stands alone, else the rest of
    // the term's own.
    let mut j = term + 1;
    while j < texts.len() && j <= term + OPTION_UNITS && option_term(texts[j]).is_empty() {
        values[j] = values[j].max(top * 0.95);
        j += 1;
        if ends_paragraph(texts[j - 1]) {
            break;
        }
    }
    j
}

/// Share of an array item's best value that each of its parts gets: an item the query
/// points at (by one field) is kept with its other fields, not as a lone line.
const ITEM_SHARE: f64 = 0.9;

/// Extra value of an array's first and last items, which show its shape and its end.
const ITEM_EDGE: f64 = 0.1;

/// JSON arrays of items: an item split into its members is valued as one (each part gets
/// [`ITEM_SHARE`] of the best part), and the first and last items of an array count a
/// little more ([`ITEM_EDGE`]). Members of objects are left as scored.
pub(crate) fn json_items(text: &str, chunks: &[Chunk], query: Option<&str>, values: &mut [f64]) {
    let is_array = |h: usize| {
        chunks[h].kind == ChunkKind::Header && chunks[h].text(text).trim_end().ends_with('[')
    };
    // The outermost array element each chunk lies in (itself, for an element).
    let item: Vec<Option<usize>> = (0..chunks.len())
        .map(|i| {
            let mut found = None;
            let mut at = i;
            while let Some(p) = chunks[at].parent {
                if is_array(p) && chunks[at].kind != ChunkKind::Footer {
                    found = Some(at);
                }
                at = p;
            }
            found
        })
        .collect();
    let mut best: std::collections::HashMap<usize, f64> = std::collections::HashMap::new();
    for (i, it) in item.iter().enumerate() {
        if let Some(it) = it {
            let b = best.entry(*it).or_insert(0.0);
            *b = b.max(values[i]);
        }
    }
    let named: std::collections::HashMap<usize, f64> = query
        .map(|q| named_items(text, chunks, &item, q).into_iter().collect())
        .unwrap_or_default();
    // First and last element of each array.
    let mut ends: std::collections::HashMap<usize, (usize, usize)> =
        std::collections::HashMap::new();
    for (i, c) in chunks.iter().enumerate() {
        if let Some(p) = c.parent
            && c.kind != ChunkKind::Footer
            && is_array(p)
        {
            ends.entry(p).and_modify(|e| e.1 = i).or_insert((i, i));
        }
    }
    let edges: std::collections::HashSet<usize> =
        ends.values().flat_map(|&(a, b)| [a, b]).collect();
    for (i, it) in item.iter().enumerate() {
        if let Some(it) = it {
            let edge = if edges.contains(it) { ITEM_EDGE } else { 0.0 };
            let named = named.get(it).copied().unwrap_or(0.0);
            values[i] = values[i].max(ITEM_SHARE * best[it]) + edge + named;
        }
    }
}

/// How much each array item holds of the string values the query names verbatim
/// (`et-0/1/1`, `test1-spine2`): word-level scores split `et-0/1/1` into `et`, `0` and `1`,
/// which every sibling has. A value's weight is its rarity among the items, `ln(1 + N/n)`,
/// and an item's share is the weight of the values it holds over that of all the named
/// values: 1 for the item that has them all, little for one that shares only a common
/// value (the device every item is on). It is added to the item's value: an item the
/// query names outranks one that shares more of its words.
fn named_items(
    text: &str,
    chunks: &[Chunk],
    item: &[Option<usize>],
    query: &str,
) -> Vec<(usize, f64)> {
    use std::collections::{HashMap, HashSet};
    let query = query.to_lowercase();
    let mut holders: HashMap<String, HashSet<usize>> = HashMap::new();
    for (c, it) in chunks.iter().zip(item) {
        let Some(it) = it else { continue };
        for v in string_values(c.text(text))
            .into_iter()
            .filter(|v| is_name_like(v))
        {
            let v = v.to_lowercase();
            if names_verbatim(&query, &v) {
                holders.entry(v).or_default().insert(*it);
            }
        }
    }
    let items: HashSet<usize> = item.iter().flatten().copied().collect();
    let n = items.len() as f64;
    let weight = |h: &HashSet<usize>| (1.0 + n / h.len() as f64).ln();
    let total: f64 = holders.values().map(weight).sum();
    if total <= 0.0 {
        return Vec::new();
    }
    let mut share: HashMap<usize, f64> = HashMap::new();
    for h in holders.values() {
        for &it in h {
            *share.entry(it).or_insert(0.0) += weight(h) / total;
        }
    }
    share.into_iter().collect()
}

/// Whether a value reads as a name rather than a word: a digit or a joiner in it
/// (`test1-spine2`, `et-0/1/1`, `Port 38`) or a capital inside it (`BrianTheCoder`). A
/// plain word (`open`, `closed`) is said by questions about any item.
fn is_name_like(value: &str) -> bool {
    value.chars().count() >= 2
        && (value
            .chars()
            .any(|c| c.is_ascii_digit() || "-_/.@:#".contains(c))
            || value.chars().skip(1).any(char::is_uppercase))
}

/// Whether `value` occurs in `query` between non-word characters.
fn names_verbatim(query: &str, value: &str) -> bool {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    query.match_indices(value).any(|(at, _)| {
        !word(query[..at].chars().next_back()) && !word(query[at + value.len()..].chars().next())
    })
}

/// The string values in a piece of JSON (not the keys), as written between their quotes.
fn string_values(json: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let bytes = json.as_bytes();
    let mut i = 0;
    while let Some(open) = json[i..].find('"').map(|o| i + o) {
        let mut close = open + 1;
        while close < bytes.len() && bytes[close] != b'"' {
            close += if bytes[close] == b'\\' { 2 } else { 1 };
        }
        if close >= bytes.len() {
            break;
        }
        let key = json[close + 1..].trim_start().starts_with(':');
        if !key {
            out.push(&json[open + 1..close]);
        }
        i = close + 1;
    }
    out
}

/// Cosines below zero say nothing: clip them, then scale by the largest.
pub(crate) fn clip_normalise(values: Vec<f64>) -> Vec<f64> {
    normalise(values.into_iter().map(|v| v.max(0.0)).collect())
}

/// Scales values into 0..=1 by the largest one.
pub(crate) fn normalise(values: Vec<f64>) -> Vec<f64> {
    let max = values.iter().copied().fold(0.0_f64, f64::max);
    if max > 0.0 && max.is_finite() {
        values.into_iter().map(|v| v / max).collect()
    } else {
        vec![0.0; values.len()]
    }
}

/// Each function of one file is worth at least `share` of the functions next to it (the
/// nearest before and after, other chunks skipped): siblings answer alike questions, and a
/// question worded like one function's doc may mean its neighbour (see
/// [`crate::preset::ScoreConfig::neighbour_share`]). Lifts read the values as they were.
pub(crate) fn lift_neighbours(chunks: &[Chunk], share: f64, values: &mut [f64]) {
    let functions: Vec<usize> = (0..chunks.len().min(values.len()))
        .filter(|&i| chunks[i].kind == ChunkKind::Function)
        .collect();
    let before: Vec<f64> = functions.iter().map(|&i| values[i]).collect();
    for (k, &i) in functions.iter().enumerate() {
        let prev = k.checked_sub(1).map_or(0.0, |p| before[p]);
        let next = before.get(k + 1).copied().unwrap_or(0.0);
        values[i] = values[i].max(share * prev.max(next));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::OutputKind;

    /// Interfaces of one device from NetBox's API (pynetbox's recorded
    /// `dcim/interfaces.json`), pretty-printed: word scores cannot tell `et-0/1/1` from
    /// its siblings, the named value can.
    #[test]
    fn the_item_a_query_names_by_value_ranks_first() {
        let item = |id: u32, name: &str| {
            format!(
                "    {{\n      \"id\": {id},\n      \"device\": {{\n        \"id\": 6,\n        \"name\": \"test1-spine2\"\n      }},\n      \"name\": \"{name}\",\n      \"mgmt_only\": false\n    }}"
            )
        };
        // Enough of them (et-0/0/0 to et-0/4/3) that the array is cut into its items.
        let items: Vec<String> = (0..20)
            .map(|i| item(160 + i, &format!("et-0/{}/{}", i / 4, i % 4)))
            .collect();
        let text = format!(
            "{{\n  \"count\": 20,\n  \"results\": [\n{}\n  ]\n}}\n",
            items.join(",\n")
        );
        let chunks = crate::DocKind::Json.chunk(&text, &Default::default());
        let query = "What kind of port is et-0/1/1 on test1-spine2?";
        let mut values = vec![0.5; chunks.len()];
        json_items(&text, &chunks, Some(query), &mut values);
        let value_of = |needle: &str| {
            let i = chunks
                .iter()
                .position(|c| c.text(&text).contains(needle))
                .expect("an item holds the name");
            values[i]
        };
        let asked = value_of("\"et-0/1/1\"");
        for other in ["\"et-0/1/0\"", "\"et-0/1/2\"", "\"et-0/0/1\""] {
            assert!(asked > value_of(other) + 0.5, "{values:?}");
        }
        // Without a query the siblings are alike but for the edges.
        let mut plain = vec![0.5; chunks.len()];
        json_items(&text, &chunks, None, &mut plain);
        assert!(plain.iter().all(|&v| v <= 0.5 + ITEM_EDGE), "{plain:?}");
    }

    #[test]
    fn string_values_skip_keys_and_escapes() {
        let json = r#"{"name": "a \"quoted\" b", "tags": ["x-1", "y"], "n": 3}"#;
        assert_eq!(string_values(json), [r#"a \"quoted\" b"#, "x-1", "y"]);
    }

    #[test]
    fn names_are_told_from_words() {
        for name in [
            "et-0/1/1",
            "test1-spine2",
            "Port 38",
            "BrianTheCoder",
            "CM4148",
        ] {
            assert!(is_name_like(name), "{name}");
        }
        for word in ["open", "closed", "Open", "a"] {
            assert!(!is_name_like(word), "{word}");
        }
        assert!(names_verbatim("is et-0/1/1 up?", "et-0/1/1"));
        assert!(!names_verbatim("is et-0/1/10 up?", "et-0/1/1"));
        assert!(!names_verbatim("ask test1-spine2x", "test1-spine2"));
    }

    /// Values of tool-output lines as `Prepared` composes them (salience and the query's
    /// share of `relevance`), then lifted by their records.
    fn lifted(kind: OutputKind, texts: &[&str], query: &str, relevance: &[f64]) -> Vec<f64> {
        let salience = crate::score::salience::salience(kind, texts, Some(query));
        let mut values: Vec<f64> = salience
            .iter()
            .zip(relevance)
            .map(|(s, r)| SALIENCE * s + QUERY_SHARE * r)
            .collect();
        lift_records(kind, texts, relevance, &mut values);
        values
    }

    #[test]
    fn a_diffs_named_file_lifts_its_hunks() {
        let texts = [
            "diff --git a/src/spans.rs b/src/spans.rs\n",
            "--- a/src/spans.rs\n",
            "+++ b/src/spans.rs\n",
            "@@ -128,6 +128,17 @@ pub fn parse(body: &[u8]) {\n",
            "+    Parser {\n",
            "+        pos: 0,\n",
            "diff --git a/src/other.rs b/src/other.rs\n",
            "@@ -1,2 +1,2 @@\n",
            "+    pos: 1,\n",
        ];
        // The query names the file: its header lines match, its hunk's lines do not.
        let relevance = [1.0, 1.0, 1.0, 0.1, 0.0, 0.0, 0.2, 0.0, 0.0];
        let mut values = vec![0.0; texts.len()];
        lift_records(OutputKind::Diff, &texts, &relevance, &mut values);
        let lifted = SALIENCE * 0.9 * FILE_SHARE;
        for i in 3..6 {
            assert!((values[i] - lifted).abs() < 0.05, "{i}: {values:?}");
        }
        // Another file's hunk has only its file's lesser share.
        assert!(values[8] < values[5] / 2.0, "{values:?}");
        // In `git log -p`, a commit after the named file's hunks inherits nothing.
        let texts = [
            "diff --git a/src/spans.rs b/src/spans.rs\n",
            "@@ -1,2 +1,2 @@\n",
            "commit 0123456789abcdef0123456789abcdef01234567\n",
            "Author: A <a@b.c>\n",
        ];
        let mut values = vec![0.0; texts.len()];
        lift_records(OutputKind::Diff, &texts, &[1.0, 0.0, 0.0, 0.0], &mut values);
        assert!(
            values[1] > 1.0 && values[2] == 0.0 && values[3] == 0.0,
            "{values:?}"
        );
    }

    #[test]
    fn the_hunk_whose_header_names_the_asked_function_is_the_asked_one() {
        let texts = [
            "diff --git a/src/jinja2/filters.py b/src/jinja2/filters.py\n",
            "@@ -415,7 +392,7 @@ def do_sort(\n",
            "-        {% for user users|sort(attribute=\"age,name\") %}\n",
            "+        {% for user in users|sort(attribute=\"age,name\") %}\n",
            "@@ -610,7 +637,7 @@ def sync_do_join(\n",
            "-    value: t.Union[t.AsyncIterable, t.Iterable],\n",
            "+    value: t.Union[t.AsyncIterable[t.Any], t.Iterable[t.Any]],\n",
        ];
        let query = "What changed in the function sync_do_join in src/jinja2/filters.py?";
        // The file's header matches the query's path words; the hunks' lines do not.
        let relevance = [1.0, 0.2, 0.0, 0.0, 0.5, 0.0, 0.0];
        let values = lifted(OutputKind::Diff, &texts, query, &relevance);
        assert!(
            values[5].min(values[6]) > values[2].max(values[3]) + 0.2,
            "{values:?}"
        );
    }

    #[test]
    fn a_long_asked_hunk_is_kept_from_its_header_on_above_the_files_other_hunks() {
        // An earlier hunk of the asked file, then the asked hunk: 40 lines, most of them
        // past the reach of its header.
        let mut texts = vec![
            "diff --git a/src/cachetools/__init__.py b/src/cachetools/__init__.py\n",
            "@@ -469,19 +468,26 @@ class TTLCache(_TimedCache):\n",
            "-        \"\"\"Remove expired items from the cache.\"\"\"\n",
            "+        \"\"\"Remove expired items from the cache and return them.\"\"\"\n",
            "@@ -632,150 +644,28 @@ def cached(cache, key=keys.hashkey, lock=None):\n",
        ];
        for k in 0..40 {
            texts.push(if k % 4 == 0 {
                "     context\n"
            } else {
                "-    removed\n"
            });
        }
        let query = "What changed in the function cached in src/cachetools/__init__.py?";
        let mut relevance = vec![0.0; texts.len()];
        relevance[0] = 1.0;
        relevance[4] = 0.3;
        let values = lifted(OutputKind::Diff, &texts, query, &relevance);
        let (late_change, late_context) = (texts.len() - 2, texts.len() - 4);
        assert_eq!(texts[late_context], "     context\n");
        // Past the reach, the asked hunk's lines still outrank the other hunk's...
        assert!(values[late_change] > values[2].max(values[3]), "{values:?}");
        assert!(
            values[late_context] > values[2].max(values[3]),
            "{values:?}"
        );
        // ... its changes outrank its context, and earlier lines come first.
        assert!(values[late_change] > values[late_context], "{values:?}");
        assert!(values[30] > values[late_change], "{values:?}");
    }

    #[test]
    fn a_commits_head_comes_before_its_other_files() {
        let texts = [
            "commit 589cc4947a6a8094500eb3ba26da94382b5de5fb\n",
            "Author: A <a@b.c>\n",
            "Date:   Wed Jan 3 12:00:00 2024 +0000\n\n",
            "    Import packaging 23.1 release\n    \n",
            "    Unpacked from the packaging-23.1 sdist.\n\n",
            " tests/test_requirements.py |  62 +++++++++++-\n",
            " tests/test_specifiers.py   |   2 +\n",
            " tests/test_tags.py         |  27 ++++--\n",
        ];
        // The query names one file; its neighbours share its words ("tests", "py").
        let relevance = [0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 1.0, 0.5];
        let mut values = vec![0.0; texts.len()];
        lift_records(OutputKind::GitLog, &texts, &relevance, &mut values);
        assert!(values[6] > values[3] && values[3] > values[5], "{values:?}");
        assert_eq!(values[5], values[7], "{values:?}");
    }

    #[test]
    fn a_listed_file_the_query_names_comes_first_then_its_folders_header() {
        let texts = [
            ".:\n",
            "command.go\n",
            "doc\n",
            "\n",
            "./doc:\n",
            "man_docs.go\n",
            "rest_docs.go\n",
            "rest_docs_test.go\n",
            "util.go\n",
        ];
        let query = "Where are the tests for `rest_docs`? Give me the file path.";
        // The module matches the query's words best (it is shorter); the test file is
        // what it asks for.
        let relevance = [0.0, 0.0, 0.1, 0.0, 0.1, 0.2, 1.0, 0.6, 0.0];
        let values = lifted(OutputKind::Listing, &texts, query, &relevance);
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
        assert_eq!(order[..3], [7, 4, 6], "{values:?}");
    }

    #[test]
    fn an_entry_reaches_past_its_history_and_parameters_to_its_description() {
        // Node's API docs as text: the signature, a version table, the parameter list
        // (sentences of list items), then the description.
        let texts = [
            "path.extname(path)#\n\n",
            "History\n\n",
            "Version Changes\nv6.0.0  Passing a non-string as the path argument will throw now.\n\n",
            "v0.1.25 Added in: v0.1.25\n\n",
            "• path <string>\n  • Returns: <string>\n\n",
            "The path.extname() method returns the extension of the path. ",
            "If there is no . in the last portion of the path, an empty string is returned.\n\n",
            "For example, it reads the last dot. ",
            "// Returns: '.html'\n",
            "// Returns: '.'\n",
            "Later prose that says something else entirely.\n",
        ];
        let names = crate::score::names::query_names("What does path.extname() do?");
        let mut values = vec![0.0; texts.len()];
        values[10] = 1.0;
        api_entries(&texts, &names, &Default::default(), &mut values);
        assert_eq!(values[0], 1.0, "{values:?}");
        // Everything up to three sentences of description, nothing after.
        assert!(values[1..8].iter().all(|&v| v >= 0.95), "{values:?}");
        assert!(values[8] == 0.0 && values[9] == 0.0, "{values:?}");
        assert!(describes(texts[5]) && !describes(texts[2]) && !describes(texts[4]));
    }

    #[test]
    fn an_asked_option_brings_its_description() {
        let texts = [
            "-vcodec codec (output)\n\n",
            "Set the video codec. ",
            "This is an alias for -codec:v.\n\n",
            "-acodec codec (input/output)\n\n",
            "Set the audio codec. ",
            "This is an alias for -codec:a.\n\n",
            "Later prose.\n\n",
            "--rcfile file\n    Execute commands from file. ",
            "See INVOCATION.\n",
            "--norc\n    Do not read it.\n",
        ];
        let none = std::collections::HashSet::new();
        let asked = |q: &str| {
            let mut values = vec![0.0; texts.len()];
            values[6] = 1.0;
            let options = crate::score::names::query_options(q);
            api_entries(&texts, &none, &options, &mut values);
            values
        };
        // The term and its description's paragraph, nothing after it.
        let v = asked("What does -acodec do?");
        assert_eq!(v[3], 1.0, "{v:?}");
        assert!(v[4] >= 0.95 && v[5] >= 0.95, "{v:?}");
        assert!(v[0] == 0.0 && v[1] == 0.0 && v[2] == 0.0, "{v:?}");
        // A term whose description shares its paragraph ends at the next term.
        let v = asked("bash's --rcfile option");
        assert!(v[7] == 1.0 && v[8] >= 0.95 && v[9] == 0.0, "{v:?}");
        // A query that names no option lifts nothing.
        assert_eq!(asked("What does the audio codec option do?")[3], 0.0);
    }
}

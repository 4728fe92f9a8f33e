//! Aggregating outcomes into rows: one per method × size × group, plus each method × size
//! over all groups, with every metric as a fraction in 0..1.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Outcome, Size};

/// One line of the results table, and one object of the JSON output.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// The task's name.
    pub task: String,
    /// The method's name.
    pub method: String,
    /// `4x` (a ratio of each example's tokens) or `8k` (a fixed budget).
    pub size: String,
    /// `all`, or the group (gold position, length × depth, repository).
    pub group: String,
    /// Cases aggregated.
    pub examples: usize,
    /// answer_recall, gold_kept, value_recall, needle_recall, function_recall.
    #[serde(flatten)]
    pub metrics: BTreeMap<String, f64>,
    /// Mean tokens before over mean tokens after.
    pub achieved_ratio: f64,
    /// Mean tokens of the inputs.
    pub tokens_before: f64,
    /// Mean tokens of the outputs.
    pub tokens_after: f64,
    /// Mean compression time.
    pub latency_ms_mean: f64,
    /// 95th percentile of compression time.
    pub latency_ms_p95: f64,
    /// Outputs over their budget: the promise says this is always 0.
    pub over_budget: usize,
}

/// Rows in a stable order: by method as given, size as given, `all` first, then groups.
pub fn rows(task: &str, outcomes: &[Outcome], methods: &[String], sizes: &[Size]) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut groups: Vec<&str> = Vec::new();
    for o in outcomes {
        if !groups.contains(&o.group.as_str()) {
            groups.push(&o.group);
        }
    }
    for method in methods {
        for size in sizes {
            let of = |group: Option<&str>| -> Vec<&Outcome> {
                outcomes
                    .iter()
                    .filter(|o| {
                        &o.method == method && o.size == *size && group.is_none_or(|g| o.group == g)
                    })
                    .collect()
            };
            rows.extend(row(task, method, *size, "all", &of(None)));
            if groups.len() > 1 {
                for g in &groups {
                    rows.extend(row(task, method, *size, g, &of(Some(g))));
                }
            }
        }
    }
    rows
}

fn row(task: &str, method: &str, size: Size, group: &str, outs: &[&Outcome]) -> Option<Row> {
    if outs.is_empty() {
        return None;
    }
    let n = outs.len() as f64;
    let metrics = tally(outs.iter().copied());
    let mut latencies: Vec<f64> = outs.iter().map(|o| o.latency_ms).collect();
    latencies.sort_by(f64::total_cmp);
    let p95 =
        latencies[((latencies.len() as f64 * 0.95).ceil() as usize).clamp(1, latencies.len()) - 1];
    let before = outs.iter().map(|o| o.tokens_before as f64).sum::<f64>() / n;
    let after = outs.iter().map(|o| o.tokens_after as f64).sum::<f64>() / n;
    Some(Row {
        task: task.to_owned(),
        method: method.to_owned(),
        size: size.label(),
        group: group.to_owned(),
        examples: outs.len(),
        metrics: metrics
            .into_iter()
            .map(|(k, (p, t))| (k.to_owned(), p as f64 / t as f64))
            .collect(),
        achieved_ratio: if after > 0.0 { before / after } else { 0.0 },
        tokens_before: before,
        tokens_after: after,
        latency_ms_mean: latencies.iter().sum::<f64>() / n,
        latency_ms_p95: p95,
        over_budget: outs.iter().filter(|o| o.tokens_after > o.budget).count(),
    })
}

/// Per metric, how many of the outcomes' checks passed and how many there were.
pub fn tally<'a>(
    outs: impl IntoIterator<Item = &'a Outcome>,
) -> BTreeMap<&'static str, (usize, usize)> {
    let mut metrics: BTreeMap<&'static str, (usize, usize)> = BTreeMap::new();
    for o in outs {
        for (name, passed) in &o.passed {
            let m = metrics.entry(*name).or_default();
            m.0 += usize::from(*passed);
            m.1 += 1;
        }
    }
    metrics
}

/// A markdown table of the rows (metrics as percentages).
pub fn table(rows: &[Row]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for r in rows {
        for k in r.metrics.keys() {
            if !names.contains(&k.as_str()) {
                names.push(k);
            }
        }
    }
    let mut out = format!(
        "| method | size | group | n | {} | ratio | tokens before → after | ms mean | ms p95 | over budget |\n",
        names.join(" | ")
    );
    out.push_str(&format!(
        "|---|---|---|---|{}---|---|---|---|---|\n",
        "---|".repeat(names.len())
    ));
    for r in rows {
        let metrics: Vec<String> = names
            .iter()
            .map(|n| {
                r.metrics
                    .get(*n)
                    .map_or("–".into(), |v| format!("{:.1}%", v * 100.0))
            })
            .collect();
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {:.2}x | {:.0} → {:.0} | {:.1} | {:.1} | {} |\n",
            r.method,
            r.size,
            r.group,
            r.examples,
            metrics.join(" | "),
            r.achieved_ratio,
            r.tokens_before,
            r.tokens_after,
            r.latency_ms_mean,
            r.latency_ms_p95,
            r.over_budget
        ));
    }
    out
}

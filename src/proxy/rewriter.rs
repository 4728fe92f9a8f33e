//! The contract between the server and whatever rewrites request bodies: the [`Rewriter`]
//! trait, what it returns, and the per-request [`Control`] read from `x-pith-*` headers.
//! The server knows only this; the compression engine implements it.

use axum::body::Bytes;
use axum::http::HeaderMap;

use super::policy::Api;

/// Per-request control (from `x-pith-*` headers).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Control {
    /// `x-pith-bypass`: forward the request unchanged.
    pub bypass: bool,
    /// Total context tokens the request should fit in.
    pub budget: Option<usize>,
    /// Compression ratio for each block.
    pub ratio: Option<f64>,
    /// One preset for every block.
    pub preset: Option<String>,
}

impl Control {
    /// Reads the control headers; a malformed value is the client's mistake (400).
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, String> {
        let get = |name: &str| -> Result<Option<&str>, String> {
            headers
                .get(name)
                .map(|v| {
                    v.to_str()
                        .map(str::trim)
                        .map_err(|_| format!("{name} is not text"))
                })
                .transpose()
        };
        let bypass = match get("x-pith-bypass")? {
            None => false,
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" => true,
                "0" | "false" | "no" => false,
                _ => return Err(format!("x-pith-bypass must be true or false, got {v:?}")),
            },
        };
        let budget = get("x-pith-budget")?
            .map(|v| {
                v.parse::<usize>()
                    .map_err(|_| format!("x-pith-budget must be a token count, got {v:?}"))
            })
            .transpose()?;
        let ratio = get("x-pith-ratio")?
            .map(|v| match v.parse::<f64>() {
                Ok(r) if r >= 1.0 && r.is_finite() => Ok(r),
                _ => Err(format!(
                    "x-pith-ratio must be a number of at least 1, got {v:?}"
                )),
            })
            .transpose()?;
        // Built-in names only: a request must not make the server read files (a preset
        // may otherwise be a path, whose parse errors would quote the file).
        let preset = get("x-pith-preset")?
            .filter(|v| !v.is_empty())
            .map(|v| {
                crate::Preset::builtin_names()
                    .find(|n| *n == v)
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        let names: Vec<&str> = crate::Preset::builtin_names().collect();
                        format!("x-pith-preset must be one of {}", names.join(", "))
                    })
            })
            .transpose()?;
        Ok(Control {
            bypass,
            budget,
            ratio,
            preset,
        })
    }
}

/// A rewritten request body and what it saved.
#[derive(Debug, Clone, PartialEq)]
pub struct Rewrite {
    /// The body to forward instead of the original.
    pub body: Bytes,
    /// Tokens of the compressed blocks before and after.
    pub tokens_before: usize,
    /// Tokens of the compressed blocks after.
    pub tokens_after: usize,
    /// Labels of the blocks that were compressed (reported in `x-pith-compressed`).
    pub blocks: Vec<String>,
    /// The presets that ran (reported in `x-pith-presets`), `auto` resolved.
    pub presets: Vec<String>,
}

/// Where a request's compressed blocks came from, reported in `x-pith-cache`: the worst
/// of its blocks (one computed block makes the request a miss).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CacheStatus {
    /// Every block from this process's memo.
    Hit,
    /// At least one block from the cache the replicas share, none computed.
    SharedHit,
    /// At least one block computed here.
    Miss,
}

impl CacheStatus {
    /// Every status, in the order `/metrics` lists them.
    pub const ALL: [CacheStatus; 3] = [CacheStatus::Hit, CacheStatus::SharedHit, CacheStatus::Miss];

    /// The header's value: `hit`, `shared-hit` or `miss`.
    pub fn label(self) -> &'static str {
        match self {
            CacheStatus::Hit => "hit",
            CacheStatus::SharedHit => "shared-hit",
            CacheStatus::Miss => "miss",
        }
    }
}

/// Why a body was not rewritten. Either way the original is forwarded unless the proxy
/// runs fail-closed, which answers 400 for [`RewriteError::Invalid`] (retrying cannot
/// help) and 500 for [`RewriteError::Failed`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RewriteError {
    /// The body (or a control value) is not a request the rewriter understands.
    #[error("{0}")]
    Invalid(String),
    /// The rewriter itself failed.
    #[error("{0}")]
    Failed(String),
}

impl From<String> for RewriteError {
    fn from(message: String) -> Self {
        RewriteError::Failed(message)
    }
}

impl From<&str> for RewriteError {
    fn from(message: &str) -> Self {
        RewriteError::Failed(message.to_owned())
    }
}

/// Decides whether and how to rewrite a request body. Called on a blocking thread (it is
/// CPU work); `Ok(None)` forwards the original bytes unchanged, `Err` fails open (the
/// original is forwarded) unless the proxy runs fail-closed.
pub trait Rewriter: Send + Sync {
    /// The rewritten body, `None` to forward the original.
    fn rewrite(
        &self,
        api: Api,
        control: &Control,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> Result<Option<Rewrite>, RewriteError>;

    /// [`Rewriter::rewrite`], and where the result came from (`x-pith-cache`); `None`
    /// when the rewriter keeps no cache or looked nothing up.
    fn rewrite_traced(
        &self,
        api: Api,
        control: &Control,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> Result<(Option<Rewrite>, Option<CacheStatus>), RewriteError> {
        self.rewrite(api, control, headers, body).map(|r| (r, None))
    }

    /// Series of the rewriter's own for `/metrics`, in the Prometheus text format.
    fn render_metrics(&self) -> String {
        String::new()
    }
}

/// The rewriter that never rewrites: pith as a transparent proxy.
#[derive(Debug, Clone, Copy, Default)]
pub struct Identity;

impl Rewriter for Identity {
    fn rewrite(
        &self,
        _: Api,
        _: &Control,
        _: &HeaderMap,
        _: &Bytes,
    ) -> Result<Option<Rewrite>, RewriteError> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn control_headers_parse_and_reject_nonsense() {
        let c = Control::from_headers(&headers(&[
            ("x-pith-bypass", "TRUE"),
            ("x-pith-budget", "500"),
            ("x-pith-ratio", " 4 "),
            ("x-pith-preset", "chat"),
        ]))
        .expect("valid");
        assert_eq!(
            c,
            Control {
                bypass: true,
                budget: Some(500),
                ratio: Some(4.0),
                preset: Some("chat".into())
            }
        );
        assert_eq!(
            Control::from_headers(&HeaderMap::new()),
            Ok(Control::default())
        );
        for (k, v) in [
            ("x-pith-bypass", "maybe"),
            ("x-pith-budget", "-1"),
            ("x-pith-ratio", "0.5"),
            ("x-pith-ratio", "NaN"),
            ("x-pith-preset", "/etc/passwd"),
            ("x-pith-preset", "compressors/rag.toml"),
        ] {
            assert!(
                Control::from_headers(&headers(&[(k, v)])).is_err(),
                "{k}: {v}"
            );
        }
    }
}

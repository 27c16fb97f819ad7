//! The batch engine: turn what a user typed into a list of models, probe them concurrently
//! under per-query and server-wide limits and one deadline, and report every row in order.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt};
use tokio::sync::Semaphore;

use crate::modelscope::{
    AccountBalance, BalanceError, ErrorCode, Failure, ProbeReport, Quota, Upstream,
};
use crate::secret::ApiSecret;

pub const MAX_MODEL_ID_CHARS: usize = 128;

/// Why a model id is refused before any upstream call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidModel {
    TooLong,
    NotOwnerSlashName,
    BadCharacter,
    DotDot,
}

impl InvalidModel {
    pub fn explain(self) -> &'static str {
        match self {
            Self::TooLong => "超过 128 个字符",
            Self::NotOwnerSlashName => "应为 owner/name 形式",
            Self::BadCharacter => "只能包含字母、数字和 - _ . 字符",
            Self::DotDot => "不能包含 ..",
        }
    }
}

/// One line of the batch, in the order the user gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelEntry {
    Valid(String),
    Invalid { id: String, reason: InvalidModel },
}

impl ModelEntry {
    pub fn id(&self) -> &str {
        match self {
            Self::Valid(id) | Self::Invalid { id, .. } => id,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("no model given")]
    Empty,
    #[error("{count} models given, at most {max} are allowed per query")]
    TooMany { count: usize, max: usize },
}

/// Checks one model id: `owner/name`, each part starting with a letter or digit and made of
/// `A-Z a-z 0-9 - _ .`, no `..`, at most 128 characters. The id only ever travels in a JSON
/// body, but a strict shape keeps odd input out of logs, pages and the database.
pub fn validate_model_id(id: &str) -> Result<(), InvalidModel> {
    if id.chars().count() > MAX_MODEL_ID_CHARS {
        return Err(InvalidModel::TooLong);
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if !id.chars().all(|c| allowed(c) || c == '/') {
        return Err(InvalidModel::BadCharacter);
    }
    let mut parts = id.split('/');
    let (Some(owner), Some(name), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(InvalidModel::NotOwnerSlashName);
    };
    let starts_well = |part: &str| part.starts_with(|c: char| c.is_ascii_alphanumeric());
    if !starts_well(owner) || !starts_well(name) {
        return Err(InvalidModel::NotOwnerSlashName);
    }
    if id.contains("..") {
        return Err(InvalidModel::DotDot);
    }
    Ok(())
}

/// Splits free text on commas, whitespace and newlines (the form field and the old string API).
pub fn split_model_text(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| c == ',' || c == '，' || c.is_whitespace())
}

/// Trims, drops empties, de-duplicates keeping the first occurrence, validates each id and
/// enforces the per-query maximum (counted after de-duplication).
pub fn prepare_models<'a>(
    raw: impl IntoIterator<Item = &'a str>,
    max: usize,
) -> Result<Vec<ModelEntry>, BatchError> {
    let mut seen = HashSet::new();
    let entries: Vec<ModelEntry> = raw
        .into_iter()
        .map(str::trim)
        .filter(|id| !id.is_empty() && seen.insert(*id))
        .map(|id| match validate_model_id(id) {
            Ok(()) => ModelEntry::Valid(id.to_owned()),
            Err(reason) => ModelEntry::Invalid {
                id: id.to_owned(),
                reason,
            },
        })
        .collect();
    match entries.len() {
        0 => Err(BatchError::Empty),
        count if count > max => Err(BatchError::TooMany { count, max }),
        _ => Ok(entries),
    }
}

/// One model's row of a finished query.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelResult {
    pub model: String,
    pub quota: Quota,
    pub status: Option<u16>,
    pub failure: Option<Failure>,
    pub latency_ms: u64,
}

impl ModelResult {
    pub fn is_ok(&self) -> bool {
        self.failure.is_none()
    }

    pub fn error_code(&self) -> Option<ErrorCode> {
        self.failure.as_ref().map(|f| f.code)
    }

    fn from_probe(model: String, report: ProbeReport) -> Self {
        Self {
            model,
            quota: report.quota,
            status: report.status,
            failure: report.failure,
            latency_ms: millis(report.latency),
        }
    }

    fn failed(model: String, failure: Failure, latency: Duration) -> Self {
        Self {
            model,
            quota: Quota::default(),
            status: None,
            failure: Some(failure),
            latency_ms: millis(latency),
        }
    }
}

/// A finished query: rows in input order, and how long it took.
#[derive(Debug, Clone)]
pub struct BatchReport {
    pub results: Vec<ModelResult>,
    pub elapsed: Duration,
}

impl BatchReport {
    pub fn ok_count(&self) -> usize {
        self.results.iter().filter(|r| r.is_ok()).count()
    }

    pub fn failed_count(&self) -> usize {
        self.results.len() - self.ok_count()
    }
}

#[derive(Debug, Clone, Copy)]
pub struct QueryLimits {
    /// Upstream calls in flight for one query.
    pub per_query: usize,
    pub max_models: usize,
    pub deadline: Duration,
}

/// Shared by every request: the upstream client and the server-wide call limit.
#[derive(Clone)]
pub struct QueryEngine {
    upstream: Upstream,
    global: Arc<Semaphore>,
    limits: QueryLimits,
}

impl QueryEngine {
    pub fn new(upstream: Upstream, global_concurrency: usize, limits: QueryLimits) -> Self {
        Self {
            upstream,
            global: Arc::new(Semaphore::new(global_concurrency)),
            limits,
        }
    }

    pub fn limits(&self) -> QueryLimits {
        self.limits
    }

    pub fn upstream(&self) -> &Upstream {
        &self.upstream
    }

    pub fn prepare<'a>(
        &self,
        raw: impl IntoIterator<Item = &'a str>,
    ) -> Result<Vec<ModelEntry>, BatchError> {
        prepare_models(raw, self.limits.max_models)
    }

    /// Rows as each model finishes, tagged with its input position. Exactly one probe per
    /// valid entry; invalid entries come first, at once, without a call. Every row arrives by
    /// the deadline: a call still waiting or running then becomes a `timeout` row.
    pub fn stream(
        &self,
        token: ApiSecret,
        entries: Vec<ModelEntry>,
    ) -> impl Stream<Item = (usize, ModelResult)> + Send + 'static {
        let deadline = tokio::time::Instant::now() + self.limits.deadline;
        let started = Instant::now();
        // Invalid ids are answered at once, without a call; the rest are probed.
        let mut refused = Vec::new();
        let mut valid = Vec::new();
        for (index, entry) in entries.into_iter().enumerate() {
            match entry {
                ModelEntry::Valid(id) => valid.push((index, id)),
                ModelEntry::Invalid { id, reason } => {
                    let failure =
                        Failure::new(ErrorCode::InvalidModel, Some(reason.explain().into()));
                    refused.push((index, ModelResult::failed(id, failure, Duration::ZERO)));
                }
            }
        }
        let refused = futures::stream::iter(refused);
        let upstream = self.upstream.clone();
        let global = self.global.clone();
        let token = Arc::new(token);
        let probes = futures::stream::iter(valid)
            .map(move |(index, model): (usize, String)| {
                let (upstream, global, token) = (upstream.clone(), global.clone(), token.clone());
                async move {
                    let call = async {
                        // The semaphore is never closed, so acquiring only fails if it were.
                        let _permit = global.acquire().await.ok();
                        upstream.probe(&token, &model).await
                    };
                    let row = match tokio::time::timeout_at(deadline, call).await {
                        Ok(report) => ModelResult::from_probe(model, report),
                        Err(_) => ModelResult::failed(
                            model,
                            Failure::new(ErrorCode::Timeout, None),
                            started.elapsed(),
                        ),
                    };
                    (index, row)
                }
            })
            .buffer_unordered(self.limits.per_query);
        refused.chain(probes)
    }

    /// The whole batch, rows in input order.
    pub async fn run(&self, token: ApiSecret, entries: Vec<ModelEntry>) -> BatchReport {
        let started = Instant::now();
        let mut slots: Vec<Option<ModelResult>> = vec![None; entries.len()];
        let mut rows = std::pin::pin!(self.stream(token, entries));
        while let Some((index, row)) = rows.next().await {
            slots[index] = Some(row);
        }
        BatchReport {
            results: slots.into_iter().flatten().collect(),
            elapsed: started.elapsed(),
        }
    }

    /// The points balance, bounded by the same deadline as the probes.
    pub async fn balance(&self, token: &ApiSecret) -> Result<AccountBalance, BalanceError> {
        tokio::time::timeout(self.limits.deadline, self.upstream.balance(token))
            .await
            .unwrap_or(Err(BalanceError::Timeout))
    }

    /// The probes and, beside them (never before them), the balance.
    pub async fn run_with_balance(
        &self,
        token: ApiSecret,
        entries: Vec<ModelEntry>,
    ) -> (BatchReport, Result<AccountBalance, BalanceError>) {
        let balance_token = token.clone();
        futures::join!(self.run(token, entries), self.balance(&balance_token))
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_model_ids() {
        for id in [
            "Qwen/Qwen2.5-72B-Instruct",
            "ZhipuAI/GLM-4.7",
            "deepseek-ai/DeepSeek-V3.1",
            "moonshotai/Kimi-K2-Instruct-0905",
            "a/b",
        ] {
            assert_eq!(validate_model_id(id), Ok(()), "{id}");
        }
    }

    #[test]
    fn refuses_odd_ids() {
        use InvalidModel::*;
        let cases = [
            ("Qwen", NotOwnerSlashName),
            ("/name", NotOwnerSlashName),
            ("owner/", NotOwnerSlashName),
            ("a/b/c", NotOwnerSlashName),
            ("-a/b", NotOwnerSlashName),
            ("a/.b", NotOwnerSlashName),
            ("a/b..c", DotDot),
            ("a/b?x=1", BadCharacter),
            ("a/b#x", BadCharacter),
            ("a@b/c", BadCharacter),
            ("a/b\r\nX: y", BadCharacter),
            ("a/b\0", BadCharacter),
            ("a/<script>", BadCharacter),
            ("Qwen/通义", BadCharacter),
            ("a/b c", BadCharacter),
        ];
        for (id, reason) in cases {
            assert_eq!(validate_model_id(id), Err(reason), "{id:?}");
        }
        assert_eq!(
            validate_model_id(&format!("a/{}", "b".repeat(127))),
            Err(TooLong)
        );
        assert_eq!(validate_model_id(&format!("a/{}", "b".repeat(126))), Ok(()));
    }

    #[test]
    fn prepare_trims_dedupes_and_keeps_order() {
        let entries = prepare_models(split_model_text(" b/x, a/y\n\nb/x，c/z  a/y "), 10).unwrap();
        let ids: Vec<_> = entries.iter().map(ModelEntry::id).collect();
        assert_eq!(ids, ["b/x", "a/y", "c/z"]);
    }

    #[test]
    fn prepare_refuses_empty_and_too_many() {
        assert_eq!(prepare_models(["", "  "], 10), Err(BatchError::Empty));
        let many: Vec<String> = (0..11).map(|i| format!("o/m{i}")).collect();
        assert_eq!(
            prepare_models(many.iter().map(String::as_str), 10),
            Err(BatchError::TooMany { count: 11, max: 10 })
        );
        // Duplicates do not count against the limit.
        let repeated = vec!["o/m"; 100];
        assert_eq!(prepare_models(repeated, 1).unwrap().len(), 1);
    }

    #[test]
    fn invalid_ids_become_entries_not_errors() {
        let entries = prepare_models(["a/b", "bad id?"], 10).unwrap();
        assert_eq!(entries[0], ModelEntry::Valid("a/b".into()));
        assert!(matches!(entries[1], ModelEntry::Invalid { .. }));
    }
}

//! The batch engine: turn what a user typed into a list of models, probe them concurrently
//! under per-query and server-wide limits and one deadline, and report every row in order.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt};
use tokio::sync::Semaphore;

use crate::crypto::secret::ApiSecret;
use crate::modelscope::{
    AccountBalance, BalanceError, BatchError, ErrorCode, Failure, ModelEntry, ProbeReport, Quota,
    Reason, Upstream, prepare_models,
};

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
                    let failure = Failure::because(ErrorCode::InvalidModel, Reason::Model(reason));
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

//! `GET /history/export?format=csv|json` with the `/history` filters.
//!
//! Streamed: a task reads the runs a chunk at a time through the keyset cursor and sends the
//! encoded bytes down a small channel, so memory stays flat however long the history is and a
//! client that goes away stops the reading.

use std::collections::HashMap;
use std::io::Cursor;

use futures::StreamExt;
use rocket::http::{Header, Status};
use rocket::response::stream::ReaderStream;
use rocket::response::{self, Responder, Response};
use rocket::{Request, State, get};
use tokio::sync::mpsc;

use super::export_format::Format;
use super::filters::{Filters, HistoryQuery};
use super::list::{ListAnswer, history_page};
use crate::clock;
use crate::db::history::{self as store, HistoryFilter, StoredResult};
use crate::db::{Db, DbError};
use crate::i18n::Lang;
use crate::ids::{RunId, UserId};
use crate::web::kit::notice::{Notice, NoticeCode};
use crate::web::kit::params::choice;
use crate::web::kit::problem::Problem;
use crate::web::kit::session::CurrentUser;

/// Runs read per database round trip.
pub const CHUNK_RUNS: i64 = 500;
/// Encoded chunks waiting for the client: a slow reader slows the reading, not the memory.
const CHANNEL_DEPTH: usize = 4;

enum Stop {
    /// The client went away: nothing more to do.
    Gone,
    Db(DbError),
}

impl From<DbError> for Stop {
    fn from(error: DbError) -> Self {
        Self::Db(error)
    }
}

async fn send(tx: &mpsc::Sender<Vec<u8>>, bytes: Vec<u8>) -> Result<(), Stop> {
    if bytes.is_empty() {
        return Ok(());
    }
    tx.send(bytes).await.map_err(|_| Stop::Gone)
}

/// Reads the user's runs newest first, `CHUNK_RUNS` at a time, and sends them encoded.
async fn produce(
    db: &Db,
    user_id: UserId,
    filter: &HistoryFilter,
    format: Format,
    lang: Lang,
    tx: &mpsc::Sender<Vec<u8>>,
) -> Result<(), Stop> {
    send(tx, format.prefix(lang)).await?;
    let mut before: Option<(i64, RunId)> = None;
    let mut first = true;
    loop {
        let chunk_filter = filter.clone();
        let (runs, results) = db
            .run(move |conn| {
                let runs = store::list_runs(conn, user_id, &chunk_filter, before, 0, CHUNK_RUNS)?;
                let ids: Vec<RunId> = runs.iter().map(|run| run.id).collect();
                let results = store::results_for_runs(conn, user_id, &ids)?;
                Ok((runs, results))
            })
            .await?;
        let Some(last) = runs.last() else {
            break;
        };
        before = Some((last.started_at, last.id));
        let mut by_run: HashMap<RunId, Vec<StoredResult>> = results.into_iter().collect();
        let mut out = Vec::new();
        for run in &runs {
            let rows = by_run.remove(&run.id).unwrap_or_default();
            format.write_run(&mut out, run, &rows, first, lang);
            first = false;
        }
        send(tx, out).await?;
        if (runs.len() as i64) < CHUNK_RUNS {
            break;
        }
    }
    send(tx, format.suffix()).await
}

/// Starts the reading task; its output arrives on the returned channel.
fn spawn_export(
    db: Db,
    user_id: UserId,
    filter: HistoryFilter,
    format: Format,
    lang: Lang,
) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel(CHANNEL_DEPTH);
    tokio::spawn(async move {
        match produce(&db, user_id, &filter, format, lang, &tx).await {
            Ok(()) | Err(Stop::Gone) => {}
            // The status line is long gone: the file simply ends early (and, for JSON, does
            // not parse), which is the honest signal.
            Err(Stop::Db(error)) => tracing::error!(%error, "history export failed"),
        }
    });
    rx
}

/// The file: streamed bytes, a content type and an attachment name.
pub struct Download {
    chunks: mpsc::Receiver<Vec<u8>>,
    format: Format,
    filename: String,
}

impl<'r> Responder<'r, 'static> for Download {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let stream = futures::stream::unfold(self.chunks, |mut rx| async move {
            rx.recv().await.map(|chunk| (chunk, rx))
        })
        .map(Cursor::new);
        Response::build()
            .header(self.format.content_type())
            .header(Header::new(
                "Content-Disposition",
                format!("attachment; filename=\"{}\"", self.filename),
            ))
            .header(Header::new("Cache-Control", "no-store"))
            .streamed_body(ReaderStream::from(stream))
            .ok()
    }
}

#[get("/history/export?<query..>")]
pub async fn export(
    user: CurrentUser,
    db: &State<Db>,
    query: HistoryQuery,
) -> Result<Download, Result<ListAnswer, Status>> {
    // The export has no pages: a page number or cursor is ignored, also on the page that says
    // what is wrong.
    let query = HistoryQuery {
        page: None,
        before: None,
        after: None,
        ..query
    };
    let Some(format) = choice::<Format>(query.format.as_deref()) else {
        let notice = Notice::new(NoticeCode::BadExportFormat);
        return Err(history_page(&user, db, &query, Some(notice)).await);
    };
    let (filters, refused) = Filters::parse(&query);
    if refused.is_some() {
        return Err(history_page(&user, db, &query, None).await);
    }
    // Every run of the filter, each on its own: scheduled checks are not folded here.
    let user_id = user.0.user_id;
    let resolved = db
        .run(move |conn| filters.to_store(conn, user_id, false))
        .await
        .map_err(|error| Err(Problem::db(&error).status))?;
    let Ok(filter) = resolved else {
        // The page says why (a model part in too many ids).
        return Err(history_page(&user, db, &query, None).await);
    };
    Ok(Download {
        chunks: spawn_export(db.inner().clone(), user_id, filter, format, user.0.lang),
        format,
        filename: format!(
            "modelscope-history-{}.{}",
            clock::iso_date(clock::today()).replace('-', ""),
            format.extension()
        ),
    })
}

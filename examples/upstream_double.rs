//! A fast local stand-in for the ModelScope API-Inference upstream, for load tests.
//!
//! ```text
//! cargo run --release --example upstream_double -- [--addr 127.0.0.1:9100] [--delay-ms 0]
//!     [--regime headers|points] [--balance-delay-ms 0] [--balance 100000000]
//!     [--price 1] [--model-price owner/name=2 ...]
//! ```
//!
//! It is a deliberately tiny HTTP/1.1 server on plain tokio TCP (no framework), so that it is far
//! faster than the app and a benchmark measures the app, not the double. `bench/run.sh` also loads
//! it directly to show that ceiling. Routes:
//!
//! - `POST /v1/chat/completions`: 200 with a small chat completion, after `--delay-ms` (a timer,
//!   so delayed calls overlap like real ones). In the **headers** regime (the default, ModelScope
//!   until 2026-08) it carries the four `modelscope-ratelimit-*` headers. In the **points** regime
//!   (ModelScope now) it carries none: the call costs its model's price (`--price`, or
//!   `--model-price` for one model), held as `frozen_amount` while the call runs and deducted
//!   when it finishes; a key whose available points are below the price gets 429
//!   `Request limit exceeded.` without a call.
//! - `GET /openapi/v1/magicubes/balance`: 200 with the points balance, after `--balance-delay-ms`.
//!   Headers regime: a fixed 250. Points regime: the key's own account (one per bearer token,
//!   each starting at `--balance`), `total_balance` = available + frozen, at this moment.
//! - `GET /v1/models`: 200 with a small catalogue.
//! - points regime, a chat or balance request without `Authorization: Bearer …`: 401.
//! - anything else: 404 with a JSON body; a malformed request: 400, then the connection closes.
//!
//! Pass `--addr 127.0.0.1:0` to get a free port; the bound address is printed on stdout, one line,
//! as soon as the server accepts connections.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::exit;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const USAGE: &str = "usage: upstream_double [--addr 127.0.0.1:9100] [--delay-ms N] \
[--regime headers|points] [--balance-delay-ms N] [--balance POINTS] [--price POINTS] \
[--model-price OWNER/NAME=POINTS ...]";

/// Points accounts kept at once (one per bearer token seen); later tokens share one account, so
/// a fuzzer sending a new token per request cannot grow the map without bound.
const MAX_ACCOUNTS: usize = 100_000;

/// Request heads larger than this are refused: real clients send a few hundred bytes.
const MAX_HEAD: usize = 16 * 1024;
/// Request bodies larger than this are refused, so a bad client cannot make us buffer gigabytes.
const MAX_BODY: usize = 1024 * 1024;
/// How much we try to read from the socket at once.
const READ_CHUNK: usize = 8 * 1024;

const CHAT_BODY: &str = r#"{"id":"chatcmpl-bench","object":"chat.completion","created":1767225600,"model":"bench","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}"#;

/// The quota headers the app under test reads from every chat-completions answer.
const RATE_LIMIT_HEADERS: &str = "modelscope-ratelimit-requests-limit: 2000\r\n\
modelscope-ratelimit-requests-remaining: 1999\r\n\
modelscope-ratelimit-model-requests-limit: 500\r\n\
modelscope-ratelimit-model-requests-remaining: 499\r\n";

const BALANCE_BODY: &str = r#"{"success":true,"request_id":"bench","data":{"total_balance":250,"available_balance":250,"frozen_amount":0}}"#;

const MODELS_BODY: &str = r#"{"object":"list","data":[{"id":"Qwen/Qwen2.5-72B-Instruct","object":"model","created":1735689600,"owned_by":"system"},{"id":"Qwen/Qwen3-32B","object":"model","created":1735689600,"owned_by":"system"},{"id":"deepseek-ai/DeepSeek-V3","object":"model","created":1735689600,"owned_by":"system"},{"id":"ZhipuAI/GLM-4.7","object":"model","created":1735689600,"owned_by":"system"},{"id":"moonshotai/Kimi-K2-Instruct","object":"model","created":1735689600,"owned_by":"system"}]}"#;

const NOT_FOUND_BODY: &str = r#"{"error":{"message":"Not found.","request_id":"bench"}}"#;

const UNAUTHORIZED_BODY: &str = r#"{"error":{"message":"Authentication failed, please make sure that a valid ModelScope token is supplied.","request_id":"bench"}}"#;

/// What ModelScope answers when the points do not cover the call (the body is not reliable
/// words; the app decides from the balance).
const OUT_OF_POINTS_BODY: &str =
    r#"{"errors":{"message":"Request limit exceeded.","request_id":"bench"}}"#;

/// Interim answer for clients (curl with larger bodies) that wait before sending the body.
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Regime {
    /// Rate-limit headers on every chat answer, a fixed balance.
    Headers,
    /// No rate-limit headers; each call costs points from the key's balance.
    Points,
}

struct Config {
    addr: SocketAddr,
    /// Latency of a chat call.
    delay: Duration,
    /// Latency of a balance read.
    balance_delay: Duration,
    regime: Regime,
    /// Points every new key starts with (points regime).
    start_balance: f64,
    /// Price of a call of a model without its own `--model-price`.
    price: f64,
    prices: HashMap<String, f64>,
}

impl Config {
    fn price_of(&self, model: Option<&str>) -> f64 {
        model
            .and_then(|model| self.prices.get(model))
            .copied()
            .unwrap_or(self.price)
    }
}

/// One key's points: `available` + `frozen` = total.
#[derive(Clone, Copy)]
struct Account {
    available: f64,
    frozen: f64,
}

/// What every connection shares.
struct Shared {
    config: Config,
    accounts: Mutex<HashMap<String, Account>>,
}

impl Shared {
    /// Runs `f` on the token's account, made on first sight.
    fn with_account<T>(&self, token: &str, f: impl FnOnce(&mut Account) -> T) -> T {
        // A poisoned lock only means another connection panicked mid-update: the numbers are
        // plain floats and still usable.
        let mut accounts = self
            .accounts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = if accounts.len() < MAX_ACCOUNTS || accounts.contains_key(token) {
            token
        } else {
            ""
        };
        let start = Account {
            available: self.config.start_balance,
            frozen: 0.0,
        };
        f(accounts.entry(key.to_owned()).or_insert(start))
    }

    /// Freezes `price` for a call about to run; `None` when the points do not cover it.
    fn hold(self: &Arc<Self>, token: &str, price: f64) -> Option<Hold> {
        let held = self.with_account(token, |account| {
            if account.available + 1e-9 < price {
                return false;
            }
            account.available -= price;
            account.frozen += price;
            true
        });
        held.then(|| Hold {
            shared: self.clone(),
            token: token.to_owned(),
            price,
        })
    }
}

/// Points frozen for one running call; dropping it (the call finished, or its connection went
/// away) deducts them for good.
struct Hold {
    shared: Arc<Shared>,
    token: String,
    price: f64,
}

impl Drop for Hold {
    fn drop(&mut self) {
        let price = self.price;
        self.shared.with_account(&self.token, |account| {
            account.frozen = (account.frozen - price).max(0.0);
        });
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    ChatCompletions,
    Balance,
    Models,
    NotFound,
}

/// What one complete request needs to be answered.
struct Request {
    route: Route,
    keep_alive: bool,
    /// The bearer token, if any.
    token: Option<String>,
    /// The chat body's `"model"`, read only when some model has its own price.
    model: Option<String>,
}

/// Result of looking at the bytes received so far on a connection.
enum Parsed {
    /// A whole request (head and body) is buffered; `consumed` bytes belong to it.
    Complete { request: Request, consumed: usize },
    /// More bytes are needed. `wants_continue`: the head is complete and asks for `100 Continue`.
    Incomplete { wants_continue: bool },
    /// The bytes are not a request we accept; answer 400 and close.
    Invalid(&'static str),
}

/// The parts of a request head that matter to this server.
struct Head {
    route: Route,
    keep_alive: bool,
    content_length: usize,
    expect_continue: bool,
    token: Option<String>,
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let config = parse_args(std::env::args().skip(1)).unwrap_or_else(|message| {
        eprintln!("upstream_double: {message}\n{USAGE}");
        exit(2);
    });
    let listener = TcpListener::bind(config.addr).await.unwrap_or_else(|err| {
        eprintln!("upstream_double: cannot bind {}: {err}", config.addr);
        exit(1);
    });
    let local = listener.local_addr().unwrap_or(config.addr);
    // Scripts wait for this line (and read the port from it when started on port 0).
    println!(
        "upstream_double listening on http://{local} (regime {}, delay {} ms, balance delay {} ms)",
        match config.regime {
            Regime::Headers => "headers",
            Regime::Points => "points",
        },
        config.delay.as_millis(),
        config.balance_delay.as_millis()
    );
    let shared = Arc::new(Shared {
        config,
        accounts: Mutex::new(HashMap::new()),
    });

    loop {
        match listener.accept().await {
            Ok((stream, _peer)) => {
                tokio::spawn(serve_connection(stream, shared.clone()));
            }
            Err(err) => {
                // Typically EMFILE under heavy load: back off instead of spinning on accept.
                eprintln!("upstream_double: accept failed: {err}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Config, String> {
    let mut config = Config {
        addr: SocketAddr::from(([127, 0, 0, 1], 9100)),
        delay: Duration::ZERO,
        balance_delay: Duration::ZERO,
        regime: Regime::Headers,
        start_balance: 100_000_000.0,
        price: 1.0,
        prices: HashMap::new(),
    };
    while let Some(arg) = args.next() {
        // Accept both `--flag=value` and `--flag value`.
        let (flag, mut inline_value) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
            None => (arg, None),
        };
        let mut value = || {
            inline_value
                .take()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                exit(0);
            }
            "--addr" => {
                let value = value()?;
                config.addr = value
                    .parse()
                    .map_err(|_| format!("--addr: not a socket address: {value}"))?;
            }
            "--delay-ms" => config.delay = millis(&flag, &value()?)?,
            "--balance-delay-ms" => config.balance_delay = millis(&flag, &value()?)?,
            "--regime" => {
                config.regime = match value()?.as_str() {
                    "headers" => Regime::Headers,
                    "points" => Regime::Points,
                    other => return Err(format!("--regime: headers or points, not {other}")),
                }
            }
            "--balance" => config.start_balance = points(&flag, &value()?)?,
            "--price" => config.price = points(&flag, &value()?)?,
            "--model-price" => {
                let value = value()?;
                let (model, price) = value
                    .split_once('=')
                    .ok_or_else(|| format!("--model-price: OWNER/NAME=POINTS, not {value}"))?;
                config
                    .prices
                    .insert(model.to_owned(), points(&flag, price)?);
            }
            _ => return Err(format!("unknown argument: {flag}")),
        }
    }
    Ok(config)
}

fn millis(flag: &str, value: &str) -> Result<Duration, String> {
    value
        .parse()
        .map(Duration::from_millis)
        .map_err(|_| format!("{flag}: not a number of milliseconds: {value}"))
}

fn points(flag: &str, value: &str) -> Result<f64, String> {
    value
        .parse::<f64>()
        .ok()
        .filter(|p| p.is_finite() && *p >= 0.0)
        .ok_or_else(|| format!("{flag}: not a number of points: {value}"))
}

async fn serve_connection(stream: TcpStream, shared: Arc<Shared>) {
    // Errors here are clients going away (wrk resets its sockets at the end of a run): the
    // connection is over either way and there is nobody to tell.
    let _ = handle_connection(stream, shared).await;
}

/// Serves requests on one connection until the client closes it, asks to close, or sends garbage.
async fn handle_connection(mut stream: TcpStream, shared: Arc<Shared>) -> std::io::Result<()> {
    let config = &shared.config;
    let read_model = !config.prices.is_empty();
    // Answers are tiny; without this, Nagle's algorithm would hold them back.
    stream.set_nodelay(true)?;
    let mut inbuf: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut out: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut continue_sent = false;

    loop {
        // Answer every complete request already buffered before reading again, so pipelined
        // requests are answered in order and their responses leave in one write.
        let keep_open = loop {
            match parse_request(&inbuf, read_model) {
                Parsed::Complete { request, consumed } => {
                    inbuf.drain(..consumed);
                    continue_sent = false;
                    answer(&shared, &mut stream, &mut out, &request).await?;
                    if !request.keep_alive {
                        break false;
                    }
                }
                Parsed::Incomplete { wants_continue } => {
                    if wants_continue && !continue_sent {
                        out.extend_from_slice(CONTINUE);
                        continue_sent = true;
                    }
                    break true;
                }
                Parsed::Invalid(reason) => {
                    write_bad_request(&mut out, reason);
                    break false;
                }
            }
        };
        flush(&mut stream, &mut out).await?;
        if !keep_open {
            return close_gracefully(stream).await;
        }
        if read_more(&mut stream, &mut inbuf).await? == 0 {
            // The client closed; a half-received request cannot be answered anyway.
            return Ok(());
        }
    }
}

/// Answers one request into `out`, after its route's delay (earlier answers leave first).
async fn answer(
    shared: &Arc<Shared>,
    stream: &mut TcpStream,
    out: &mut Vec<u8>,
    request: &Request,
) -> std::io::Result<()> {
    let config = &shared.config;
    let keep_alive = request.keep_alive;
    let delay = match request.route {
        Route::ChatCompletions => config.delay,
        Route::Balance => config.balance_delay,
        Route::Models | Route::NotFound => Duration::ZERO,
    };
    let points = config.regime == Regime::Points;
    let token = request.token.as_deref().filter(|token| !token.is_empty());
    match (request.route, points, token) {
        (Route::ChatCompletions | Route::Balance, true, None) => {
            write_json(out, "401 Unauthorized", "", UNAUTHORIZED_BODY, keep_alive);
            return Ok(());
        }
        (Route::ChatCompletions, true, Some(token)) => {
            let price = config.price_of(request.model.as_deref());
            let Some(hold) = shared.hold(token, price) else {
                let status = "429 Too Many Requests";
                write_json(out, status, "", OUT_OF_POINTS_BODY, keep_alive);
                return Ok(());
            };
            pause(stream, out, delay).await?;
            // The call is over: its points go from frozen to spent before the answer leaves.
            drop(hold);
            write_json(out, "200 OK", "", CHAT_BODY, keep_alive);
            return Ok(());
        }
        _ => {}
    }
    pause(stream, out, delay).await?;
    match (request.route, token) {
        (Route::ChatCompletions, _) => {
            write_json(out, "200 OK", RATE_LIMIT_HEADERS, CHAT_BODY, keep_alive);
        }
        (Route::Balance, Some(token)) if points => {
            let account = shared.with_account(token, |account| *account);
            let body = format!(
                r#"{{"success":true,"request_id":"bench","data":{{"total_balance":{},"available_balance":{},"frozen_amount":{}}}}}"#,
                account.available + account.frozen,
                account.available,
                account.frozen
            );
            write_json(out, "200 OK", "", &body, keep_alive);
        }
        (Route::Balance, _) => write_json(out, "200 OK", "", BALANCE_BODY, keep_alive),
        (Route::Models, _) => write_json(out, "200 OK", "", MODELS_BODY, keep_alive),
        (Route::NotFound, _) => write_json(out, "404 Not Found", "", NOT_FOUND_BODY, keep_alive),
    }
    Ok(())
}

/// Waits `delay` (a timer: other connections go on), sending what is already answered first.
async fn pause(stream: &mut TcpStream, out: &mut Vec<u8>, delay: Duration) -> std::io::Result<()> {
    if !delay.is_zero() {
        flush(stream, out).await?;
        tokio::time::sleep(delay).await;
    }
    Ok(())
}

async fn read_more(stream: &mut TcpStream, inbuf: &mut Vec<u8>) -> std::io::Result<usize> {
    // Keep room for a full chunk so one read can take a whole burst of pipelined requests.
    if inbuf.capacity() - inbuf.len() < READ_CHUNK / 2 {
        inbuf.reserve(READ_CHUNK);
    }
    stream.read_buf(inbuf).await
}

async fn flush(stream: &mut TcpStream, out: &mut Vec<u8>) -> std::io::Result<()> {
    if !out.is_empty() {
        stream.write_all(out).await?;
        out.clear();
    }
    Ok(())
}

/// Closes without losing the last answer: closing a socket that still has unread input makes the
/// kernel send a reset, which can destroy the response before the client reads it. So we send
/// FIN first and discard whatever the client still sends, for a short while.
async fn close_gracefully(mut stream: TcpStream) -> std::io::Result<()> {
    stream.shutdown().await?;
    let mut scratch = [0u8; 1024];
    let drain = async {
        while stream.read(&mut scratch).await? > 0 {}
        Ok::<(), std::io::Error>(())
    };
    // A timeout only means the client kept the socket open; we close it now regardless.
    let _ = tokio::time::timeout(Duration::from_millis(500), drain).await;
    Ok(())
}

/// Looks for one complete request at the start of `buf`; `read_model`: find the chat body's model.
fn parse_request(buf: &[u8], read_model: bool) -> Parsed {
    let Some(head_end) = find_head_end(buf) else {
        return if buf.len() > MAX_HEAD {
            Parsed::Invalid("request head too large")
        } else {
            Parsed::Incomplete {
                wants_continue: false,
            }
        };
    };
    if head_end > MAX_HEAD {
        return Parsed::Invalid("request head too large");
    }
    let Ok(head_text) = std::str::from_utf8(&buf[..head_end]) else {
        return Parsed::Invalid("request head is not UTF-8");
    };
    let head = match parse_head(head_text) {
        Ok(head) => head,
        Err(reason) => return Parsed::Invalid(reason),
    };
    // `head_end` is where the blank line starts; the body follows its four bytes.
    let request_len = head_end + 4 + head.content_length;
    if buf.len() < request_len {
        return Parsed::Incomplete {
            wants_continue: head.expect_continue,
        };
    }
    let model = (read_model && head.route == Route::ChatCompletions)
        .then(|| body_model(&buf[head_end + 4..request_len]))
        .flatten();
    Parsed::Complete {
        request: Request {
            route: head.route,
            keep_alive: head.keep_alive,
            token: head.token,
            model,
        },
        consumed: request_len,
    }
}

/// The `"model"` string of a chat body, found without a JSON parser: the app's body has one
/// `"model":"owner/name"` member, and model ids need no escaping.
fn body_model(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let (_, rest) = text.split_once("\"model\"")?;
    let rest = rest
        .trim_start()
        .strip_prefix(':')?
        .trim_start()
        .strip_prefix('"')?;
    let (model, _) = rest.split_once('"')?;
    Some(model.to_owned())
}

/// Index of the `\r\n\r\n` that ends the head, if it has arrived.
fn find_head_end(buf: &[u8]) -> Option<usize> {
    // Never scan further than a valid head could reach.
    let window = &buf[..buf.len().min(MAX_HEAD + 4)];
    window.windows(4).position(|w| w == b"\r\n\r\n")
}

fn parse_head(head: &str) -> Result<Head, &'static str> {
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("malformed request line");
    };
    // HTTP/1.1 keeps the connection open unless told otherwise; HTTP/1.0 closes unless told.
    let mut keep_alive = match version {
        "HTTP/1.1" => true,
        "HTTP/1.0" => false,
        _ => return Err("unsupported HTTP version"),
    };
    let mut close_requested = false;
    let mut content_length: Option<usize> = None;
    let mut expect_continue = false;
    let mut token = None;

    for line in lines {
        let (name, value) = line.split_once(':').ok_or("malformed header line")?;
        if name.is_empty() || name.bytes().any(|b| b.is_ascii_whitespace()) {
            return Err("malformed header name");
        }
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            let length = parse_content_length(value)?;
            // Two different lengths is the shape of a request-smuggling attempt: refuse.
            if content_length.is_some_and(|previous| previous != length) {
                return Err("conflicting Content-Length headers");
            }
            content_length = Some(length);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            // The app's client and curl send small bodies with Content-Length; chunked
            // uploads are not worth the code in a benchmark double.
            return Err("Transfer-Encoding is not supported, send Content-Length");
        } else if name.eq_ignore_ascii_case("connection") {
            for option in value.split(',').map(str::trim) {
                if option.eq_ignore_ascii_case("close") {
                    close_requested = true;
                } else if option.eq_ignore_ascii_case("keep-alive") {
                    keep_alive = true;
                }
            }
        } else if name.eq_ignore_ascii_case("expect") {
            expect_continue = value.eq_ignore_ascii_case("100-continue");
        } else if name.eq_ignore_ascii_case("authorization") {
            token = value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
                .map(|token| token.trim().to_owned());
        }
    }

    Ok(Head {
        route: route(method, target),
        keep_alive: keep_alive && !close_requested,
        content_length: content_length.unwrap_or(0),
        expect_continue,
        token,
    })
}

fn parse_content_length(value: &str) -> Result<usize, &'static str> {
    // `usize::from_str` would accept a leading `+`; HTTP allows digits only.
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err("invalid Content-Length");
    }
    match value.parse::<usize>() {
        Ok(length) if length <= MAX_BODY => Ok(length),
        _ => Err("request body too large"),
    }
}

fn route(method: &str, target: &str) -> Route {
    // Routing looks at the path only; a query string does not change the answer.
    let path = target.split_once('?').map_or(target, |(path, _query)| path);
    match (method, path) {
        ("POST", "/v1/chat/completions") => Route::ChatCompletions,
        ("GET", "/openapi/v1/magicubes/balance") => Route::Balance,
        ("GET", "/v1/models") => Route::Models,
        _ => Route::NotFound,
    }
}

fn write_bad_request(out: &mut Vec<u8>, reason: &str) {
    // `reason` is one of our own static strings, so it needs no JSON escaping.
    let body = format!(r#"{{"error":{{"message":"Bad request: {reason}","request_id":"bench"}}}}"#);
    write_json(out, "400 Bad Request", "", &body, false);
}

/// Appends one complete response. `extra_headers` is empty or CRLF-terminated header lines.
fn write_json(out: &mut Vec<u8>, status: &str, extra_headers: &str, body: &str, keep_alive: bool) {
    // Always say it explicitly: an HTTP/1.0 client needs `keep-alive` to reuse the connection.
    let connection = if keep_alive { "keep-alive" } else { "close" };
    let head = format!(
        "HTTP/1.1 {status}\r\n\
         content-type: application/json\r\n\
         content-length: {}\r\n\
         connection: {connection}\r\n\
         {extra_headers}\r\n",
        body.len()
    );
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(body.as_bytes());
}

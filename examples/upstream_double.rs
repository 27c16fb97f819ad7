//! A fast local stand-in for the ModelScope API-Inference upstream, for load tests.
//!
//! ```text
//! cargo run --release --example upstream_double -- [--addr 127.0.0.1:9100] [--delay-ms 0]
//! ```
//!
//! It is a deliberately tiny HTTP/1.1 server on plain tokio TCP (no framework), so that it is far
//! faster than the app and a benchmark measures the app, not the double. `bench/run.sh` also loads
//! it directly to show that ceiling. Routes:
//!
//! - `POST /v1/chat/completions`: 200 with the four `modelscope-ratelimit-*` headers and a small
//!   chat completion, after `--delay-ms` (a timer, so delayed calls overlap like real ones).
//! - `GET /openapi/v1/magicubes/balance`: 200 with a points balance.
//! - `GET /v1/models`: 200 with a small catalogue.
//! - `GET /__stats`: `{"chat_calls","balance_calls","in_flight","max_in_flight"}`, counted since
//!   start (for `bench/monitors.sh`: upstream calls in flight never exceed the app's limit).
//!   `--balance-delay-ms` delays balance answers the way `--delay-ms` delays chat ones.
//! - anything else: 404 with a JSON body; a malformed request: 400, then the connection closes.
//!
//! Pass `--addr 127.0.0.1:0` to get a free port; the bound address is printed on stdout, one line,
//! as soon as the server accepts connections.

use std::net::SocketAddr;
use std::process::exit;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const USAGE: &str =
    "usage: upstream_double [--addr 127.0.0.1:9100] [--delay-ms N] [--balance-delay-ms N]";

/// Calls answered and in flight, for `GET /__stats`.
static CHAT_CALLS: AtomicU64 = AtomicU64::new(0);
static BALANCE_CALLS: AtomicU64 = AtomicU64::new(0);
static IN_FLIGHT: AtomicU64 = AtomicU64::new(0);
static MAX_IN_FLIGHT: AtomicU64 = AtomicU64::new(0);

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

/// Interim answer for clients (curl with larger bodies) that wait before sending the body.
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

struct Config {
    addr: SocketAddr,
    delay: Duration,
    balance_delay: Duration,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    ChatCompletions,
    Balance,
    Models,
    Stats,
    NotFound,
}

/// What one complete request needs to be answered: the body itself is never looked at.
struct Request {
    route: Route,
    keep_alive: bool,
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
        "upstream_double listening on http://{local} (delay {} ms)",
        config.delay.as_millis()
    );

    loop {
        match listener.accept().await {
            Ok((stream, _peer)) => {
                tokio::spawn(serve_connection(stream, config.delay, config.balance_delay));
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
            "--delay-ms" => {
                let value = value()?;
                let millis: u64 = value
                    .parse()
                    .map_err(|_| format!("--delay-ms: not a number of milliseconds: {value}"))?;
                config.delay = Duration::from_millis(millis);
            }
            "--balance-delay-ms" => {
                let value = value()?;
                let millis: u64 = value.parse().map_err(|_| {
                    format!("--balance-delay-ms: not a number of milliseconds: {value}")
                })?;
                config.balance_delay = Duration::from_millis(millis);
            }
            _ => return Err(format!("unknown argument: {flag}")),
        }
    }
    Ok(config)
}

async fn serve_connection(stream: TcpStream, delay: Duration, balance_delay: Duration) {
    // Errors here are clients going away (wrk resets its sockets at the end of a run): the
    // connection is over either way and there is nobody to tell.
    let _ = handle_connection(stream, delay, balance_delay).await;
}

/// Serves requests on one connection until the client closes it, asks to close, or sends garbage.
async fn handle_connection(
    mut stream: TcpStream,
    delay: Duration,
    balance_delay: Duration,
) -> std::io::Result<()> {
    // Answers are tiny; without this, Nagle's algorithm would hold them back.
    stream.set_nodelay(true)?;
    let mut inbuf: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut out: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut continue_sent = false;

    loop {
        // Answer every complete request already buffered before reading again, so pipelined
        // requests are answered in order and their responses leave in one write.
        let keep_open = loop {
            match parse_request(&inbuf) {
                Parsed::Complete { request, consumed } => {
                    inbuf.drain(..consumed);
                    continue_sent = false;
                    let counted = matches!(request.route, Route::ChatCompletions | Route::Balance);
                    if counted {
                        let now = IN_FLIGHT.fetch_add(1, Ordering::SeqCst) + 1;
                        MAX_IN_FLIGHT.fetch_max(now, Ordering::SeqCst);
                    }
                    let wait = match request.route {
                        Route::ChatCompletions => delay,
                        Route::Balance => balance_delay,
                        _ => Duration::ZERO,
                    };
                    if !wait.is_zero() {
                        // Earlier answers should not wait for this one's delay.
                        flush(&mut stream, &mut out).await?;
                        tokio::time::sleep(wait).await;
                    }
                    write_response(&mut out, request.route, request.keep_alive);
                    if counted {
                        // Written out before the call counts as done.
                        let flushed = flush(&mut stream, &mut out).await;
                        IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
                        match request.route {
                            Route::ChatCompletions => CHAT_CALLS.fetch_add(1, Ordering::SeqCst),
                            _ => BALANCE_CALLS.fetch_add(1, Ordering::SeqCst),
                        };
                        flushed?;
                    }
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

/// Looks for one complete request at the start of `buf`.
fn parse_request(buf: &[u8]) -> Parsed {
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
    Parsed::Complete {
        request: Request {
            route: head.route,
            keep_alive: head.keep_alive,
        },
        consumed: request_len,
    }
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
        }
    }

    Ok(Head {
        route: route(method, target),
        keep_alive: keep_alive && !close_requested,
        content_length: content_length.unwrap_or(0),
        expect_continue,
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
        ("GET", "/__stats") => Route::Stats,
        _ => Route::NotFound,
    }
}

fn write_response(out: &mut Vec<u8>, route: Route, keep_alive: bool) {
    match route {
        Route::ChatCompletions => {
            write_json(out, "200 OK", RATE_LIMIT_HEADERS, CHAT_BODY, keep_alive);
        }
        Route::Balance => write_json(out, "200 OK", "", BALANCE_BODY, keep_alive),
        Route::Models => write_json(out, "200 OK", "", MODELS_BODY, keep_alive),
        Route::Stats => {
            let body = format!(
                r#"{{"chat_calls":{},"balance_calls":{},"in_flight":{},"max_in_flight":{}}}"#,
                CHAT_CALLS.load(Ordering::SeqCst),
                BALANCE_CALLS.load(Ordering::SeqCst),
                IN_FLIGHT.load(Ordering::SeqCst),
                MAX_IN_FLIGHT.load(Ordering::SeqCst)
            );
            write_json(out, "200 OK", "", &body, keep_alive)
        }
        Route::NotFound => write_json(out, "404 Not Found", "", NOT_FOUND_BODY, keep_alive),
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

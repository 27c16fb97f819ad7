//! A tiny SMTP server on a loopback port for the email channel: it speaks just enough ESMTP
//! (EHLO, AUTH PLAIN/LOGIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT) for lettre, without TLS, and
//! keeps every message and every credential it was given for the test to read.

use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One message as the sink received it.
#[derive(Debug, Clone, Default)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// The DATA section (headers and body), dot-unstuffed.
    pub data: String,
    /// `(user, password)` from AUTH, if the client authenticated.
    pub auth: Option<(String, String)>,
}

impl Mail {
    /// The header named `name` (unfolded), if the message has it.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or("");
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        unfolded.split("\r\n").find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    }

    /// The text of a MIME body as lettre wrote it (7bit, quoted-printable or base64).
    pub fn text(&self) -> String {
        let data = &self.data;
        let (head, body) = data.split_once("\r\n\r\n").expect("headers and body");
        let encoding = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Transfer-Encoding: "))
            .unwrap_or("7bit")
            .trim()
            .to_ascii_lowercase();
        match encoding.as_str() {
            "base64" => String::from_utf8(
                STANDARD
                    .decode(body.split_whitespace().collect::<String>())
                    .unwrap(),
            )
            .unwrap(),
            "quoted-printable" => {
                let joined = body.replace("=\r\n", "");
                let mut bytes = Vec::new();
                let raw = joined.as_bytes();
                let mut i = 0;
                while i < raw.len() {
                    if raw[i] == b'=' && i + 2 < raw.len() {
                        let hex = std::str::from_utf8(&raw[i + 1..i + 3]).unwrap_or("");
                        if let Ok(byte) = u8::from_str_radix(hex, 16) {
                            bytes.push(byte);
                            i += 3;
                            continue;
                        }
                    }
                    bytes.push(raw[i]);
                    i += 1;
                }
                String::from_utf8(bytes).unwrap()
            }
            _ => body.to_owned(),
        }
        .trim_end()
        .to_owned()
    }
}

pub struct SmtpSink {
    pub port: u16,
    mails: Arc<Mutex<Vec<Mail>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the SMTP sink");
        let port = listener.local_addr().expect("sink address").port();
        let mails: Arc<Mutex<Vec<Mail>>> = Arc::default();
        let kept = mails.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let kept = kept.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, kept).await;
                });
            }
        });
        Self { port, mails, task }
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

fn decode(b64: &str) -> String {
    String::from_utf8_lossy(&STANDARD.decode(b64.trim()).unwrap_or_default()).into_owned()
}

async fn serve(stream: tokio::net::TcpStream, kept: Arc<Mutex<Vec<Mail>>>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink.test ESMTP ready\r\n").await?;
    let mut mail = Mail::default();
    let mut auth: Option<(String, String)> = None;
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            write
                .write_all(b"250-sink.test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n")
                .await?;
        } else if upper.starts_with("AUTH PLAIN") {
            let initial = command[10..].trim().to_owned();
            let encoded = if initial.is_empty() {
                write.write_all(b"334 \r\n").await?;
                let mut next = String::new();
                lines.read_line(&mut next).await?;
                next
            } else {
                initial
            };
            let plain = decode(&encoded);
            let mut parts = plain.split('\0').skip(1);
            auth = Some((
                parts.next().unwrap_or("").to_owned(),
                parts.next().unwrap_or("").to_owned(),
            ));
            write.write_all(b"235 2.7.0 Authenticated\r\n").await?;
        } else if upper.starts_with("AUTH LOGIN") {
            write.write_all(b"334 VXNlcm5hbWU6\r\n").await?;
            let mut user = String::new();
            lines.read_line(&mut user).await?;
            write.write_all(b"334 UGFzc3dvcmQ6\r\n").await?;
            let mut password = String::new();
            lines.read_line(&mut password).await?;
            auth = Some((decode(&user), decode(&password)));
            write.write_all(b"235 2.7.0 Authenticated\r\n").await?;
        } else if upper.starts_with("MAIL FROM:") {
            mail = Mail {
                from: address(&command[10..]),
                auth: auth.clone(),
                ..Mail::default()
            };
            write.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("RCPT TO:") {
            mail.to.push(address(&command[8..]));
            write.write_all(b"250 OK\r\n").await?;
        } else if upper == "DATA" {
            write.write_all(b"354 go ahead\r\n").await?;
            let mut data = String::new();
            loop {
                let mut part = String::new();
                if lines.read_line(&mut part).await? == 0 {
                    return Ok(());
                }
                if part == ".\r\n" || part == ".\n" {
                    break;
                }
                data.push_str(part.strip_prefix('.').unwrap_or(&part));
            }
            mail.data = data;
            if let Ok(mut kept) = kept.lock() {
                kept.push(std::mem::take(&mut mail));
            }
            write.write_all(b"250 OK queued\r\n").await?;
        } else if upper == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            write.write_all(b"250 OK\r\n").await?;
        }
    }
}

fn address(text: &str) -> String {
    text.trim()
        .trim_start_matches('<')
        .split('>')
        .next()
        .unwrap_or("")
        .to_owned()
}

//! Reading an upstream body without ever holding more than a small cap in memory.

/// Upstream error and balance bodies are short; anything past this is not worth reading.
pub const BODY_CAP: usize = 64 * 1024;

/// Reads at most `cap` bytes. A larger body is cut off and its connection dropped
/// (the response is consumed here), so a 20 MB answer costs `cap`.
pub async fn read_capped(
    mut response: reqwest::Response,
    cap: usize,
) -> Result<String, reqwest::Error> {
    let mut buffer = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = cap - buffer.len();
        if chunk.len() >= room {
            buffer.extend_from_slice(&chunk[..room]);
            break;
        }
        buffer.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&buffer).into_owned())
}

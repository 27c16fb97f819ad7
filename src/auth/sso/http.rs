//! The HTTP client single sign-on talks to the provider with: the app's reqwest (rustls), as
//! `openidconnect`'s async client. It follows no redirect (a provider's endpoints answer
//! directly; following one could be steered elsewhere), waits a bounded time and reads at most
//! `MAX_BODY` bytes. Its errors name what failed, never a request or response body (a token
//! response holds tokens).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use openidconnect::{AsyncHttpClient, HttpRequest, HttpResponse};

/// The most a discovery document, key set, token or user-info answer may weigh.
const MAX_BODY: usize = 1024 * 1024;

#[derive(Clone)]
pub struct HttpClient(reqwest::Client);

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("the provider could not be reached: {0}")]
    Transport(String),
    #[error("the provider's answer is larger than {MAX_BODY} bytes")]
    TooLarge,
    #[error("the provider's answer could not be read: {0}")]
    Malformed(String),
}

impl HttpClient {
    pub fn new(timeout: Duration) -> Result<Self, reqwest::Error> {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .build()
            .map(Self)
    }

    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let request = reqwest::Request::try_from(request)
            .map_err(|error| HttpError::Malformed(without_url(error)))?;
        let mut response = self
            .0
            .execute(request)
            .await
            .map_err(|error| HttpError::Transport(without_url(error)))?;
        let mut answer = openidconnect::http::Response::builder().status(response.status());
        for (name, value) in response.headers() {
            answer = answer.header(name, value);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| HttpError::Transport(without_url(error)))?
        {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(HttpError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        answer
            .body(body)
            .map_err(|error| HttpError::Malformed(error.to_string()))
    }
}

/// reqwest's message without the URL (an authorization code never rides in one here, but a
/// user-info or token URL is the provider's business, not the log's).
fn without_url(error: reqwest::Error) -> String {
    error.without_url().to_string()
}

impl<'c> AsyncHttpClient<'c> for HttpClient {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}

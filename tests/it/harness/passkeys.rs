//! Passkeys as a phone or security key makes them: a software authenticator (ES256 on P-256,
//! "none" attestation, a signature counter) answering the options the app sends, and the JSON
//! requests `assets/passkeys.js` makes (`X-CSRF-Token`, `Host: localhost:8000`, the app's
//! relying party when no `public_url` is set).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{DerSignature, SigningKey};
use rocket::http::{ContentType, Header};
use rocket::local::asynchronous::Client;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::http::{self, Answer};

pub const PAGE: &str = "/account/passkeys";
pub const HOST: &str = "localhost:8000";
pub const ORIGIN: &str = "http://localhost:8000";

/// One credential on a software authenticator.
pub struct SoftKey {
    key: SigningKey,
    pub credential_id: Vec<u8>,
    /// The account's user handle, learnt at registration (a passkey answers with it).
    pub user_handle: Vec<u8>,
    pub counter: u32,
    /// The origin the "browser" reports.
    pub origin: String,
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    Sha256::digest(bytes).to_vec()
}

// A few CBOR items (RFC 8949), enough for an attestation object and a COSE key.
fn head(major: u8, len: usize, out: &mut Vec<u8>) {
    let major = major << 5;
    match len {
        0..=23 => out.push(major | len as u8),
        24..=255 => out.extend([major | 24, len as u8]),
        _ => {
            out.push(major | 25);
            out.extend((len as u16).to_be_bytes());
        }
    }
}

fn text(s: &str, out: &mut Vec<u8>) {
    head(3, s.len(), out);
    out.extend(s.as_bytes());
}

fn bytes(b: &[u8], out: &mut Vec<u8>) {
    head(2, b.len(), out);
    out.extend(b);
}

impl SoftKey {
    /// A credential whose key is derived from `seed` (different seeds, different keys).
    pub fn new(seed: &str) -> Self {
        let secret = sha256(format!("passkey test key {seed}").as_bytes());
        Self {
            key: SigningKey::from_slice(&secret).expect("a P-256 scalar"),
            credential_id: sha256(format!("credential {seed}").as_bytes())[..16].to_vec(),
            user_handle: Vec::new(),
            counter: 0,
            origin: ORIGIN.to_owned(),
        }
    }

    fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        // In the order browsers write it (the spec's limited verification reads it so).
        format!(
            r#"{{"type":"{kind}","challenge":"{challenge}","origin":"{}","crossOrigin":false}}"#,
            self.origin
        )
        .into_bytes()
    }

    fn cose_key(&self) -> Vec<u8> {
        let point = self.key.verifying_key().to_encoded_point(false);
        let mut out = vec![0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21];
        bytes(point.x().expect("x"), &mut out);
        out.push(0x22);
        bytes(point.y().expect("y"), &mut out);
        out
    }

    /// The answer to `navigator.credentials.create` with `options` (the app's `options`).
    pub fn register(&mut self, options: &Value) -> Value {
        let rp_id = options["rp"]["id"].as_str().expect("rp.id");
        let challenge = options["challenge"].as_str().expect("challenge");
        self.user_handle = B64
            .decode(options["user"]["id"].as_str().expect("user.id"))
            .expect("base64url");
        let client_data = self.client_data("webauthn.create", challenge);
        let mut auth_data = sha256(rp_id.as_bytes());
        // User present, user verified, attested credential data.
        auth_data.push(0x45);
        auth_data.extend(self.counter.to_be_bytes());
        auth_data.extend([0; 16]);
        auth_data.extend((self.credential_id.len() as u16).to_be_bytes());
        auth_data.extend(&self.credential_id);
        auth_data.extend(self.cose_key());
        let mut attestation = vec![0xa3];
        text("fmt", &mut attestation);
        text("none", &mut attestation);
        text("attStmt", &mut attestation);
        attestation.push(0xa0);
        text("authData", &mut attestation);
        bytes(&auth_data, &mut attestation);
        json!({
            "id": B64.encode(&self.credential_id),
            "rawId": B64.encode(&self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": B64.encode(&client_data),
                "attestationObject": B64.encode(&attestation),
                "transports": ["internal"],
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
        })
    }

    /// The answer to `navigator.credentials.get` with `options`; the counter goes up by one.
    pub fn assert(&mut self, options: &Value) -> Value {
        self.counter += 1;
        self.assert_with_counter(options, self.counter)
    }

    /// The same, with the counter as given (a clone, or a replayed authenticator).
    pub fn assert_with_counter(&self, options: &Value, counter: u32) -> Value {
        let rp_id = options["rpId"].as_str().expect("rpId");
        let challenge = options["challenge"].as_str().expect("challenge");
        let client_data = self.client_data("webauthn.get", challenge);
        let mut auth_data = sha256(rp_id.as_bytes());
        auth_data.push(0x05);
        auth_data.extend(counter.to_be_bytes());
        let mut signed = auth_data.clone();
        signed.extend(sha256(&client_data));
        let signature: DerSignature = self.key.sign(&signed);
        json!({
            "id": B64.encode(&self.credential_id),
            "rawId": B64.encode(&self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": B64.encode(&client_data),
                "authenticatorData": B64.encode(&auth_data),
                "signature": B64.encode(signature.as_bytes()),
                "userHandle": B64.encode(&self.user_handle),
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
        })
    }
}

/// A JSON POST the way `passkeys.js` makes it: with `csrf` in `X-CSRF-Token`, at `localhost`.
pub async fn post_json(client: &Client, uri: &str, csrf: &str, body: &str) -> Answer {
    let request = client
        .post(uri.to_owned())
        .header(ContentType::JSON)
        .header(Header::new("Host", HOST))
        .header(Header::new("X-CSRF-Token", csrf.to_owned()))
        .body(body);
    Answer::from(request.dispatch().await).await
}

/// The options an endpoint hands out (asserting 200).
pub async fn options(client: &Client, uri: &str, csrf: &str) -> Value {
    let answer = post_json(client, uri, csrf, "{}").await;
    assert_eq!(answer.status.code, 200, "{uri}: {}", answer.body);
    answer.json()["options"].clone()
}

/// Registers `key` for the signed-in `client` under `name`; answers the finishing request.
pub async fn register(client: &Client, csrf: &str, key: &mut SoftKey, name: &str) -> Answer {
    let options = options(client, "/account/passkeys/options", csrf).await;
    let credential = key.register(&options);
    let body = json!({ "credential": credential, "name": name }).to_string();
    post_json(client, "/account/passkeys", csrf, &body).await
}

/// Signs in without a password from the sign-in page; answers the finishing request.
pub async fn sign_in(client: &Client, key: &mut SoftKey) -> Answer {
    let csrf = http::csrf_token(client, "/login").await;
    let options = options(client, "/login/passkey/options", &csrf).await;
    let credential = key.assert(&options);
    let body = json!({ "credential": credential }).to_string();
    post_json(client, "/login/passkey", &csrf, &body).await
}

/// The second factor with a passkey, for a browser past the password.
pub async fn second_factor(client: &Client, key: &mut SoftKey) -> Answer {
    // Signed out, every page's token is the CSRF cookie's.
    let csrf = http::csrf_token(client, "/login").await;
    let options = options(client, "/login/two-factor/passkey/options", &csrf).await;
    let credential = key.assert(&options);
    let body = json!({ "credential": credential }).to_string();
    post_json(client, "/login/two-factor/passkey", &csrf, &body).await
}

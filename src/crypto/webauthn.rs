//! Passkeys' ceremonies (WebAuthn) over `webauthn_rp`, which does every check of the spec's
//! registration and authentication steps (client data, origin, RP ID hash, flags, COSE key,
//! signature, signature counter) in pure Rust. Here only bytes go in and out: the ceremony
//! state the server keeps (encoded by the library, stored in the database by the caller), the
//! options JSON the browser gets, and the parts of a credential worth storing.

use std::borrow::Borrow;

use webauthn_rp::bin::{Decode, Encode};
use webauthn_rp::request::auth::AuthenticationVerificationOptions;
use webauthn_rp::request::register::{
    CredProtect, PublicKeyCredentialUserEntity, RegistrationVerificationOptions, UserHandle64,
    Username,
};
use webauthn_rp::request::{AsciiDomain, ExtensionInfo, PublicKeyCredentialDescriptor, RpId};
use webauthn_rp::response::register::{CompressedPubKey, DynamicState, StaticState};
use webauthn_rp::response::{AuthTransports, CredentialId, SentChallenge};
use webauthn_rp::{
    AuthenticatedCredential, DiscoverableAuthentication64, DiscoverableAuthenticationServerState,
    DiscoverableCredentialRequestOptions, PublicKeyCredentialCreationOptions, Registration,
    RegistrationServerState,
};

/// How many bytes a user handle has (random, one per account; never the account's id).
pub const USER_HANDLE_LEN: usize = 64;

/// Why a ceremony failed. `Refused` carries the library's words, for the log only.
#[derive(Debug, thiserror::Error)]
pub enum WebauthnError {
    #[error("the browser's answer is not a WebAuthn credential: {0}")]
    Malformed(String),
    #[error("the credential was refused: {0}")]
    Refused(String),
    #[error("the signature counter went backwards (a cloned authenticator, or a replay)")]
    Counter,
    #[error("the ceremony's stored state cannot be read")]
    State,
}

/// Who the credentials are for: the RP ID (the site's host name) and the exact origin the
/// browser must report.
pub struct RelyingParty {
    rp_id: RpId,
    origin: String,
}

impl RelyingParty {
    /// `None` when `host` is no valid RP ID (IP addresses are not).
    pub fn new(host: &str, origin: &str) -> Option<Self> {
        if host.parse::<std::net::IpAddr>().is_ok() {
            return None;
        }
        let domain = AsciiDomain::try_from(host.to_ascii_lowercase()).ok()?;
        Some(Self {
            rp_id: RpId::Domain(domain),
            origin: origin.to_owned(),
        })
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }
}

/// A ceremony begun: the challenge (its key), the state to keep, the options for the browser.
pub struct Started {
    pub challenge: Vec<u8>,
    pub state: Vec<u8>,
    pub options_json: String,
}

/// A credential that passed registration: what is stored to check its signatures later.
pub struct Registered {
    pub credential_id: Vec<u8>,
    pub transports: u8,
    pub static_state: Vec<u8>,
    pub dynamic_state: Vec<u8>,
}

/// A stored credential, as `finish_sign_in` needs it.
pub struct StoredKey {
    pub user_handle: Vec<u8>,
    pub static_state: Vec<u8>,
    pub dynamic_state: Vec<u8>,
}

fn challenge_key(challenge: &SentChallenge) -> Vec<u8> {
    challenge.0.to_le_bytes().to_vec()
}

fn user_handle(bytes: &[u8]) -> Result<UserHandle64, WebauthnError> {
    let array: [u8; USER_HANDLE_LEN] = bytes.try_into().map_err(|_| WebauthnError::State)?;
    UserHandle64::decode(array).map_err(|_| WebauthnError::State)
}

/// A new random user handle.
pub fn new_user_handle() -> Vec<u8> {
    UserHandle64::new()
        .encode()
        .map(|bytes| bytes.to_vec())
        .unwrap_or_default()
}

/// Begins registering a passkey (discoverable, user verification required) for the account
/// behind `handle`, excluding the credentials it has (an authenticator holds one per account).
pub fn start_registration(
    rp: &RelyingParty,
    handle: &[u8],
    username: &str,
    existing: &[(Vec<u8>, u8)],
) -> Result<Started, WebauthnError> {
    let id = user_handle(handle)?;
    let name = Username::try_from(username)
        .map_err(|error| WebauthnError::Refused(format!("username: {error}")))?;
    let exclude = existing
        .iter()
        .filter_map(|(id, transports)| {
            Some(PublicKeyCredentialDescriptor {
                id: CredentialId::decode(id.clone()).ok()?,
                transports: AuthTransports::decode(*transports).ok()?,
            })
        })
        .collect();
    let user = PublicKeyCredentialUserEntity {
        name,
        id: &id,
        display_name: None,
    };
    let mut options = PublicKeyCredentialCreationOptions::passkey(&rp.rp_id, user, exclude);
    // credProtect asked for, not enforced: an authenticator without the extension (Chromium's
    // own, for one) would otherwise refuse to make the passkey at all. User verification is
    // required at every sign-in anyway.
    options.extensions.cred_protect =
        CredProtect::UserVerificationRequired(ExtensionInfo::AllowDontEnforceValue);
    let (server, client) = options
        .start_ceremony()
        .map_err(|error| WebauthnError::Refused(error.to_string()))?;
    let challenge = challenge_key(Borrow::<SentChallenge>::borrow(&server));
    started(&client, challenge, server.encode().ok())
}

/// What starting a ceremony hands on: the browser's options, and the state to keep under its
/// challenge (`None`: it could not be encoded).
fn started(
    client: &impl serde::Serialize,
    challenge: Vec<u8>,
    state: Option<Vec<u8>>,
) -> Result<Started, WebauthnError> {
    let options_json =
        serde_json::to_string(client).map_err(|error| WebauthnError::Refused(error.to_string()))?;
    Ok(Started {
        challenge,
        state: state.ok_or(WebauthnError::State)?,
        options_json,
    })
}

/// A browser's answer to `navigator.credentials.create`, read (not yet checked).
pub struct NewCredential(Registration);

impl NewCredential {
    pub fn parse(json: &[u8]) -> Result<Self, WebauthnError> {
        Registration::from_json_relaxed(json)
            .map(Self)
            .map_err(|error| WebauthnError::Malformed(error.to_string()))
    }

    /// The challenge it answers (the key of the stored state).
    pub fn challenge(&self) -> Result<Vec<u8>, WebauthnError> {
        self.0
            .challenge_relaxed()
            .map(|c| challenge_key(&c))
            .map_err(|error| WebauthnError::Malformed(error.to_string()))
    }

    /// Checks it against the stored state; answers what to store.
    pub fn verify(&self, rp: &RelyingParty, state: &[u8]) -> Result<Registered, WebauthnError> {
        let server = RegistrationServerState::<USER_HANDLE_LEN>::decode(state)
            .map_err(|_| WebauthnError::State)?;
        let origins = [rp.origin.as_str()];
        let options = RegistrationVerificationOptions::<&str, &str> {
            allowed_origins: &origins,
            error_on_unsolicited_extensions: false,
            ..RegistrationVerificationOptions::default()
        };
        let credential = server
            .verify(&rp.rp_id, &self.0, &options)
            .map_err(|error| WebauthnError::Refused(error.to_string()))?;
        let (id, transports, _, static_state, dynamic_state, _) = credential.as_parts();
        Ok(Registered {
            credential_id: id.encode().map(<[u8]>::to_vec).unwrap_or_default(),
            transports: transports.encode().unwrap_or_default(),
            static_state: static_state.encode().unwrap_or_default(),
            dynamic_state: dynamic_state
                .encode()
                .map(|bytes| bytes.to_vec())
                .unwrap_or_default(),
        })
    }
}

/// Begins a sign-in with a discoverable passkey (user verification required).
pub fn start_sign_in(rp: &RelyingParty) -> Result<Started, WebauthnError> {
    let (server, client) = DiscoverableCredentialRequestOptions::passkey(&rp.rp_id)
        .start_ceremony()
        .map_err(|error| WebauthnError::Refused(error.to_string()))?;
    let challenge = challenge_key(Borrow::<SentChallenge>::borrow(&server));
    started(&client, challenge, server.encode().ok())
}

/// A browser's answer to `navigator.credentials.get`, read (not yet checked).
pub struct Assertion(DiscoverableAuthentication64);

type StoredStatic = StaticState<CompressedPubKey<[u8; 32], [u8; 32], [u8; 48], Vec<u8>>>;

impl Assertion {
    pub fn parse(json: &[u8]) -> Result<Self, WebauthnError> {
        DiscoverableAuthentication64::from_json_relaxed(json)
            .map(Self)
            .map_err(|error| WebauthnError::Malformed(error.to_string()))
    }

    pub fn challenge(&self) -> Result<Vec<u8>, WebauthnError> {
        self.0
            .challenge_relaxed()
            .map(|c| challenge_key(&c))
            .map_err(|error| WebauthnError::Malformed(error.to_string()))
    }

    /// The credential it claims to be (looked up by the caller).
    pub fn credential_id(&self) -> Vec<u8> {
        self.0
            .raw_id()
            .encode()
            .map(<[u8]>::to_vec)
            .unwrap_or_default()
    }

    /// Checks the signature and everything around it against the stored state and key;
    /// answers the credential's new dynamic state (signature counter, flags) to store.
    pub fn verify(
        &self,
        rp: &RelyingParty,
        state: &[u8],
        key: &StoredKey,
    ) -> Result<Vec<u8>, WebauthnError> {
        let server = DiscoverableAuthenticationServerState::decode(state)
            .map_err(|_| WebauthnError::State)?;
        let handle = user_handle(&key.user_handle)?;
        let static_state =
            StoredStatic::decode(&key.static_state).map_err(|_| WebauthnError::State)?;
        let dynamic: [u8; 7] = key
            .dynamic_state
            .as_slice()
            .try_into()
            .map_err(|_| WebauthnError::State)?;
        let dynamic_state = DynamicState::decode(dynamic).map_err(|_| WebauthnError::State)?;
        let mut credential =
            AuthenticatedCredential::new(self.0.raw_id(), &handle, static_state, dynamic_state)
                .map_err(|error| WebauthnError::Refused(error.to_string()))?;
        let origins = [rp.origin.as_str()];
        let options = AuthenticationVerificationOptions::<&str, &str> {
            allowed_origins: &origins,
            error_on_unsolicited_extensions: false,
            ..AuthenticationVerificationOptions::default()
        };
        match server.verify(&rp.rp_id, &self.0, &mut credential, &options) {
            Ok(_) => Ok(credential
                .dynamic_state()
                .encode()
                .map(|bytes| bytes.to_vec())
                .unwrap_or_default()),
            Err(webauthn_rp::response::auth::error::AuthCeremonyErr::SignatureCounter) => {
                Err(WebauthnError::Counter)
            }
            Err(error) => Err(WebauthnError::Refused(error.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_addresses_are_no_relying_party() {
        assert!(RelyingParty::new("127.0.0.1", "http://127.0.0.1:8000").is_none());
        assert!(RelyingParty::new("::1", "http://[::1]:8000").is_none());
        assert!(RelyingParty::new("localhost", "http://localhost:8000").is_some());
        assert!(RelyingParty::new("msb.example", "https://msb.example").is_some());
    }

    #[test]
    fn a_started_ceremony_is_keyed_by_its_challenge() {
        let rp = RelyingParty::new("localhost", "http://localhost:8000").unwrap();
        let handle = new_user_handle();
        assert_eq!(handle.len(), USER_HANDLE_LEN);
        let started = start_registration(&rp, &handle, "alice", &[]).unwrap();
        let options: serde_json::Value = serde_json::from_str(&started.options_json).unwrap();
        assert_eq!(options["rp"]["id"], "localhost", "{options}");
        assert_eq!(options["user"]["name"], "alice");
        assert_eq!(started.challenge.len(), 16);
        let other = start_sign_in(&rp).unwrap();
        assert_ne!(started.challenge, other.challenge);
        assert!(NewCredential::parse(b"{}").is_err());
        assert!(Assertion::parse(b"not json").is_err());
    }
}

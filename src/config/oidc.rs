//! Single sign-on with OpenID Connect (`oidc_*` keys): off until `oidc_issuer` is set. The
//! client secret comes from `oidc_client_secret` or from the file `oidc_client_secret_file`
//! names (one of them, never both); it is never printed: its `Debug` and every error say only
//! whether it is set. The redirect URI is `<public_url>/login/oidc/callback`.

use std::path::PathBuf;

use serde::Deserialize;
use zeroize::Zeroizing;

use super::check::{ConfigError, http_url};

/// Where the provider sends the browser back, under `public_url`.
pub const CALLBACK_PATH: &str = "/login/oidc/callback";

/// The most characters a button label may have.
const MAX_LABEL_CHARS: usize = 40;

/// The keys as written in `Rocket.toml` or `ROCKET_OIDC_*` (flattened into `AppConfig`).
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
pub struct OidcSettings {
    oidc_issuer: Option<String>,
    oidc_client_id: Option<Text>,
    oidc_client_secret: Option<Text>,
    oidc_client_secret_file: Option<PathBuf>,
    oidc_button_label: Option<String>,
    oidc_link_by_email: bool,
}

impl std::fmt::Debug for OidcSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcSettings")
            .field("oidc_issuer", &self.oidc_issuer)
            .field("oidc_client_secret", &self.oidc_client_secret.is_some())
            .field("oidc_client_secret_file", &self.oidc_client_secret_file)
            .field("oidc_button_label", &self.oidc_button_label)
            .field("oidc_link_by_email", &self.oidc_link_by_email)
            .finish_non_exhaustive()
    }
}

/// A text setting that may arrive as a number (`ROCKET_OIDC_CLIENT_ID=1234`): taken as its
/// digits. Zeroed when dropped (it may be the secret).
#[derive(Clone)]
struct Text(Zeroizing<String>);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self(Zeroizing::new(super::text_or_digits(deserializer)?)))
    }
}

/// The client secret. Never printed: its `Debug` says only that it is set.
#[derive(Clone)]
pub struct ClientSecret(Zeroizing<String>);

impl ClientSecret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientSecret(…)")
    }
}

/// Single sign-on as checked at start: everything the app needs to talk to the provider.
#[derive(Debug, Clone)]
pub struct Oidc {
    /// As written (a trailing slash kept): the provider's discovery document names it exactly.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: ClientSecret,
    /// "Sign in with <label>".
    pub button_label: String,
    /// Whether a first sign-in may be linked to the account that holds the same verified email.
    pub link_by_email: bool,
    /// `<public_url>/login/oidc/callback`: register it with the provider.
    pub redirect_url: String,
}

impl OidcSettings {
    /// Single sign-on from the settings, or `None` when `oidc_issuer` is unset; refused with
    /// the key to fix when a part is missing, doubled or malformed. `public_url` is the checked
    /// one. Reads the secret's file, if one is named.
    pub fn resolve(&self, public_url: Option<&str>) -> Result<Option<Oidc>, ConfigError> {
        let issuer = self
            .oidc_issuer
            .as_deref()
            .map(str::trim)
            .filter(|issuer| !issuer.is_empty());
        let Some(issuer) = issuer else {
            if self.oidc_client_id.is_some()
                || self.oidc_client_secret.is_some()
                || self.oidc_client_secret_file.is_some()
            {
                return Err(ConfigError::Oidc(
                    "oidc_client_id or a client secret is set but oidc_issuer is not: set \
                     oidc_issuer to turn single sign-on on, or remove the other oidc_* keys"
                        .into(),
                ));
            }
            return Ok(None);
        };
        // Checked as a URL, kept as written: the provider's discovery document must name the
        // issuer exactly (Authentik's ends in a slash, Keycloak's does not).
        http_url("oidc_issuer", issuer)?;
        let issuer = issuer.to_owned();
        let Some(public_url) = public_url else {
            return Err(ConfigError::Oidc(
                "oidc_issuer is set but public_url is not: the provider sends browsers back to \
                 <public_url>/login/oidc/callback, so set public_url to the address users reach \
                 the app at (e.g. https://msb.example.com)"
                    .into(),
            ));
        };
        let client_id = self
            .oidc_client_id
            .as_ref()
            .map(|id| id.0.trim().to_owned())
            .filter(|id| !id.is_empty())
            .ok_or_else(|| {
                ConfigError::Oidc(
                    "oidc_client_id is needed with oidc_issuer: the client id the provider \
                     gave this app"
                        .into(),
                )
            })?;
        let client_secret = self.client_secret()?;
        let button_label = self
            .oidc_button_label
            .as_deref()
            .map(str::trim)
            .filter(|label| !label.is_empty())
            .unwrap_or("SSO")
            .to_owned();
        if button_label.chars().count() > MAX_LABEL_CHARS
            || button_label.chars().any(char::is_control)
        {
            return Err(ConfigError::Oidc(format!(
                "oidc_button_label must be at most {MAX_LABEL_CHARS} characters without control \
                 characters (e.g. \"Authentik\")"
            )));
        }
        Ok(Some(Oidc {
            issuer,
            client_id,
            client_secret,
            button_label,
            link_by_email: self.oidc_link_by_email,
            redirect_url: format!("{public_url}{CALLBACK_PATH}"),
        }))
    }

    /// The secret, from the setting or its file: exactly one of the two.
    fn client_secret(&self) -> Result<ClientSecret, ConfigError> {
        let secret = match (&self.oidc_client_secret, &self.oidc_client_secret_file) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::Oidc(
                    "the client secret is given twice (oidc_client_secret and \
                     oidc_client_secret_file): keep one"
                        .into(),
                ));
            }
            (None, None) => {
                return Err(ConfigError::Oidc(
                    "oidc_issuer needs a client secret: set oidc_client_secret_file to a file \
                     holding it (or oidc_client_secret)"
                        .into(),
                ));
            }
            (Some(secret), None) => Zeroizing::new(secret.0.trim().to_owned()),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path).map_err(|error| {
                    ConfigError::Oidc(format!(
                        "oidc_client_secret_file {} cannot be read: {error}",
                        path.display()
                    ))
                })?;
                Zeroizing::new(Zeroizing::new(text).trim().to_owned())
            }
        };
        if secret.is_empty() || secret.chars().any(char::is_control) {
            return Err(ConfigError::Oidc(
                "the client secret is empty or holds control characters (a file holding it \
                 has the secret on one line)"
                    .into(),
            ));
        }
        Ok(ClientSecret(secret))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> OidcSettings {
        OidcSettings {
            oidc_issuer: Some("https://id.example/application/o/msb/".into()),
            oidc_client_id: Some(Text(Zeroizing::new("msb".into()))),
            oidc_client_secret: Some(Text(Zeroizing::new("s3cret-canary-value".into()))),
            ..OidcSettings::default()
        }
    }

    fn refusal(settings: &OidcSettings, public_url: Option<&str>) -> String {
        settings.resolve(public_url).unwrap_err().to_string()
    }

    #[test]
    fn off_unless_an_issuer_is_set() {
        assert!(OidcSettings::default().resolve(None).unwrap().is_none());
        let stray = OidcSettings {
            oidc_issuer: None,
            ..settings()
        };
        assert!(refusal(&stray, Some("https://msb.example")).contains("oidc_issuer"));
    }

    #[test]
    fn resolved_with_a_redirect_under_public_url_and_a_hidden_secret() {
        let oidc = settings()
            .resolve(Some("https://msb.example"))
            .unwrap()
            .unwrap();
        assert_eq!(oidc.issuer, "https://id.example/application/o/msb/");
        assert_eq!(oidc.redirect_url, "https://msb.example/login/oidc/callback");
        assert_eq!(oidc.button_label, "SSO");
        assert!(!oidc.link_by_email);
        assert_eq!(oidc.client_secret.expose(), "s3cret-canary-value");
        assert!(!format!("{oidc:?}").contains("s3cret-canary-value"));
        assert!(!format!("{:?}", settings()).contains("s3cret-canary-value"));
    }

    #[test]
    fn bad_settings_are_refused_by_name_without_the_secret() {
        let no_public = refusal(&settings(), None);
        assert!(no_public.contains("public_url"), "{no_public}");
        let ftp = OidcSettings {
            oidc_issuer: Some("ftp://id.example".into()),
            ..settings()
        };
        assert!(refusal(&ftp, Some("https://m")).contains("oidc_issuer"));
        let twice = OidcSettings {
            oidc_client_secret_file: Some("/nonexistent".into()),
            ..settings()
        };
        let twice = refusal(&twice, Some("https://m"));
        assert!(twice.contains("given twice"), "{twice}");
        let none = OidcSettings {
            oidc_client_secret: None,
            ..settings()
        };
        assert!(refusal(&none, Some("https://m")).contains("client secret"));
        let no_id = OidcSettings {
            oidc_client_id: None,
            ..settings()
        };
        assert!(refusal(&no_id, Some("https://m")).contains("oidc_client_id"));
        let long = OidcSettings {
            oidc_button_label: Some("x".repeat(41)),
            ..settings()
        };
        assert!(refusal(&long, Some("https://m")).contains("oidc_button_label"));
        for message in [no_public, twice] {
            assert!(!message.contains("s3cret-canary-value"), "{message}");
        }
    }

    #[test]
    fn the_secret_may_come_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "from-a-file\n").unwrap();
        let from_file = OidcSettings {
            oidc_client_secret: None,
            oidc_client_secret_file: Some(path),
            ..settings()
        };
        let oidc = from_file.resolve(Some("https://m")).unwrap().unwrap();
        assert_eq!(oidc.client_secret.expose(), "from-a-file");
        let missing = OidcSettings {
            oidc_client_secret: None,
            oidc_client_secret_file: Some(dir.path().join("absent")),
            ..settings()
        };
        assert!(refusal(&missing, Some("https://m")).contains("oidc_client_secret_file"));
    }
}

//! The confirmation step before deleting something (a key, a preset, a token, a run, a
//! monitor, an alert rule, a channel): a page that names the thing and posts the real form.
//! Works without JavaScript; a GET changes nothing.

use askama::Template;
use askama_web::WebTemplate;

use super::view::Layout;

#[derive(Template, WebTemplate)]
#[template(path = "confirm.html")]
pub struct ConfirmPage {
    pub layout: Layout,
    /// `confirm-<what>-title` / `-body` in the locale files: `key`, `preset`, `token`, `run`,
    /// `monitor`, `rule`, `channel`.
    pub what: &'static str,
    /// The name shown in the question.
    pub name: String,
    /// Where the delete form posts.
    pub action: String,
    /// Where "cancel" goes back to.
    pub back: String,
}

impl ConfirmPage {
    /// Asks about the `what` called `name`; the form posts to `action`, "cancel" goes `back`.
    pub fn new(
        layout: Layout,
        what: &'static str,
        name: String,
        action: String,
        back: impl Into<String>,
    ) -> Self {
        Self {
            layout,
            what,
            name,
            action,
            back: back.into(),
        }
    }

    pub fn title_id(&self) -> String {
        format!("confirm-{}-title", self.what)
    }

    pub fn body_id(&self) -> String {
        format!("confirm-{}-body", self.what)
    }
}

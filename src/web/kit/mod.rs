//! What pages share: who is asking and may they (`session`, `csrf`, `cookies`, `client`),
//! how values are shown (`view`, `result_view`, `outlook_view`, `status`, `monitoring_view`),
//! what a page says about an action (`notice`: notices and flashes) and how errors become
//! notices (`problem`), the run forms and their live events (`run_form`, `live`), help with
//! model ids (`model_help`: suggestions, "did you mean"), typed path ids and form choices
//! (`params`), one-read secrets (`reveal`), pages that hold a pasted key (`no_store`) and the
//! quick page's key carried through sign-up (`keep_key`), the confirmation step (`confirm`),
//! QR codes as SVG (`qr`) and the security headers (`security`). Nothing here is a page, and
//! nothing here imports one.

pub mod client;
pub mod confirm;
pub mod cookies;
pub mod csrf;
pub mod keep_key;
pub mod live;
pub mod model_help;
pub mod monitoring_view;
pub mod no_store;
pub mod notice;
pub mod outlook_view;
pub mod params;
pub mod passkey_json;
pub mod problem;
pub mod qr;
pub mod result_view;
pub mod reveal;
pub mod run_form;
pub mod security;
pub mod session;
pub mod status;
pub mod view;

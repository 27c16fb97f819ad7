//! Typed values straight from what a browser sends: ids from a path segment (`/keys/<id>`),
//! where anything `i64` accepts is taken, as before ids were typed (a row that is not the
//! user's is simply not found by the handler); and choices from a closed set in a form field
//! or a query string.

use rocket::request::FromParam;

use crate::ids::{
    ChannelId, InvitationId, KeyId, MonitorId, PresetId, RuleId, SessionId, TokenId, UserId,
};

macro_rules! path_id {
    ($($id:ty),+) => {$(
        impl<'a> FromParam<'a> for $id {
            type Error = std::num::ParseIntError;

            fn from_param(param: &'a str) -> Result<Self, Self::Error> {
                param.parse::<i64>().map(Self)
            }
        }
    )+};
}

path_id!(
    KeyId,
    PresetId,
    SessionId,
    TokenId,
    MonitorId,
    RuleId,
    ChannelId,
    UserId,
    InvitationId
);

/// A value of a closed set as a form field or a query string names it: spaces around it and
/// its case do not matter (`AI`, ` csv `). Empty or unknown is `None`.
pub fn choice<T: std::str::FromStr>(text: Option<&str>) -> Option<T> {
    text?.trim().to_ascii_lowercase().parse().ok()
}

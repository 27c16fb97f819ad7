//! Typed ids straight from a path segment (`/keys/<id>`). Anything `i64` accepts is taken, as
//! before ids were typed; a row that is not the user's is simply not found by the handler.

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

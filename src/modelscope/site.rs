//! ModelScope runs two separate sites with separate accounts and tokens: China
//! (`modelscope.cn`) and the international site (`modelscope.ai`). A key belongs to one.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Site {
    /// modelscope.cn, the configured `modelscope_api_base` / `modelscope_hub_base`.
    #[default]
    Cn,
    /// modelscope.ai, `modelscope_ai_api_base` / `modelscope_ai_hub_base`.
    Ai,
}

impl Site {
    pub const ALL: [Site; 2] = [Site::Cn, Site::Ai];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cn => "cn",
            Self::Ai => "ai",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|site| site.as_str() == text.trim().to_ascii_lowercase())
    }
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl rusqlite::types::ToSql for Site {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl rusqlite::types::FromSql for Site {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        // A site this version does not know reads as China, where every key began.
        Ok(Self::parse(value.as_str()?).unwrap_or_default())
    }
}

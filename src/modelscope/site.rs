//! ModelScope runs two separate sites with separate accounts and tokens: China
//! (`modelscope.cn`) and the international site (`modelscope.ai`). A key belongs to one.

crate::closed_set! {
    /// The site a key belongs to (stored with keys and runs, sent as `site`).
    #[derive(Default)]
    pub enum Site {
        /// modelscope.cn, the configured `modelscope_api_base` / `modelscope_hub_base`.
        #[default]
        Cn,
        /// modelscope.ai, `modelscope_ai_api_base` / `modelscope_ai_hub_base`.
        Ai,
    }
}

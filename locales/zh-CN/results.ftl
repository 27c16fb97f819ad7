# Words about results, shared by the pages and the JSON API.

# What an error code means (the API's `error` text starts with it).
code-invalid_key = API Key 无效或已被撤销
code-account_not_eligible = 账号不满足调用条件：请绑定阿里云账号并完成实名认证
code-model_not_found = 模型不存在或不支持 API-Inference
code-quota_exhausted = 今日额度已用完
code-rate_limited = 请求过于频繁，请稍后再试
code-upstream_error = ModelScope 服务出错
code-timeout = 请求超时
code-network_error = 无法连接到 ModelScope
code-no_quota_data = ModelScope 未返回额度信息
code-invalid_model = 模型 ID 无效

# Our reason for a failed row, shown under its status.
reason-too_long = 超过 128 个字符
reason-not_owner_slash_name = 应为 owner/name 形式
reason-bad_character = 只能包含字母、数字和 - _ . 字符
reason-dot_dot = 不能包含 ..
reason-connect = 连接失败
reason-truncated = 响应被截断
reason-request = 请求失败
reason-points_exhausted = 魔粒不足：每天登录魔搭网站可领取短期魔粒（24 小时有效），领取后再试

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

result-title = 查询结果
result-check-title = 魔粒余额（免费查询，未调用模型）
result-summary = 共 { $count } 个模型，成功 { $ok } 个，失败 { $failed } 个。
result-summary-check = 共 { $count } 个模型，按已知单价估算（未调用模型）。
result-elapsed = 用时 { $ms } ms。
col-model = 模型
col-calls-left = 还能调用
col-price = 单价（魔粒/次）
col-status = 状态
col-latency = 耗时
col-updated = 更新于
col-per-day = 按此速度
strip-title = 账户积分（魔粒）
strip-available = 可用
strip-frozen = 冻结（调用中）
strip-spent = 本次消耗
strip-total = 总额
strip-buys = 约可调用：
strip-calls = { $n } 次
strip-calls-text = { $n } 次
tier-name = { $price ->
    [2] 旗舰（2/次）
    [1] 主流（1/次）
   *[other] 轻量（0.5/次）
}
strip-not-read = 这次没有读取魔粒余额。
strip-failed = 积分余额查询失败：
strip-failed-short = 积分余额查询失败
strip-expected = 预计消耗约 { $cost } 魔粒。
strip-spent-unknown = 实际消耗未能测出（余额读取失败，或期间有魔粒入账）。
source-headers-detail = 来自响应头：账户 { $account } · 模型 { $model }
source-points = 按魔粒余额 ÷ 单价
source-estimate = 单价未知，按 0.5–2 魔粒/次估算
price-set = 你设置的
price-measured = 实测
price-unknown = 未知
live-stored = 已保存：查看这次查询的记录
live-failed = 连接中断；查询仍会在服务器上完成，请稍后在历史记录中查看。
live-store-failed = 查询已完成，结果如上，但未能保存到历史记录。
live-elapsed = 已用时 { $s } 秒
age-s = { $n } 秒前
age-m = { $n } 分钟前
age-h = { $n } 小时前
age-d = { $n } 天前
# Punctuation around words that are filled in (full-width in Chinese).
colon = ：
in-parentheses = （{ $text }）

# A key's outlook (the dashboard's strip): the forecast and the points expiring soon.
forecast-pace = 按最近 { $hours } 小时的速度（每小时约 { $burn } 魔粒），约 { $when } 用完，还能用约 { $lasts }。
forecast-no-spend = 最近 { $hours } 小时没有消耗。
forecast-too-few = 需要至少 3 次读数（最近 24 小时 { $readings } 次）才能预测何时用完。
forecast-too-short = 需要至少 1 小时的读数才能预测何时用完。
forecast-exhausted = 魔粒已用完。
expiring-estimate = 约 { $points } 魔粒将于 { $when } 过期（估计），先用这些。
expiring-exact = { $points } 魔粒将于 { $when } 过期，先用这些。
when-today = 今天 { $time }
when-tomorrow = 明天 { $time }
when-date = { $month } 月 { $day } 日 { $time }
span-m = { $n } 分钟
span-h = { $n } 小时
span-d = { $n } 天

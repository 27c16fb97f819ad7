# A row's status badge, and what to do about it.
status-ok = 正常
status-unchecked = 未检测
status-invalid_key = Key 无效
status-account_not_eligible = 账号不满足条件
status-model_not_found = 模型不可用
status-quota_exhausted = 额度已用完
status-rate_limited = 请求受限
status-upstream_error = 上游错误
status-timeout = 超时
status-network_error = 网络错误
status-no_quota_data = 无额度数据
status-invalid_model = 模型 ID 无效
status-points_exhausted = 魔粒不足
status-pending = 查询中…

advice-invalid_key = ModelScope 不接受这个访问令牌：它可能输错、已被撤销，或属于另一个站点（中国站 / 国际站）。请在魔搭网站的“访问令牌”页面重新复制一个。
advice-account_not_eligible = 这个账号还不能调用模型：请在魔搭网站绑定阿里云账号并完成实名认证。
advice-model_not_found = ModelScope 不提供（或已下线）这个模型的 API-Inference：检查模型 ID，或在模型页面确认它支持 API 调用。
advice-quota_exhausted = 额度或魔粒已用完：每天登录魔搭网站可领取短期魔粒（24 小时有效），或等北京时间 00:00 后再试。
advice-rate_limited = 请求太频繁，ModelScope 暂时拒绝了调用：稍等一会儿再查。
advice-upstream_error = ModelScope 服务出错：通常是暂时的，稍后再试。
advice-timeout = 在时限内没有等到 ModelScope 的回答（可能是模型冷启动或网络慢）：稍后再试。
advice-network_error = 连不上 ModelScope：检查服务器的网络和代理设置。
advice-no_quota_data = ModelScope 没有返回额度信息，魔粒余额也没有读到：稍后再试，或只查余额。
advice-invalid_model = 模型 ID 应为 owner/name 形式，只能包含字母、数字和 - _ . 字符。
advice-points_exhausted = 没有调用（未花魔粒）：可用魔粒不够它的最低单价。登录魔搭网站可领每日短期魔粒。

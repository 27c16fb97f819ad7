# Form errors (web::view::Notice), by code: what went wrong and what to do.
notice-missing_key = 请填写 ModelScope 访问令牌（API Key），或选择一个已保存的 Key。
notice-bad_key = API Key 格式不正确：应为 8 到 200 个可打印 ASCII 字符、不含空格（魔搭访问令牌通常是 ms- 开头、后接 UUID 的 39 位字符串，在魔搭网站“访问令牌”页面复制）。
notice-no_models = 请至少填写一个模型 ID。
notice-too_many_models = 模型数量过多：一次最多查询 { $n } 个模型。
notice-no_valid_models = 没有有效的模型 ID：应为 owner/name 形式（例如 Qwen/Qwen2.5-72B-Instruct），只能包含字母、数字和 - _ . 字符，最长 128 个字符。
notice-invalid_models = 以下模型 ID 无效：{ $name }。应为 owner/name 形式，只能包含字母、数字和 - _ . 字符。
notice-invalid_models_more = 以下模型 ID 无效：{ $name }, …（共 { $n } 个）。应为 owner/name 形式，只能包含字母、数字和 - _ . 字符。
notice-key_not_found = 找不到这个 Key，它可能已被删除。
notice-key_needs_reentry = 这个 Key 无法解密（数据被改动，或主密钥已更换）。请重新输入这个 Key。
notice-bad_username = 用户名需为 3–32 个字符，只能包含小写字母、数字、_ 和 -。
notice-username_taken = 该用户名已被使用，请换一个。
notice-password_too_short = 密码至少需要 8 个字符。
notice-password_too_long = 密码过长：最多 1024 个字符。
notice-password_mismatch = 两次输入的密码不一致。
notice-bad_credentials = 用户名或密码错误。
notice-throttled = 密码错误次数过多，请在 { $n } 分钟后再试。
notice-signup_throttled = 从你的网络地址注册的账号过多，请在 { $n } 分钟后再试。
notice-hashing_busy = 服务器正忙（同时校验的密码过多），请稍等几秒后重试；你填写的内容还在。
notice-wrong_password = 当前密码不正确。
notice-signup_closed = 本站已关闭注册，请联系管理员。
notice-empty_label = 请填写名称。
notice-bad_label = 名称最多 64 个字符，且不能包含控制字符。
notice-duplicate_label = 已有同名的 Key，请换一个名称。
notice-duplicate_key = 这个 Key 已经保存过了（名称：{ $name }）。
notice-empty_name = 请填写预设名称。
notice-bad_name = 名称最多 { $n } 个字符，且不能包含控制字符。
notice-duplicate_name = 已有同名的预设，请换一个名称。
notice-too_many_keys = API Key 数量已达上限（{ $n } 个），请先删除不用的 Key。
notice-too_many_presets = 预设数量已达上限（{ $n } 个）。
notice-preset_not_found = 找不到这个预设。
notice-too_many_tokens = API 令牌数量已达上限（{ $n } 个），请先撤销不用的令牌。
notice-bad_filter = 筛选条件无效：{ $name ->
    [page] 页码
    [position] 翻页位置
    [key] Key
    [preset] 预设
    [model] 模型（填模型 ID 或其中一段，只含字母、数字和 - _ . /，例如 qwen3）
    [from] 开始日期
    [to] 结束日期
    [from_after_to] 开始日期晚于结束日期
    [kind] 类型（probe 调用模型，或 check 免费检查）
    [source] 来源（web 网页、api 或 schedule 定时）
    [status] 状态（ok 全部成功，或 failed 有失败）
    [checks] 定时检查的显示方式（day 每天一行，或 each 逐条）
   *[other] { $name }
}。
notice-model_too_many = 有超过 { $n } 个模型 ID 包含“{ $name }”，请多输入几个字再筛选。
notice-history_position_gone = 翻页位置指向的记录已不存在（可能已删除）。请从最新的记录重新开始。
notice-bad_export_format = 导出格式无效：请选择 csv 或 json（例如 /history/export?format=csv）。
notice-too_many_preset_models = 模型数量过多：一个预设最多 { $n } 个模型（去重后有 { $name } 个）。
notice-empty_token_name = 请填写令牌名称（例如用它的脚本名）。
notice-bad_token_name = 令牌名称最多 { $n } 个字符，且不能包含控制字符。
notice-token_not_found = 找不到这个 API 令牌，它可能已被撤销。
notice-unavailable = 数据库暂时不可用，请稍后重试；你填写的内容还在。
notice-store_failed = 查询已完成，但保存到历史记录失败，请稍后重试。下面是这次查询的结果。
notice-bad_price = 单价只能是 0.2（特惠）、0.5（轻量）、1（主流）或 2（旗舰）魔粒，或留空表示不设置。
notice-bad_budget = 预算必须是正数（魔粒），或留空表示用全部可用魔粒。
notice-census_sign_in = 测出单价需要登录：测到的单价记在你的账号里。
notice-bad_price_model = 模型 ID 无效：应为 owner/name 形式。
notice-busy = 你这里已有几个匿名查询正在进行，请等它们结束后再试（登录后不受此限制）。
notice-internal = 服务器内部错误，请稍后重试。
# Monitors, their alert rules and notification channels.
notice-no_key_chosen = 请至少选择一个 Key。
notice-too_many_monitor_keys = 一个监控最多 { $n } 个 Key。
notice-chosen_key_not_found = 找不到所选的 Key，它可能已被删除。
notice-bad_check = 检查内容只能是“只查余额”（balance）或“探测预设”（probe）。
notice-probe_needs_preset = 探测需要选择一个预设。
notice-schedule_missing = 请填写间隔分钟数，或每天的固定时间。
notice-schedule_both = 间隔和固定时间只能填一个。
notice-bad_interval = 间隔必须是 { $n } 到 10080 之间的整数分钟。
notice-bad_times = 固定时间应为 HH:MM 格式，用逗号分隔，最多 24 个，例如 08:00,20:00。
notice-probe_needs_cap = 探测会消耗魔粒：请填写每天最多花费的魔粒数。
notice-bad_cap = 每天最多花费必须是大于 0 的数字（最多 100000）。
notice-over_cap = 这个计划每天约花费 { $cost } 魔粒，超过了你设的上限 { $cap }。请拉长间隔、减少模型或提高上限。
notice-too_many_monitors = 监控数量已达上限（{ $n } 个）。
notice-monitor_not_found = 找不到这个监控。
notice-bad_condition = 请选择一个告警条件。
notice-bad_threshold = 阈值必须是大于 0 的数字。
notice-bad_calls_threshold = 可调用次数的阈值必须是整数。
notice-rule_needs_model = 这个条件需要填写模型 ID（owner/name）。
notice-bad_rule_model = 模型 ID 无效：应为 owner/name 形式。
notice-bad_at_time = 时间应为 HH:MM 格式（北京时间），例如 21:00。
notice-bad_forecast_hours = 小时数应为 1 到 720 的整数。
notice-bad_within_hours = 几小时内应为 1 到 24 的整数。
notice-no_channel_chosen = 请选择一个通知渠道。
notice-rule_needs_probe = “模型已不再提供”只能用于探测预设的监控（余额检查不调用模型）。
notice-model_not_in_preset = 这个模型不在监控的预设里。
notice-too_many_rules = 一个监控最多 { $n } 条告警规则。
notice-chosen_channel_not_found = 找不到这个通知渠道，它可能已被删除。
notice-rule_not_found = 找不到这条告警规则。
notice-bad_channel_kind = 请选择渠道类型：webhook、dingtalk、feishu、wecom、telegram、bark、serverchan 或 email。
notice-empty_channel_name = 请填写渠道名称。
notice-duplicate_channel_name = 已有同名的渠道，请换一个名称。
notice-too_many_channels = 通知渠道数量已达上限（{ $n } 个）。
notice-needs_url = 这种渠道需要填写 Webhook 地址（http 或 https）。
notice-bad_url = 地址无效：应为 http:// 或 https:// 开头的完整网址，不能有空格。
notice-needs_secret = 这种渠道需要填写密钥（Telegram 的 Bot Token、Server酱的 SendKey）。
notice-bad_secret = 密钥过长，或包含空格、控制字符。
notice-needs_chat_id = Telegram 需要填写 chat_id。
notice-bad_chat_id = chat_id 无效。
notice-needs_smtp_host = 邮件需要填写 SMTP 服务器。
notice-bad_smtp_host = SMTP 服务器应为主机名或 IP 地址。
notice-bad_smtp_port = SMTP 端口应为 1 到 65535 之间的整数。
notice-bad_smtp_tls = 加密方式只能是 starttls、tls 或 none。
notice-needs_smtp_password = 填写了 SMTP 用户名时也需要填写密码。
notice-bad_from = 发件地址不是有效的邮箱地址。
notice-bad_to = 收件地址应为 1 到 { $n } 个有效的邮箱地址，用逗号分隔。
notice-private_url = 这个地址位于本机、局域网或云元数据地址，通知不会发往这些地方。如果接收端是你自己局域网内的服务，请站点管理员设置 allow_private_webhooks = true。
notice-private_smtp_host = 这个邮件服务器位于本机、局域网或云元数据地址，通知不会发往这些地方。如果是你自己局域网内的邮件服务器，请站点管理员设置 allow_private_webhooks = true。
notice-channel_not_found = 找不到这个通知渠道。
notice-channel_needs_reentry = 这个渠道无法解密，请删除后重新添加。
notice-too_many_user_rules = 告警规则数量已达上限（{ $n } 条）。
notice-run_now_per_monitor = 未运行：每个监控每小时最多立即运行 { $n } 次，请 { $minutes } 分钟后再试，或等它按计划运行。
notice-run_now_per_user = 未运行：每小时最多立即运行监控 { $n } 次，请 { $minutes } 分钟后再试，或等它们按计划运行。
notice-smtp_needs_auth_tls = 互联网上的邮件服务器需要填写登录信息（用户名和密码）并使用加密（STARTTLS 或 SSL/TLS），以免本服务被用来转发邮件。不登录、不加密只适用于本机或自己内网中的中继（填写其 IP 地址，且管理员允许内网地址时）。
notice-smtp_needs_auth = 互联网上的邮件服务器需要登录：请填写用户名和密码。
notice-smtp_needs_tls = 互联网上的邮件服务器需要加密：请选择 STARTTLS 或 SSL/TLS。
notice-test_per_minute = 未发送：每分钟最多发送 { $n } 条测试消息，请 { $seconds } 秒后再试。
notice-test_per_hour = 未发送：每小时最多发送 { $n } 条测试消息，请 { $minutes } 分钟后再试。
notice-test_channel_hour = 未发送：这个渠道本小时已发送 { $n } 条消息（测试消息也计算在内），请 { $minutes } 分钟后再试。
notice-test_channel_busy = 未发送：这个渠道正有一条消息在发送，请 { $seconds } 秒后再试。
notice-test_user_busy = 未发送：你同时发送的消息已达上限，请 { $seconds } 秒后再试。

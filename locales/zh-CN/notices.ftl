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
    [model] 模型
    [from] 开始日期
    [to] 结束日期
    [from_after_to] 开始日期晚于结束日期
   *[other] { $name }
}。
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
notice-other = 请求无法处理，请检查输入后重试。

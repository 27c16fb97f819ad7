# Messages of the JSON API (`message` in the envelope). Each says what to fix.

api-row-error = { $summary }
api-row-error-status = { $summary }（HTTP { $status }）
api-row-error-detail = { $error }：{ $detail }
api-ok = 成功查询 { $ok } 个模型的余额信息
api-ok-some-failed = 成功查询 { $ok } 个模型的余额信息，失败 { $failed } 个

api-unsupported-media = Content-Type 必须是 application/json（收到的是 { $given }）
api-body-unreadable = 请求体读取失败
api-body-timeout = 请求体未能及时发送完：请一次性发送完整的请求体
api-body-too-large = 请求体超过 { $limit } 上限：请减少模型数量
api-not-utf8 = 请求体不是有效的 UTF-8 文本
api-empty-body = 请求体为空：请发送 JSON，例如 {"{"}"models": ["Qwen/Qwen2.5-72B-Instruct"], "api_key": "ms-..."{"}"}
api-bad-json = JSON 格式错误：{ $problem }
api-not-an-object = 请求体必须是 JSON 对象，包含 models 和 api_key 字段
api-bad-flag = { $field } 必须是 true 或 false
api-bad-reference = { $field } 必须是正整数 id 或名称字符串
api-bad-reference-name = { $field } 必须是正整数 id 或名称字符串（最多 64 个字符）
api-missing-models = 缺少 models 字段：请提供模型列表（数组，或逗号、空格分隔的字符串）
api-models-not-strings = models 数组中的每一项都必须是字符串
api-models-bad-type = models 必须是字符串数组，或逗号、空格分隔的字符串
api-no-models = models 为空：请至少提供一个模型 ID
api-key-not-string = api_key 必须是字符串
api-keys-disagree = 请求体中的 api_key 与 X-API-Key 请求头不一致：请只提供一个
api-missing-key = 缺少 API Key：请在请求体 api_key 字段或 X-API-Key 请求头中提供
api-bad-key = API Key 格式不正确：应为 8 到 200 个可打印 ASCII 字符、不含空格（魔搭访问令牌通常是 ms- 开头、后接 UUID 的 39 位字符串，在魔搭网站“访问令牌”页面复制）
api-too-many-models = 模型数量过多：一次最多查询 { $max } 个模型，收到 { $count } 个
api-no-valid-models = 没有有效的模型 ID：应为 owner/name 形式，例如 Qwen/Qwen2.5-72B-Instruct。无效的：{ $invalid }
api-invalid-model = { $id }（{ $reason }）
api-list-separator = ；
api-sign-in-required = key_id 和 preset 需要 API 令牌：请在 Authorization: Bearer 请求头中提供账号页面创建的令牌，或改用 api_key 和 models
api-preset-not-found = 预设不存在：请检查 preset 的名称或 id
api-empty-preset = 预设中没有模型：请先在预设页面添加模型
api-key-not-found = Key 不存在：请检查 key_id 的名称或 id
api-key-needs-reentry = 这个 Key 无法解密（数据被改动或主密钥已更换）：请在网页上重新输入
api-unavailable = 数据库暂时不可用：请稍后重试
api-store-failed = 查询已完成，但保存历史记录失败

api-history-limit = limit 必须是 1 到 { $max } 之间的整数
api-history-before = before 必须是上一页最后一条记录的 id（正整数）
api-history-filter = { $name ->
    [kind] kind 只能是 probe 或 check
    [source] source 只能是 web、api 或 schedule
   *[status] status 只能是 ok 或 failed
}，且最多给一次
api-history-before-missing = before 指向的记录不存在
api-history-count = 共 { $count } 条记录
api-history-not-found = 记录不存在
api-history-ok = ok

api-catch-400 = 请求格式错误：请发送 JSON 请求体
api-catch-401 = API 令牌缺失、无效或已撤销：请在 Authorization: Bearer 请求头中提供账号页面创建的令牌
api-catch-404 = 接口或记录不存在：接口列表见 GET /api/openapi.json
api-catch-405 = 请求方法不支持：此接口只接受 { $allow }
api-catch-413 = 请求体过大：请减少模型数量
api-catch-415 = Content-Type 必须是 application/json
api-catch-422 = 请求内容无法解析：请检查 JSON 字段
api-catch-500 = 服务器内部错误，请稍后重试
api-catch-other = 请求无法处理

api-check-ok = 已读取魔粒余额（免费，未调用任何模型）：可用 { $available }
api-check-failed = 魔粒余额读取失败（未调用任何模型）
api-bad-site = site 必须是 "cn"（魔搭中国站）或 "ai"（国际站）
api-busy = 来自你的地址的匿名查询过多：请等正在进行的查询结束后再试，或使用 API 令牌
api-points-short = 魔粒不足，未调用模型：可用 { $available } 魔粒，不够任何一个模型一次调用的最低价格。短期魔粒每天登录魔搭网站领取（24 小时有效），北京时间 00:00 后可领新一天的。
api-census = 测出 { $measured } 个模型的单价，花费 { $spent } 魔粒；{ $unmeasured } 个未测出
api-census-needs-token = measure_prices（测出单价）需要 API 令牌：请在 Authorization: Bearer 请求头中提供账号页面创建的令牌
api-census-not-check = measure_prices 会调用模型测出单价，不能与 "probe": false（免费查询）同用
api-bad-budget = budget 必须是正数（魔粒，最多 1000000000）
api-key-hint = 魔搭访问令牌通常是 ms- 开头、后接 UUID 的 39 位字符串；这个 Key 形状不同，已照样尝试。若失败，请到魔搭网站“访问令牌”页面重新复制。

api-quota-ok = { $count } 个 Key
api-quota-twice = 参数 { $name } 出现了两次：每个参数最多给一次
api-quota-format = format 只能是 json 或 prometheus（收到 "{ $given }"）
api-quota-refresh = refresh 只能是 true 或 false
api-quota-model = model 必须是形如 Qwen/Qwen2.5-72B-Instruct 的模型 ID（收到 "{ $given }"）
api-quota-key-not-found = 没有这个 Key：key 必须是你保存的某个 Key 的 ID 或名称

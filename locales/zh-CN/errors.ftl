error-title = 出错了
error-home = 返回首页
error-400 = 提交的内容无法解析，请检查后重试。
error-403 = 请求被拒绝：请从本站页面重新提交表单。
error-404 = 页面不存在。
error-408 = 提交的内容接收超时，请重试。
error-413 = 提交的内容过大，请删减后重试。
error-422 = 提交的内容无法解析，请检查后重试。
error-429 = 请求过于频繁，请稍后再试。
error-503 = 服务暂时不可用（数据库繁忙或无法写入），请稍后重试。
error-500 = 服务器出错了，请稍后重试。
error-other = 请求无法处理。
error-insecure-cookies = 无法登录或提交表单：你正通过不加密的 HTTP 访问本站，而本站的 Cookie 设置为只通过 HTTPS 发送（secure_cookies = true），浏览器因此没有保存它。
error-insecure-cookies-fix = 请通过 HTTPS 访问本站（例如在前面放一个提供 TLS 的反向代理）；如果这是可信的局域网、不需要加密，管理员可以设置 secure_cookies = false（或环境变量 ROCKET_SECURE_COOKIES=false）后重启。

# The page frame: title, navigation, footer.
app-name = ModelScope 额度查询
nav-label = 主导航
nav-menu = 菜单
nav-skip = 跳到正文
nav-dashboard = 概览
nav-query = 查询
nav-presets = 预设
nav-keys = API Key
nav-monitors = 监控
nav-history = 历史
nav-admin = 管理
nav-sign-out = 退出
nav-sign-in = 登录
nav-sign-up = 注册
footer-billing = ModelScope API-Inference 按魔粒计费：每调用一次模型消耗它的单价（轻量 0.5、主流 1、旗舰 2 魔粒）；“只查余额”免费。短期魔粒每天登录魔搭网站领取，24 小时有效。

# 空列表页上的下一步。
empty-keys-action = 添加第一个 Key
empty-presets-action = 新建第一个预设
empty-monitors-action = 添加第一个监控
empty-channels = 告警和每日汇总需要先有一个渠道才能发给你。
empty-channels-action = 添加第一个渠道
empty-deliveries = 告警触发、每日汇总或在通知渠道页“发送测试”后，每条消息都会记在这里。
empty-deliveries-action = 去发一条测试消息
empty-tokens = 还没有 API 令牌。脚本、网关或 Grafana 要读你的额度时，在下面起个名字建一个。
empty-dash-presets = 还没有预设：把常查的模型存成预设，就能在这里一键查询。
empty-dash-presets-action = 新建预设

# The next step on an empty list page.
empty-keys-action = Add your first key
empty-presets-action = Make your first preset
empty-monitors-action = Add your first monitor
empty-channels = Alerts and daily summaries need a channel to reach you.
empty-channels-action = Add your first channel
empty-deliveries = Each message is listed here once an alert fires, a daily summary goes out, or you press “Send a test” on the channels page.
empty-deliveries-action = Send a test message
empty-tokens = No API tokens yet. When a script, a gateway or Grafana is to read your quota, name one below and create it.
empty-dash-presets = No presets yet: save the models you check often as a preset and run them here in one click.
empty-dash-presets-action = Make a preset

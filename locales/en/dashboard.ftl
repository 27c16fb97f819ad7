dash-title = Overview
dash-intro = Each key's last known points balance and models. Opening this page calls nothing on ModelScope; “Refresh balance” reads the free balance only and calls no model.
dash-grant-short = Login points: { $hours } h { $minutes } min to reset
dash-grant = Short-term points (200 a day, 50 more with a bound Alibaba Cloud account) are granted for logging in to the ModelScope website and last 24 hours; calling models through the API does not claim them. { $hours } h { $minutes } min until 00:00 Beijing time.
dash-run-preset = Run a preset
dash-default = default
dash-preset-cost = { $count ->
    [one] 1 model
   *[other] { $count } models
}, expected to cost about { $cost } points
dash-which-key = Key to use
dash-run = Run
dash-no-keys = No API key saved yet. Save one, then make a preset, and a query is one click away:
dash-save-key = Save a key
dash-make-preset = Make a preset
dash-needs-reentry = This key cannot be decrypted; enter it again:
dash-balance-read = Balance read
dash-never-read = This key's balance has not been read yet.
dash-grant-unclaimed = The balances read today (since 00:00 Beijing time) did not rise: today's login grant is probably not claimed yet; log in to the ModelScope website to claim it:
dash-refresh = Refresh balance (free)
dash-no-runs = No runs yet.
dash-query-with-key = Query with this key
dash-new-query = New query
dash-balance-trend = Points over time
dash-grant-unclaimed-rules = Today's points are not claimed yet: log in to the ModelScope website to claim them:
dash-which-key-models = Which key for each model (by calls left)
dash-key-calls = { $key } ({ $calls } calls)
dash-per-day = about { $n } a day

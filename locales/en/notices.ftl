# Form errors (web::view::Notice), by code: what went wrong and what to do.
notice-missing_key = Enter a ModelScope access token (API key), or pick a saved key.
notice-bad_key = The API key is malformed: a key is 8 to 200 printable ASCII characters without spaces (ModelScope access tokens usually are ms- followed by a UUID, 39 characters; copy one from the access-token page on the ModelScope website).
notice-no_models = Enter at least one model id.
notice-too_many_models = Too many models: at most { $n } per query.
notice-no_valid_models = No valid model id: ids look like owner/name (e.g. Qwen/Qwen2.5-72B-Instruct), use only letters, digits and - _ ., and are at most 128 characters.
notice-invalid_models = These model ids are invalid: { $name }. Ids look like owner/name and use only letters, digits and - _ .
notice-invalid_models_more = These model ids are invalid: { $name }, … ({ $n } in all). Ids look like owner/name and use only letters, digits and - _ .
notice-key_not_found = That key cannot be found; it may have been deleted.
notice-key_needs_reentry = That key cannot be decrypted (the data was changed, or the master key was replaced). Enter the key again.
notice-bad_username = A user name is 3 to 32 characters of lower-case letters, digits, _ and -.
notice-username_taken = That user name is taken; pick another.
notice-password_too_short = A password needs at least 8 characters.
notice-password_too_long = That password is too long: at most 1024 characters.
notice-password_mismatch = The two passwords differ.
notice-bad_credentials = Wrong user name or password.
notice-throttled = Too many failed attempts; try again in { $n ->
    [one] 1 minute
   *[other] { $n } minutes
}.
notice-signup_throttled = Too many accounts were made from your network address; try again in { $n ->
    [one] 1 minute
   *[other] { $n } minutes
}.
notice-hashing_busy = The server is busy (too many passwords being checked at once); try again in a few seconds. What you entered is still here.
notice-wrong_password = The current password is wrong.
notice-signup_closed = Sign-up is closed on this site; ask its administrator.
notice-empty_label = Enter a name.
notice-bad_label = A name is at most 64 characters, without control characters.
notice-duplicate_label = A key with that name exists; pick another name.
notice-duplicate_key = That key is saved already (as { $name }).
notice-empty_name = Enter a preset name.
notice-bad_name = A name is at most { $n } characters, without control characters.
notice-duplicate_name = A preset with that name exists; pick another name.
notice-too_many_keys = You have the most keys allowed ({ $n }); delete one you no longer use first.
notice-too_many_presets = You have the most presets allowed ({ $n }).
notice-preset_not_found = That preset cannot be found.
notice-too_many_tokens = You have the most API tokens allowed ({ $n }); revoke one you no longer use first.
notice-bad_filter = That filter is not valid: { $name ->
    [page] the page number
    [position] the page position
    [key] the key
    [preset] the preset
    [model] the model (a model id or a part of one: letters, digits and - _ . /, e.g. qwen3)
    [from] the start date
    [to] the end date
    [from_after_to] the start date is after the end date
    [kind] the kind (probe, or check for a free check)
    [source] the source (web, api or schedule)
    [status] the status (ok, or failed)
    [checks] how scheduled checks are shown (day, or each)
   *[other] { $name }
}.
notice-model_too_many = More than { $n } model ids contain “{ $name }”: type more of the id.
notice-history_position_gone = The run this page continues from no longer exists (it may have been deleted). Start again from the newest runs.
notice-bad_export_format = Not an export format: pick csv or json (e.g. /history/export?format=csv).
notice-too_many_preset_models = Too many models: a preset holds at most { $n } ({ $name } after removing duplicates).
notice-empty_token_name = Enter a token name (e.g. the script that uses it).
notice-bad_token_name = A token name is at most { $n } characters, without control characters.
notice-token_not_found = That API token cannot be found; it may have been revoked.
notice-unavailable = The database is unavailable right now; try again shortly. What you entered is still here.
notice-store_failed = The query finished, but storing it in the history failed; try again shortly. Its results are below.
notice-bad_price = A price is 0.2 (discount), 0.5 (light), 1 (mainstream) or 2 (flagship) points, or empty for no setting.
notice-bad_budget = The budget is a positive number of points, or empty for all the points available.
notice-census_sign_in = Measuring prices needs you signed in: the prices it measures are kept with your account.
notice-bad_price_model = Not a valid model id: ids look like owner/name.
notice-busy = A few anonymous queries from your address are still running; try again when they finish (signed-in users have no such limit).
notice-internal = Internal server error; try again shortly.
# Monitors, their alert rules and notification channels.
notice-no_key_chosen = Choose at least one key.
notice-too_many_monitor_keys = At most { $n } keys per monitor.
notice-chosen_key_not_found = A chosen key was not found; it may have been deleted.
notice-bad_check = What to check must be balance or probe.
notice-probe_needs_preset = A probe needs a preset.
notice-schedule_missing = Give an interval in minutes, or times of day.
notice-schedule_both = Give an interval or times of day, not both.
notice-bad_interval = The interval must be a whole number of minutes from { $n } to 10080.
notice-bad_times = Times of day are HH:MM separated by commas, at most 24, e.g. 08:00,20:00.
notice-probe_needs_cap = Probes cost points: set the most points a day this monitor may spend.
notice-bad_cap = The daily cap must be a number above 0 (at most 100000).
notice-over_cap = This schedule is expected to cost about { $cost } points a day, over your cap of { $cap }. Run it less often, probe fewer models or raise the cap.
notice-too_many_monitors = You have reached the limit of { $n } monitors.
notice-monitor_not_found = No such monitor.
notice-bad_condition = Choose an alert condition.
notice-bad_threshold = The threshold must be a number above 0.
notice-bad_calls_threshold = A calls threshold must be a whole number.
notice-rule_needs_model = This condition needs a model id (owner/name).
notice-bad_rule_model = Not a valid model id: use owner/name.
notice-bad_at_time = The time is HH:MM (Beijing time), e.g. 21:00.
notice-bad_forecast_hours = Hours must be a whole number from 1 to 720.
notice-bad_within_hours = Within hours must be a whole number from 1 to 24.
notice-no_channel_chosen = Choose a notification channel.
notice-rule_needs_probe = “Model no longer served” needs a monitor that probes a preset (a balance check calls no model).
notice-model_not_in_preset = That model is not in the monitor's preset.
notice-too_many_rules = At most { $n } alert rules per monitor.
notice-chosen_channel_not_found = The channel was not found; it may have been deleted.
notice-rule_not_found = No such alert rule.
notice-bad_channel_kind = Choose a kind: webhook, dingtalk, feishu, wecom, telegram, bark, serverchan or email.
notice-empty_channel_name = Give the channel a name.
notice-duplicate_channel_name = A channel with that name exists; choose another name.
notice-too_many_channels = You have reached the limit of { $n } channels.
notice-needs_url = This kind needs its webhook address (http or https).
notice-bad_url = Not a usable address: a full URL starting with http:// or https://, without spaces.
notice-needs_secret = This kind needs its secret (the Telegram bot token, the ServerChan SendKey).
notice-bad_secret = The secret is too long or has spaces or control characters.
notice-needs_chat_id = Telegram needs a chat_id.
notice-bad_chat_id = The chat_id is not valid.
notice-needs_smtp_host = Email needs an SMTP server.
notice-bad_smtp_host = The SMTP server must be a host name or an IP address.
notice-bad_smtp_port = The SMTP port must be a whole number from 1 to 65535.
notice-bad_smtp_tls = Security must be starttls, tls or none.
notice-needs_smtp_password = An SMTP user needs a password.
notice-bad_from = The From address is not an email address.
notice-bad_to = To must be 1 to { $n } email addresses separated by commas.
notice-private_url = That address is on this machine, the local network or cloud metadata, where notifications are not sent. For a receiver of your own on the LAN, the site's operator can set allow_private_webhooks = true.
notice-private_smtp_host = That mail server is on this machine, the local network or cloud metadata, where notifications are not sent. For a mail server of your own on the LAN, the site's operator can set allow_private_webhooks = true.
notice-channel_not_found = No such channel.
notice-channel_needs_reentry = This channel cannot be decrypted; delete it and add it again.
notice-too_many_user_rules = You have reached the limit of { $n } alert rules.
notice-run_now_per_monitor = Not run: a monitor can be run now { $n } times an hour. Try again in { $minutes } minutes, or wait for its schedule.
notice-run_now_per_user = Not run: you can run monitors now { $n } times an hour. Try again in { $minutes } minutes, or wait for their schedules.
notice-smtp_needs_auth_tls = A mail server on the internet needs your login (user and password) and TLS (STARTTLS or SSL/TLS), so this server cannot be used to relay mail. Without them, only a relay on this machine or your own network, given by its IP address, works (where the administrator allows private addresses).
notice-smtp_needs_auth = A mail server on the internet needs your login: fill in the user and the password.
notice-smtp_needs_tls = A mail server on the internet needs TLS: choose STARTTLS or SSL/TLS.
notice-test_per_minute = Not sent: you can send { $n } test messages a minute. Try again in { $seconds } seconds.
notice-test_per_hour = Not sent: you can send { $n } test messages an hour. Try again in { $minutes } minutes.
notice-test_channel_hour = Not sent: this channel has had its { $n } messages this hour (tests count too). Try again in { $minutes } minutes.
notice-test_channel_busy = Not sent: a message to this channel is being sent right now. Try again in { $seconds } seconds.
notice-test_user_busy = Not sent: as many of your messages as can go at once are being sent right now. Try again in { $seconds } seconds.

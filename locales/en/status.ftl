# A row's status badge, and what to do about it.
status-ok = OK
status-unchecked = Not checked
status-invalid_key = Invalid key
status-account_not_eligible = Account not eligible
status-model_not_found = Model unavailable
status-quota_exhausted = Quota used up
status-rate_limited = Rate limited
status-upstream_error = Upstream error
status-timeout = Timed out
status-network_error = Network error
status-no_quota_data = No quota data
status-invalid_model = Invalid model id
status-points_exhausted = Not enough points
status-pending = Checking…

advice-invalid_key = ModelScope does not accept this access token: it may be mistyped, revoked, or belong to the other site (China / international). Copy a fresh one from the access-token page on the ModelScope website.
advice-account_not_eligible = This account cannot call models yet: bind an Alibaba Cloud account and complete real-name verification on the ModelScope website.
advice-model_not_found = ModelScope does not serve this model through API-Inference (or retired it): check the id, or see on the model's page whether it supports API calls.
advice-quota_exhausted = The quota or points are used up: log in to the ModelScope website to claim today's short-term points (valid 24 hours), or try again after 00:00 Beijing time.
advice-rate_limited = Too many requests; ModelScope refused the call for now: wait a little and check again.
advice-upstream_error = ModelScope answered with an error: usually passing; try again later.
advice-timeout = ModelScope did not answer in time (a model starting cold, or a slow network): try again later.
advice-network_error = ModelScope could not be reached: check the server's network and proxy settings.
advice-no_quota_data = ModelScope sent no quota information and the points balance could not be read: try again later, or check the balance only.
advice-invalid_model = A model id looks like owner/name and uses only letters, digits and - _ .
advice-points_exhausted = Not called (nothing spent): the points available are below its lowest price. Log in to the ModelScope website for the daily short-term points.

# Words about results, shared by the pages and the JSON API.

code-invalid_key = The API key is invalid or was revoked
code-account_not_eligible = The account cannot call models yet: bind an Alibaba Cloud account and complete real-name verification
code-model_not_found = The model does not exist or is not served by API-Inference
code-quota_exhausted = Today's quota is used up
code-rate_limited = Too many requests; try again later
code-upstream_error = ModelScope answered with an error
code-timeout = The request timed out
code-network_error = ModelScope could not be reached
code-no_quota_data = ModelScope sent no quota information
code-invalid_model = Invalid model id
code-points_exhausted = Not enough points: the model was not called

reason-too_long = longer than 128 characters
reason-not_owner_slash_name = must look like owner/name
reason-bad_character = only letters, digits and - _ . are allowed
reason-dot_dot = must not contain ..
reason-connect = the connection failed
reason-truncated = the answer was cut off
reason-request = the request failed
reason-points_exhausted = out of points: log in to the ModelScope website to claim today's short-term points (valid 24 hours), then try again

result-title = Results
result-check-title = Points balance (free check, no model called)
result-summary = { $count ->
    [one] 1 model
   *[other] { $count } models
}: { $ok } OK, { $failed } failed.
result-summary-check = { $count ->
    [one] 1 model
   *[other] { $count } models
}, estimated from known prices (no model called).
result-elapsed = Took { $ms } ms.
col-model = Model
col-calls-left = Calls left
col-price = Price (points/call)
col-status = Status
col-latency = Time
col-updated = Updated
col-per-day = At this pace
strip-title = Points
strip-available = Available
strip-frozen = Frozen (calls running)
strip-spent = Spent this run
strip-total = Total
strip-buys = Roughly buys:
strip-calls = { $n ->
    [one] 1 call
   *[other] { $n } calls
}
strip-calls-text = { $n } calls
tier-flagship = flagship ({ $price }/call)
tier-mainstream = mainstream ({ $price }/call)
tier-light = light ({ $price }/call)
tier-discount = discount ({ $price }/call)
tier-other = { $price }/call
strip-not-read = The points balance was not read this time.
strip-failed = The points balance could not be read:{" "}
strip-failed-short = The points balance could not be read
strip-expected = Expected to cost about { $cost } points.
strip-spent-unknown = {" "}What it actually cost could not be measured (a balance read failed, or points came in meanwhile).
source-headers-detail = from the headers: account { $account } · model { $model }
source-points = points balance ÷ price
source-estimate = price unknown; estimated from the prices it may have
price-set = set by you
price-measured = measured
price-unknown = unknown
price-inferred = inferred
price-unusual = not a known tier
price-candidates = may be { $prices }
source-month = { $n } calls left this month
result-points-short = Not enough points, no model was called: { $available } points available, below the lowest price a call of any of the models may have. Short-term points are granted each day you log in to the ModelScope website (valid 24 hours), a new day's from 00:00 Beijing time.
result-outside = This key was also spent elsewhere while the query ran: the balance fell by { $spent } points, not all of it this query's, so it is not counted as this query's cost nor used to learn prices.
result-shared = Another query of this app used this key at the same time: { $spent } points went in all, and which part was whose cannot be told, so it is not counted as this query's cost nor used to learn prices.
result-census-measured = Measured prices:
result-census-unmeasured = Not measured (budget too small, the call failed, or the key was spent elsewhere meanwhile):
result-census-none = Every price of these models is known already; nothing to measure.
result-price-changed = The price of { $model } changed from { $from } to { $to } points per call
result-summary-census = Price census: { $count } models.
result-key-hint = ModelScope access tokens usually are ms- followed by a UUID (39 characters); this key has another shape and was tried all the same. If it fails, copy the token again from the Access Tokens page of the ModelScope website.
live-stored = Stored: see this run's record
live-failed = The connection dropped; the query still finishes on the server: look in the history shortly.
live-store-failed = The run finished and its results are above, but it could not be saved to history.
live-elapsed = { $s } s so far
age-s = { $n ->
    [one] 1 second ago
   *[other] { $n } seconds ago
}
age-m = { $n ->
    [one] 1 minute ago
   *[other] { $n } minutes ago
}
age-h = { $n ->
    [one] 1 hour ago
   *[other] { $n } hours ago
}
age-d = { $n ->
    [one] 1 day ago
   *[other] { $n } days ago
}
# Punctuation around words that are filled in (full-width in Chinese).
colon = {": "}
in-parentheses = {" "}({ $text })

# A key's outlook (the dashboard's strip): the forecast and the points expiring soon.
forecast-pace = At the pace of the last { $hours ->
    [one] hour
   *[other] { $hours } hours
} (about { $burn } points an hour) the points last about { $lasts }, until about { $when }.
forecast-no-spend = Nothing spent in the last { $hours ->
    [one] hour
   *[other] { $hours } hours
}.
forecast-too-few = A forecast needs at least 3 readings (the last 24 hours have { $readings }).
forecast-too-short = A forecast needs readings spanning at least 1 hour.
forecast-exhausted = No points left.
expiring-estimate = About { $points } points expire { $when } (estimated): use these first.
expiring-exact = { $points } points expire { $when }: use these first.
when-today = today at { $time }
when-tomorrow = tomorrow at { $time }
when-date = on { $month ->
    [1] Jan
    [2] Feb
    [3] Mar
    [4] Apr
    [5] May
    [6] Jun
    [7] Jul
    [8] Aug
    [9] Sep
    [10] Oct
    [11] Nov
   *[12] Dec
} { $day } at { $time }
span-m = { $n ->
    [one] 1 minute
   *[other] { $n } minutes
}
span-h = { $n ->
    [one] 1 hour
   *[other] { $n } hours
}
span-d = { $n ->
    [one] 1 day
   *[other] { $n } days
}

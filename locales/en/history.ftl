history-title = History
history-heading = Query history
history-key = Key
history-preset = Preset
history-model = Model
history-from = From
history-to = To
history-all = All
history-dates-hint = Dates are Beijing days and include both ends.
history-filter = Filter
history-clear = Clear filters
history-export-filtered = Export the filtered runs:
history-export-all = Export everything:
history-empty-page = There are no older runs here.
history-first-page = Back to the newest runs
history-none-match = No run matches these filters.
history-none = No runs yet. Run a query and its results are kept here:
history-go-query = Query
history-time = Time
history-ok-failed = OK / failed
history-pasted-key = pasted key
history-available = Available after
history-spent = Spent
history-kind-probe = Probe
history-kind-check = Free check
history-source-web = Page
history-source-schedule = Schedule
history-status = Status
history-status-ok = All OK
history-status-failed = With failures
history-checks = Scheduled checks
history-checks-day = One row a key and day
history-checks-each = Each on its own
# A folded row: one key's scheduled free checks of a day, listed one by one from its link.
history-day-checks = { $count ->
    [one] { $count } scheduled check that day
   *[other] { $count } scheduled checks that day
}
history-day-range = low { $low } · high { $high }
history-pages = Pages
history-prev = ← Newer
history-next = Older →
history-page = Page { $page }
history-newest = Newest
detail-title = Run #{ $id }
detail-back = ← Query history
detail-time = { $time } (Beijing time)
detail-source = Source
detail-source-web = web page
detail-source-schedule = scheduled check
detail-kind = Kind
detail-kind-probe = models called
detail-trends = Select a model's name to see its quota over time.
detail-delete = Delete this run
trend-title = Quota of { $model } over time
trend-heading = Quota over time:{" "}
trend-intro = Calls left for the model in the { $count ->
    [one] run
   *[other] { $count } runs
} of this page (at most { $limit } a page), oldest first, one line per key.
trend-range = Lowest { $low }, highest { $high }.
trend-chart-title = Calls left for the model
trend-none = No quota data for this model yet. Once it was queried and ModelScope sent quota headers, the trend shows here.
trend-records = Records
trend-account = Account quota (left / limit)
trend-model = Model quota (left / limit)
balance-intro = One line per key: the available points last read on each of the last { $days } days, by a query or a free balance check ({ $count } readings).
balance-chart-title = Available points
balance-none = No points balance read in the last { $days } days. Press “Refresh balance (free)” on the overview, or run a query, and the balance is recorded here.
balance-readings = Readings
balance-readings-newest = The table lists the newest { $count } readings.
chart-point-points = { $available } points available
# Before a point's numbers in its tooltip: "model left 128 / 500".
chart-point-model-left = model left
chart-point-account-left = account left

# CSV export headings (one per column, in order; times are Beijing time)
csv-time = Time (Beijing time UTC+8)
csv-query_id = Run id
csv-key_label = Key name
csv-preset = Preset
csv-model = Model
csv-request_limit = Account daily call limit
csv-request_remaining = Account calls left today
csv-model_request_limit = Model daily call limit
csv-model_request_remaining = Model calls left today
csv-status = HTTP status
csv-error_code = Result code
csv-status_text = Result
csv-error_message = Error detail
csv-latency_ms = Time taken (ms)
csv-quota_source = Calls left from
csv-points_per_call = Price (points per call)
csv-price_source = Price from
csv-calls_left = Calls left
csv-calls_left_min = Calls left (at least)
csv-calls_left_max = Calls left (at most)
csv-kind = Run kind
csv-balance_available = Points available (after)
csv-points_spent = Points spent by the run (on its first row only)
csv-source = Source
csv-balance_before = Points available (before)

# Messages of the JSON API (`message` in the envelope). Each says what to fix.

api-row-error = { $summary }
api-row-error-status = { $summary } (HTTP { $status })
api-row-error-detail = { $error }: { $detail }
api-ok = { $ok ->
    [one] Queried 1 model
   *[other] Queried { $ok } models
}
api-ok-some-failed = Queried { $ok } { $ok ->
    [one] model
   *[other] models
}, { $failed } failed

api-unsupported-media = Content-Type must be application/json (got { $given })
api-body-unreadable = The request body could not be read
api-body-timeout = The request body did not arrive in time: send it in one go
api-body-too-large = The request body is larger than { $limit }: ask for fewer models
api-not-utf8 = The request body is not valid UTF-8 text
api-empty-body = The request body is empty: send JSON such as {"{"}"models": ["Qwen/Qwen2.5-72B-Instruct"], "api_key": "ms-..."{"}"}
api-bad-json = Malformed JSON: { $problem }
api-not-an-object = The body must be a JSON object with models and api_key fields
api-bad-flag = { $field } must be true or false
api-bad-reference = { $field } must be a positive integer id or a name
api-bad-reference-name = { $field } must be a positive integer id or a name (at most 64 characters)
api-missing-models = The models field is missing: give a list of models (an array, or a comma or space separated string)
api-models-not-strings = Every item of the models array must be a string
api-models-bad-type = models must be an array of strings, or a comma or space separated string
api-no-models = models is empty: give at least one model id
api-key-not-string = api_key must be a string
api-keys-disagree = The api_key in the body differs from the X-API-Key header: give only one
api-missing-key = The API key is missing: give it in the api_key field or the X-API-Key header
api-bad-key = The API key is malformed: a key is 8 to 200 printable ASCII characters without spaces (ModelScope access tokens usually are ms- followed by a UUID, 39 characters; copy one from the access-token page on the ModelScope website)
api-too-many-models = Too many models: at most { $max } per query, got { $count }
api-no-valid-models = No valid model id: ids look like owner/name, e.g. Qwen/Qwen2.5-72B-Instruct. Invalid: { $invalid }
api-invalid-model = { $id } ({ $reason })
api-list-separator = ;{" "}
api-sign-in-required = key_id and preset need an API token: send the token made on the account page as Authorization: Bearer, or use api_key and models
api-preset-not-found = No such preset: check the name or id in preset
api-empty-preset = The preset has no models: add models to it on the presets page
api-key-not-found = No such key: check the name or id in key_id
api-key-needs-reentry = This key cannot be decrypted (the data was changed or the master key was replaced): enter it again on the keys page
api-unavailable = The database is unavailable right now: try again shortly
api-store-failed = The query finished, but storing it in the history failed

api-history-limit = limit must be an integer from 1 to { $max }
api-history-before = before must be the id of the last run of the previous page (a positive integer)
api-history-filter = { $name ->
    [kind] kind must be probe or check
    [source] source must be web, api or schedule
   *[status] status must be ok or failed
}, given at most once
api-history-before-missing = The run named by before does not exist
api-history-count = { $count ->
    [one] 1 run
   *[other] { $count } runs
}
api-history-not-found = No such run
api-history-ok = ok

api-catch-400 = Malformed request: send a JSON body
api-catch-401 = The API token is missing, invalid or revoked: send the token made on the account page as Authorization: Bearer
api-catch-404 = No such endpoint or record: the endpoints are listed at GET /api/openapi.json
api-catch-405 = Method not allowed here: this endpoint takes { $allow }
api-catch-413 = The request body is too large: ask for fewer models
api-catch-415 = Content-Type must be application/json
api-catch-422 = The request could not be understood: check the JSON fields
api-catch-500 = Internal server error; try again later
api-catch-other = The request could not be handled

api-check-ok = Read the points balance (free, no model called): { $available } available
api-check-failed = The points balance could not be read (no model was called)
api-bad-site = site must be "cn" (modelscope.cn) or "ai" (modelscope.ai)
api-busy = Too many anonymous queries at once from your address: wait for them to finish, or use an API token
api-points-short = Not enough points, no model was called: { $available } points available, below the lowest price a call of any of the models may have. Short-term points are granted each day you log in to the ModelScope website (valid 24 hours), a new day's from 00:00 Beijing time.
api-census = Measured the price of { $measured } models for { $spent } points; { $unmeasured } left unmeasured
api-census-needs-token = measure_prices needs an API token: send the token made on the account page in the Authorization: Bearer header
api-census-not-check = measure_prices calls models to measure their prices; it cannot go with "probe": false (a free check)
api-bad-budget = budget must be a positive number of points (at most 1000000000)
api-key-hint = ModelScope access tokens usually are ms- followed by a UUID (39 characters); this key has another shape and was tried all the same. If it fails, copy the token again from the Access Tokens page of the ModelScope website.

api-quota-ok = { $count ->
    [one] 1 key
   *[other] { $count } keys
}
api-quota-twice = { $name } is given twice: give each parameter at most once
api-quota-format = format must be json or prometheus (got "{ $given }")
api-quota-refresh = refresh must be true or false
api-quota-model = model must be a model id like Qwen/Qwen2.5-72B-Instruct (got "{ $given }")
api-quota-key-not-found = No such key: key must be the id or the label of one of your saved keys

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
    [model] the model
    [from] the start date
    [to] the end date
    [from_after_to] the start date is after the end date
   *[other] { $name }
}.
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
notice-other = The request could not be handled; check what you entered and try again.

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

reason-too_long = longer than 128 characters
reason-not_owner_slash_name = must look like owner/name
reason-bad_character = only letters, digits and - _ . are allowed
reason-dot_dot = must not contain ..
reason-connect = the connection failed
reason-truncated = the answer was cut off
reason-request = the request failed
reason-points_exhausted = out of points: log in to the ModelScope website to claim today's short-term points (valid 24 hours), then try again

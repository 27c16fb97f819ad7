error-title = Something went wrong
error-home = Back to the start page
error-400 = What was sent could not be understood; check it and try again.
error-403 = Refused: send the form again from this site's own page.
error-404 = There is no such page.
error-408 = Receiving what was sent took too long; try again.
error-413 = What was sent is too large; shorten it and try again.
error-422 = What was sent could not be understood; check it and try again.
error-429 = Too many requests; try again shortly.
error-503 = The service is unavailable right now (the database is busy or cannot be written); try again shortly.
error-500 = The server ran into an error; try again shortly.
error-other = The request could not be handled.
error-insecure-cookies = Cannot sign in or send forms: you reach this site over plain HTTP, and its cookies are set to travel over HTTPS only (secure_cookies = true), so the browser did not keep them.
error-insecure-cookies-fix = Reach the site over HTTPS (e.g. behind a reverse proxy that provides TLS); on a trusted LAN that needs no encryption, the administrator can set secure_cookies = false (or ROCKET_SECURE_COOKIES=false) and restart.

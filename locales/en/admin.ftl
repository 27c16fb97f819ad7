admin-title = Admin
admin-users = { $n ->
    [one] 1 user
   *[other] { $n } users
}
admin-users-hint = Disabling an account stops its sessions, API tokens and monitors at once and keeps everything of it; enabling brings them back. The last admin can be neither disabled nor deleted. Grant or revoke admins on the server: modelscope-balance admin grant NAME.
admin-col-keys = Keys
admin-col-monitors = Monitors
admin-col-runs = Runs
admin-badge-admin = Admin
admin-badge-disabled = Disabled
admin-badge-you = You
admin-disable = Disable
admin-enable = Enable
admin-sign-out = Sign out everywhere
admin-reset-link = Password reset link
admin-delete = Delete
admin-reset-link-for = Password reset link for { $name }
admin-reset-link-once = Shown only this once: hand it to the user by other means (chat, in person). It works once, within an hour, and a new link replaces it.
reset-title = Choose a new password
reset-for = A new password for the account { $name }. All of its sessions end; API tokens keep working.
reset-hint = At least 8 characters.
reset-submit = Set the new password
confirm-user-title = Delete this account?
confirm-user-body = Delete the account “{ $name }” with its saved keys, presets, monitors, history and API tokens? This cannot be undone.
flash-user_disabled = “{ $name }” was disabled: signed out, tokens refused, monitors paused.
flash-user_enabled = “{ $name }” was enabled again.
flash-user_deleted = The account “{ $name }” and all its data were deleted.
flash-user_signed_out = “{ $name }” was signed out everywhere.
flash-password_reset = Your new password is set; sign in with it.
notice-user_not_found = That account cannot be found; it may have been deleted.
notice-last_admin = That is the last admin: grant another account admin first (modelscope-balance admin grant NAME).
notice-last_admin_self = You are the last admin: grant another account admin first (modelscope-balance admin grant NAME), then delete this one.
notice-account_disabled = This account is disabled; ask the site's administrator.
notice-bad_link = This link does not work: it is unknown, used already or expired. Ask for a new one.
notice-link_already_shown = That link was shown already (only once, for safety). If it was not kept, make a new one: the new link replaces it.
admin-signup = Sign-up
admin-signup-mode = Who may make an account
admin-signup-open = Open: anyone
admin-signup-invite = Invitation only: with a link made below
admin-signup-closed = Closed: nobody
admin-signup-save = Save
admin-invitations = Invitations
admin-invitations-hint = An invitation is a link to /signup that makes one account, in invitation-only mode. It is shown once when made; only a hash of it is kept. Unused ones can be revoked.
admin-invitation-by = Made by
admin-invitation-expires = Expires
admin-invitation-state = State
admin-invitation-pending = Unused
admin-invitation-used = Used by
admin-invitation-expired = Expired
admin-invitation-days = Days it works
admin-invite = Make an invitation
admin-new-invitation = New invitation
admin-invitation-once = Shown only this once: send it to the person you invite. It makes one account, within the days chosen.
signup-invited = You were invited: this link makes one account.
flash-signup_mode = Sign-up is now { $name ->
    [open] open to anyone
    [invite] by invitation only
   *[closed] closed
}.
flash-invitation_revoked = The invitation was revoked.
notice-bad_signup_mode = Pick one of the three sign-up modes.
notice-bad_invitation_days = An invitation works for 1 to { $n } days: enter a whole number.
notice-invitation_not_found = That invitation cannot be found, or was used already.
notice-invitation_needed = Sign-up on this site needs an invitation: open the link you were sent.
admin-health = Instance health
admin-health-version = Version
admin-health-uptime = Running for
admin-health-uptime-value = { $d } d { $h } h { $m } min
admin-health-database = Database
admin-health-wal = Write-ahead log
admin-health-free = Free disk (data directory)
admin-health-unknown = not known here
admin-health-backup = Last backup
admin-health-no-backup = none recorded
admin-health-due = Monitor runs due now
admin-health-lag = Scheduler lag
admin-health-lag-value = { $n ->
    [one] 1 second behind
   *[other] { $n } seconds behind
}
admin-health-no-lag = none: nothing waits
admin-health-upstream = Upstream calls in the last hour
admin-health-endpoint = Endpoint
admin-health-calls = Calls
admin-health-ok = Answered
admin-health-errors = Errors
admin-health-hint = Counted by this process since it started (a restart starts the hour again). An endpoint answers when at least one call to it succeeded in the hour. Backups are recorded by modelscope-balance backup.
admin-endpoint-chat = Model calls (probes)
admin-endpoint-balance = Points balance
admin-endpoint-catalogue = Model catalogue
admin-endpoint-answers = Answers
admin-endpoint-failing = Failing
admin-endpoint-unused = Not called
admin-outcome-unauthorized = refused key
admin-outcome-rate_limited = rate limited
admin-outcome-client_error = client error
admin-outcome-server_error = server error
admin-outcome-timeout = timeout
admin-outcome-network = network
admin-prices = Model prices for everyone
admin-prices-hint = A price set here is used for every user (signed out too) whose own setting or measurement does not say otherwise; what users measured alike comes after it.
admin-price-model = Model
admin-price-points = Price
admin-price-none = no setting (clear)
admin-price-save = Set for everyone
admin-price-clear = Clear
flash-instance_price_saved = The instance price of { $name } was saved.

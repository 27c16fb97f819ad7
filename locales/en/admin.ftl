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

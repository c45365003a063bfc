"""Signals of accounts for the apps above it (which accounts may not import)."""

from __future__ import annotations

from django.dispatch import Signal

# Sent inside the acceptance transaction with `invitation` and `user`: timesheets links the employee record the
# invitation names to the new login (accounts cannot import timesheets).
invitation_accepted = Signal()

# Sent inside the transaction of a first single sign-on, with `user` (the login just created): timesheets links the
# employee record with the same e-mail address, when it has no login yet.
sso_login_created = Signal()

"""Signals of accounts for the apps above it (which accounts may not import)."""

from __future__ import annotations

from django.dispatch import Signal

# Sent inside the acceptance transaction with `invitation` and `user`: timesheets links the employee record the
# invitation names to the new login (accounts cannot import timesheets).
invitation_accepted = Signal()

"""Jira Cloud: connection settings, synced work logs and issue assignments, sync cursors."""

"""Jira writes, by subject: connection settings (connection.py), sync requests and the schedule (schedule.py),
the sync job (sync.py) and the lookups it builds per run (directories.py)."""

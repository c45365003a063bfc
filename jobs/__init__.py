"""Background jobs: status, progress and result of long work, and the reaper for stalled ones."""

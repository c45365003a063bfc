"""E-mail: the only door to SMTP, message templates, and the record of every message sent (or not)."""

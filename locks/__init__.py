"""Tenant locks: a Redis lease for mutual exclusion plus a PostgreSQL fencing epoch for safety."""

"""Tenant users: login, roles given to users, API tokens, login records."""

"""Typed access to the connection's current schema (django-tenants adds these attributes at run time)."""

from __future__ import annotations

from typing import Any

from django.db import connection, connections

PUBLIC_SCHEMA = "public"


def _tenant_connection() -> Any:
    return connection


def current_schema() -> str:
    return str(getattr(_tenant_connection(), "schema_name", PUBLIC_SCHEMA))


def use_public_schema() -> None:
    """Back to public on every tenant-aware connection (the primary and, if configured, the replica)."""
    for conn in connections.all(initialized_only=True):
        if hasattr(conn, "set_schema_to_public"):
            conn.set_schema_to_public()
    _tenant_connection().set_schema_to_public()


def use_tenant(tenant: Any) -> None:
    _tenant_connection().set_tenant(tenant)


def in_public_schema() -> bool:
    return current_schema() == PUBLIC_SCHEMA

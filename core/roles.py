"""The four roles of a tenant (Django groups in the tenant schema), the one place role checks are written.

- Admin: everything, including users, tokens of others and tenant settings.
- HR: every employee and their personal data, users (except Admin grants), reports, audit.
- Manager: the suggestions, allocations and weeks of their team (employees whose `manager` is the Manager's
  own employee record), plus their own; no personal data, no tenant-wide pages.
- Employee: their own records only.

Every DRF view declares its access through these permission classes (each carries the role names it lets in,
`roles`); every UI view through `core.ui.roles_required` (or `staff_required`). tests/accounts/test_role_access.py
walks the OpenAPI schema and every UI route and checks each role against its table.
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

ROLE_ADMIN = "Admin"
ROLE_HR = "HR"
ROLE_MANAGER = "Manager"
ROLE_EMPLOYEE = "Employee"
ROLES = (ROLE_ADMIN, ROLE_HR, ROLE_MANAGER, ROLE_EMPLOYEE)
STAFF_ROLES = frozenset({ROLE_ADMIN, ROLE_HR})
REVIEWER_ROLES = frozenset({ROLE_ADMIN, ROLE_HR, ROLE_MANAGER})
ALL_ROLES = frozenset(ROLES)


def user_roles(user: Any) -> frozenset[str]:
    """Role names of a user, read once per request object."""
    if user is None or not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_hrms_roles", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        user._hrms_roles = cached
    return cached


def has_any_role(user: Any, roles: frozenset[str]) -> bool:
    return bool(user_roles(user) & roles)


def is_staff_user(user: Any) -> bool:
    """HR or Admin: sees every employee and their PII."""
    return has_any_role(user, STAFF_ROLES)


def is_admin_user(user: Any) -> bool:
    return ROLE_ADMIN in user_roles(user)


def is_manager_user(user: Any) -> bool:
    """A Manager who is not also HR or Admin: sees their team (staff see everyone anyway)."""
    roles = user_roles(user)
    return ROLE_MANAGER in roles and not roles & STAFF_ROLES


def is_reviewer_user(user: Any) -> bool:
    """HR, Admin or Manager: picks among several employees (all, or the team)."""
    return has_any_role(user, REVIEWER_ROLES)


class _RolePermission(BasePermission):
    roles: frozenset[str] = frozenset()
    message = "This action needs another role."

    def has_permission(self, request: Request, view: Any) -> bool:
        return has_any_role(request.user, self.roles)


class IsHROrAdmin(_RolePermission):
    roles = STAFF_ROLES
    message = "This action needs the HR or Admin role."


class IsAdmin(_RolePermission):
    roles = frozenset({ROLE_ADMIN})
    message = "This action needs the Admin role."


class IsReviewer(_RolePermission):
    roles = REVIEWER_ROLES
    message = "This action needs the HR, Admin or Manager role."

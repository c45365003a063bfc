"""The three roles of a tenant (Django groups in the tenant schema) and the DRF permissions built on them."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

ROLE_ADMIN = "Admin"
ROLE_HR = "HR"
ROLE_EMPLOYEE = "Employee"
ROLES = (ROLE_ADMIN, ROLE_HR, ROLE_EMPLOYEE)
STAFF_ROLES = frozenset({ROLE_ADMIN, ROLE_HR})


def user_roles(user: Any) -> frozenset[str]:
    """Role names of a user, read once per request object."""
    if user is None or not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_hrms_roles", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        user._hrms_roles = cached
    return cached


def is_staff_user(user: Any) -> bool:
    """HR or Admin: sees every employee and their PII."""
    return bool(user_roles(user) & STAFF_ROLES)


def is_admin_user(user: Any) -> bool:
    return ROLE_ADMIN in user_roles(user)


class IsHROrAdmin(BasePermission):
    message = "This action needs the HR or Admin role."

    def has_permission(self, request: Request, view: Any) -> bool:
        return is_staff_user(request.user)


class IsAdmin(BasePermission):
    message = "This action needs the Admin role."

    def has_permission(self, request: Request, view: Any) -> bool:
        return is_admin_user(request.user)

"""Logins for employees: invite every employee without one, and link the login when an invitation is accepted or
a first single sign-on creates it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from accounts.models import Invitation
from accounts.services import InvitationRequest, invitations_create_many
from audit.services import ActorLike, audit_append
from core.roles import ROLE_EMPLOYEE
from tenants.crypto import blind_index_candidates
from timesheets.models import Employee
from timesheets.services.pending import suggestions_cache_invalidate


@dataclass(frozen=True)
class EmployeesInvited:
    invited: int
    skipped: int


@transaction.atomic
def employees_invite(*, actor: ActorLike, link_base: str, role: str = ROLE_EMPLOYEE) -> EmployeesInvited:
    """Invite, with this role, every active employee without a login and without an open invitation; each
    login is linked to its employee record on acceptance. One audit event for the whole batch."""
    open_invitation = Invitation.objects.filter(
        Q(employee_id=OuterRef("id")) | Q(email__iexact=OuterRef("email")),
        accepted_at__isnull=True,
        revoked_at__isnull=True,
    )
    candidates = list(
        Employee.objects.filter(active=True, user__isnull=True)
        .filter(~Exists(open_invitation))
        .values_list("id", "email")
        .order_by("name", "id")
    )
    made = invitations_create_many(
        actor=actor,
        requests=[
            InvitationRequest(email=email, role=role, employee_id=employee_id) for employee_id, email in candidates
        ],
        link_base=link_base,
    )
    result = EmployeesInvited(invited=len(made), skipped=len(candidates) - len(made))
    audit_append(
        actor=actor,
        action="employees.invite",
        object_type="employee",
        data={"invited": result.invited, "skipped": result.skipped, "role": role},
    )
    return result


def employee_link_on_acceptance(sender: Any, *, invitation: Invitation, user: Any, **kwargs: Any) -> None:
    """The invitation named an employee record: it becomes that login's record (unless it has one by now).

    Runs inside the acceptance's transaction; the acceptance's audit event names the employee."""
    if invitation.employee_id is None:
        return
    linked = Employee.objects.filter(id=invitation.employee_id, user__isnull=True).update(user=user)
    if linked:
        suggestions_cache_invalidate()


def employee_link_on_sso_login(sender: Any, *, user: Any, **kwargs: Any) -> None:
    """A first single sign-on created this login: the employee record with its e-mail address becomes its record
    (unless that record has a login already). Runs inside the sign-in's transaction."""
    email = str(user.email or "")
    if not email:
        return
    candidates = blind_index_candidates(email, purpose="email")
    linked = Employee.objects.filter(email_index__in=candidates, user__isnull=True).update(user=user)
    if linked:
        suggestions_cache_invalidate()

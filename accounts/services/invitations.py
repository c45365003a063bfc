"""Invitations: invite an address with a role, resend, revoke, accept (the login is created then)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import Invitation
from accounts.signals import invitation_accepted
from audit.services import ActorLike, acting_user, audit_append
from core.errors import Conflict, PermissionDenied, ValidationFailed
from core.roles import ROLE_ADMIN, ROLES, is_admin_user
from notifications.services import Recipient, emails_queue


def _valid_for() -> timedelta:
    return timedelta(hours=int(getattr(settings, "INVITATION_VALID_HOURS", 72)))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class InvitationRefused(ValidationFailed):
    code = "invitation_invalid"


@dataclass(frozen=True)
class InvitationRequest:
    email: str
    role: str
    employee_id: uuid.UUID | None = None


def _role_check(*, actor: ActorLike, role: str) -> None:
    if role not in ROLES:
        raise ValidationFailed("Invalid input.", fields={"role": [f"Unknown role; one of {', '.join(ROLES)}."]})
    user = acting_user(actor)
    if role == ROLE_ADMIN and user is not None and not is_admin_user(user):
        raise PermissionDenied("Only an Admin may give the Admin role.")


def _logins_with_emails(emails: Sequence[str]) -> set[str]:
    lowered = [email.lower() for email in emails]
    taken = User.objects.annotate(e=Lower("email"), u=Lower("username")).filter(Q(e__in=lowered) | Q(u__in=lowered))
    found: set[str] = set()
    for username, email in taken.values_list("username", "email"):
        found.update({username.lower(), email.lower()})
    return found


def _tenant_name() -> str:
    tenant = getattr(connection, "tenant", None)
    return str(getattr(tenant, "name", "") or getattr(tenant, "slug", ""))


def _inviter(actor: ActorLike) -> str:
    user = acting_user(actor)
    return (user.get_full_name() or user.get_username()) if user is not None else _tenant_name()


def _send(*, invitations: Sequence[tuple[Invitation, str]], actor: ActorLike, link_base: str) -> None:
    tenant_name, inviter = _tenant_name(), _inviter(actor)
    emails_queue(
        template="invitation",
        recipients=[
            Recipient(
                to=invitation.email,
                context={
                    "tenant_name": tenant_name,
                    "inviter": inviter,
                    "role": invitation.role,
                    "link": f"{link_base}/invitations/{token}",
                    "expires_at": invitation.expires_at,
                },
            )
            for invitation, token in invitations
        ],
    )


def _fresh(invitation: Invitation, now: datetime) -> str:
    token = secrets.token_urlsafe(32)
    invitation.token_hash = _token_hash(token)
    invitation.sent_at = now
    invitation.expires_at = now + _valid_for()
    return token


def invitations_create_many(
    *, actor: ActorLike, requests: Sequence[InvitationRequest], link_base: str
) -> list[Invitation]:
    """Invite each address (skipping those that already have a login or an open invitation); no audit event:
    the caller writes the one that describes its operation. Returns the invitations made."""
    for request in requests:
        _role_check(actor=actor, role=request.role)
    taken = _logins_with_emails([request.email for request in requests])
    open_ones = {
        email.lower()
        for email in Invitation.objects.filter(accepted_at__isnull=True, revoked_at__isnull=True).values_list(
            "email", flat=True
        )
    }
    now = timezone.now()
    made: list[tuple[Invitation, str]] = []
    seen: set[str] = set()
    for request in requests:
        email = request.email.strip()
        if email.lower() in taken or email.lower() in open_ones or email.lower() in seen:
            continue
        seen.add(email.lower())
        invitation = Invitation(
            email=email, role=request.role, employee_id=request.employee_id, invited_by=acting_user(actor)
        )
        made.append((invitation, _fresh(invitation, now)))
    Invitation.objects.bulk_create([invitation for invitation, _ in made], batch_size=500)
    _send(invitations=made, actor=actor, link_base=link_base)
    return [invitation for invitation, _ in made]


@transaction.atomic
def invitation_create(
    *, actor: ActorLike, email: str, role: str, link_base: str, employee_id: uuid.UUID | None = None
) -> Invitation:
    """Invite one address. 409 when it already has a login; an open invitation of the address is sent again."""
    email = email.strip()
    _role_check(actor=actor, role=role)
    if _logins_with_emails([email]):
        raise Conflict("This e-mail address already has a login.", fields={"email": ["Already has a login."]})
    invitation = (
        Invitation.objects.select_for_update()
        .filter(email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True)
        .first()
    )
    now = timezone.now()
    if invitation is None:
        invitation = Invitation(email=email, role=role, employee_id=employee_id, invited_by=acting_user(actor))
        token = _fresh(invitation, now)
        invitation.save(force_insert=True)
    else:
        invitation.role, invitation.invited_by = role, acting_user(actor)
        if employee_id is not None:
            invitation.employee_id = employee_id
        token = _fresh(invitation, now)
        invitation.save()
    _send(invitations=[(invitation, token)], actor=actor, link_base=link_base)
    audit_append(
        actor=actor,
        action="invitation.create",
        object_type="invitation",
        object_id=invitation.id,
        data={"role": role, "employee_id": str(employee_id) if employee_id else None},
    )
    return invitation


def _locked_open(invitation_id: uuid.UUID) -> Invitation:
    invitation = Invitation.objects.select_for_update().get(id=invitation_id)
    if invitation.accepted_at is not None:
        raise Conflict("This invitation was already accepted.")
    if invitation.revoked_at is not None:
        raise Conflict("This invitation was revoked.")
    return invitation


@transaction.atomic
def invitation_resend(*, actor: ActorLike, invitation: Invitation, link_base: str) -> Invitation:
    """A new link (the old one stops working) with a new expiry, sent again."""
    invitation = _locked_open(invitation.id)
    token = _fresh(invitation, timezone.now())
    invitation.save(update_fields=["token_hash", "sent_at", "expires_at"])
    _send(invitations=[(invitation, token)], actor=actor, link_base=link_base)
    audit_append(actor=actor, action="invitation.resend", object_type="invitation", object_id=invitation.id)
    return invitation


@transaction.atomic
def invitation_revoke(*, actor: ActorLike, invitation: Invitation) -> Invitation:
    invitation = _locked_open(invitation.id)
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit_append(actor=actor, action="invitation.revoke", object_type="invitation", object_id=invitation.id)
    return invitation


def invitation_for_token(*, token: str) -> Invitation | None:
    """The open, unexpired invitation of this link in the current tenant, or None."""
    invitation = Invitation.objects.filter(token_hash=_token_hash(token)).first()
    if invitation is None or invitation.status != "pending":
        return None
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, password: str) -> User:
    """Create the login the invitation describes, with this password (Django's validators apply)."""
    invitation = Invitation.objects.select_for_update().filter(token_hash=_token_hash(token)).first()
    if invitation is None or invitation.status != "pending":
        # Unknown (another tenant's link too), used, revoked or expired: one answer, it tells nothing more.
        raise InvitationRefused(
            "This invitation link is not valid: it was used, revoked or has expired. Ask for a new invitation.",
            fields={"token": ["Not a valid invitation."]},
        )
    if _logins_with_emails([invitation.email]):
        raise Conflict("This e-mail address already has a login.", fields={"email": ["Already has a login."]})
    user = User(username=invitation.email.lower(), email=invitation.email)
    try:
        validate_password(password, user=user)
    except ValidationError as error:
        raise ValidationFailed("Choose another password.", fields={"password": list(error.messages)}) from error
    user.set_password(password)
    user.save(force_insert=True)
    group, _ = Group.objects.get_or_create(name=invitation.role)
    user.groups.add(group)
    invitation.accepted_at = timezone.now()
    invitation.user = user
    invitation.save(update_fields=["accepted_at", "user"])
    invitation_accepted.send(sender=Invitation, invitation=invitation, user=user)
    audit_append(
        actor=user,
        action="invitation.accept",
        object_type="invitation",
        object_id=invitation.id,
        data={"user_id": user.pk, "role": invitation.role, "employee_id": str(invitation.employee_id or "") or None},
    )
    return user

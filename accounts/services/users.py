"""Users of a tenant: deactivate, reactivate, change role. A change reaches every process within a second."""

from __future__ import annotations

from django.contrib.auth.models import Group, User
from django.db import transaction

from accounts.revocation import credentials_changed
from audit.services import ActorLike, acting_user, audit_append
from core.errors import Conflict, PermissionDenied, ValidationFailed
from core.roles import ROLE_ADMIN, ROLES, is_admin_user


def _locked(user: User) -> User:
    return User.objects.select_for_update().get(pk=user.pk)


def _is_admin(user: User) -> bool:
    return user.groups.filter(name=ROLE_ADMIN).exists()


def _other_active_admins(user: User) -> bool:
    # Every Admin's row is locked first, so two requests cannot each remove "the other" last Admin.
    admins = list(
        User.objects.select_for_update().filter(groups__name=ROLE_ADMIN, is_active=True).values_list("pk", flat=True)
    )
    return any(pk != user.pk for pk in admins)


def _guard_admin_target(*, actor: ActorLike, user: User) -> None:
    """Only an Admin may change another Admin's login."""
    acting = acting_user(actor)
    if acting is not None and not is_admin_user(acting) and _is_admin(user):
        raise PermissionDenied("Only an Admin may change an Admin's login.")


@transaction.atomic
def user_deactivate(*, actor: ActorLike, user: User) -> User:
    """The login stops working at once: sessions are refused on their next request, API tokens within a second."""
    _guard_admin_target(actor=actor, user=user)
    user = _locked(user)
    if not user.is_active:
        return user
    if _is_admin(user) and not _other_active_admins(user):
        raise Conflict("The last active Admin cannot be deactivated: give another user the Admin role first.")
    user.is_active = False
    user.save(update_fields=["is_active"])
    credentials_changed()
    audit_append(actor=actor, action="user.deactivate", object_type="user", object_id=user.pk)
    return user


@transaction.atomic
def user_reactivate(*, actor: ActorLike, user: User) -> User:
    _guard_admin_target(actor=actor, user=user)
    user = _locked(user)
    if user.is_active:
        return user
    user.is_active = True
    user.save(update_fields=["is_active"])
    credentials_changed()
    audit_append(actor=actor, action="user.reactivate", object_type="user", object_id=user.pk)
    return user


@transaction.atomic
def user_role_set(*, actor: ActorLike, user: User, role: str) -> User:
    """The user's one role becomes this one."""
    if role not in ROLES:
        raise ValidationFailed("Invalid input.", fields={"role": [f"Unknown role; one of {', '.join(ROLES)}."]})
    acting = acting_user(actor)
    if role == ROLE_ADMIN and acting is not None and not is_admin_user(acting):
        raise PermissionDenied("Only an Admin may give the Admin role.")
    _guard_admin_target(actor=actor, user=user)
    user = _locked(user)
    before = sorted(user.groups.values_list("name", flat=True))
    if before == [role]:
        return user
    if ROLE_ADMIN in before and role != ROLE_ADMIN and user.is_active and not _other_active_admins(user):
        raise Conflict("The last active Admin keeps the Admin role: give another user the Admin role first.")
    group, _ = Group.objects.get_or_create(name=role)
    user.groups.set([group])
    credentials_changed()
    audit_append(
        actor=actor, action="user.role_set", object_type="user", object_id=user.pk, data={"from": before, "to": role}
    )
    return user

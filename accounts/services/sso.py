"""Single sign-on writes: the tenant's provider configuration, logins through it (users created on first login and
linked by e-mail), and the record of every refused attempt. Each writes its audit event."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import Group, User
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower

from accounts.models import SsoProvider
from accounts.oidc import SsoRejected, issuer_problem, provider_forget
from accounts.selectors import sso_provider_get
from accounts.signals import sso_login_created
from audit.services import SYSTEM, ActorLike, audit_append
from core.errors import ValidationFailed
from core.roles import ROLE_ADMIN, ROLES

# A DNS name of at least two labels (no scheme, no port, no "@").
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


@dataclass(frozen=True)
class SsoSettings:
    display_name: str
    issuer: str
    client_id: str
    allowed_domains: list[str]
    role_claim: str
    default_role: str
    enabled: bool
    require_sso: bool
    # None keeps the stored secret (it is write-only: nobody can read it back to send it again).
    client_secret: str | None = None


def _normalised_domains(domains: list[str]) -> list[str]:
    cleaned = sorted({domain.strip().lower().lstrip("@") for domain in domains if domain.strip()})
    bad = [domain for domain in cleaned if not _DOMAIN.match(domain)]
    if bad:
        raise ValidationFailed(
            "Invalid input.", fields={"allowed_domains": [f"Not a domain name: {', '.join(bad[:5])}."]}
        )
    if not cleaned:
        raise ValidationFailed("Invalid input.", fields={"allowed_domains": ["Name at least one e-mail domain."]})
    return cleaned


def _validated(values: SsoSettings, existing: SsoProvider | None) -> dict[str, Any]:
    fields: dict[str, list[str]] = {}
    issuer = values.issuer.strip()
    problem = issuer_problem(issuer)
    if problem:
        fields["issuer"] = [problem]
    if values.default_role not in ROLES:
        fields["default_role"] = [f"Unknown role; one of {', '.join(ROLES)}."]
    if existing is None and not values.client_secret:
        fields["client_secret"] = ["Required when the provider is first configured."]
    if fields:
        raise ValidationFailed("Invalid input.", fields=fields)
    return {
        "display_name": values.display_name.strip(),
        "issuer": issuer,
        "client_id": values.client_id.strip(),
        "allowed_domains": _normalised_domains(values.allowed_domains),
        "role_claim": values.role_claim.strip(),
        "default_role": values.default_role,
        "enabled": values.enabled,
        "require_sso": values.require_sso,
    }


@transaction.atomic
def sso_provider_configure(*, actor: ActorLike, values: SsoSettings) -> SsoProvider:
    """Create or change the tenant's provider. The audit event names what changed, never the secret itself."""
    existing = SsoProvider.objects.select_for_update().filter(key=SsoProvider.SINGLETON).first()
    cleaned = _validated(values, existing)
    provider = existing or SsoProvider()
    before = {name: getattr(provider, name) for name in cleaned} if existing else {}
    for name, value in cleaned.items():
        setattr(provider, name, value)
    secret_changed = bool(values.client_secret)
    if values.client_secret:
        provider.client_secret = values.client_secret
    provider.save()
    changed = sorted(name for name, value in cleaned.items() if before.get(name) != value)
    audit_append(
        actor=actor,
        action="sso.configure",
        object_type="sso_provider",
        object_id=provider.pk,
        data={
            "created": existing is None,
            "changed": changed,
            "client_secret_changed": secret_changed,
            "issuer": provider.issuer,
            "enabled": provider.enabled,
            "require_sso": provider.require_sso,
        },
    )
    transaction.on_commit(lambda: provider_forget(provider.issuer))
    if existing is not None and existing.issuer != provider.issuer:
        transaction.on_commit(lambda: provider_forget(before["issuer"]))
    return provider


def _email_of(claims: dict[str, Any]) -> str:
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email or len(email) > 254:
        raise SsoRejected("email", "The sign-in provider did not send an e-mail address.")
    if claims.get("email_verified") is False:
        raise SsoRejected("email", "The sign-in provider has not verified this e-mail address.")
    return email.strip()


def _role_of(provider: SsoProvider, claims: dict[str, Any]) -> str:
    if not provider.role_claim or provider.role_claim not in claims:
        return provider.default_role
    value = claims[provider.role_claim]
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, str) and value in ROLES:
        return value
    shown = value if isinstance(value, str) else type(value).__name__
    raise SsoRejected("role", f"The sign-in provider names a role this product does not know: {str(shown)[:60]}.")


@transaction.atomic
def sso_login(*, provider: SsoProvider, claims: dict[str, Any]) -> User:
    """The login for these verified claims: an existing user with the e-mail, or a new one with the claimed role.

    Raises SsoRejected (nothing written) for an address outside the allowed domains, an unknown role or a
    deactivated login; the caller records the refusal.
    """
    email = _email_of(claims)
    domain = email.rsplit("@", 1)[1].lower()
    if domain not in provider.allowed_domains:
        raise SsoRejected("domain", f"Addresses at {domain[:100]} may not sign in to this company.")
    role = _role_of(provider, claims)
    lowered = email.lower()
    matches: list[User] = list(
        User.objects.annotate(e=Lower("email"), u=Lower("username"))
        .filter(Q(e=lowered) | Q(u=lowered))
        .order_by("id")[:2]
    )
    if len(matches) > 1:
        raise SsoRejected("ambiguous", "More than one login has this e-mail address; ask an Admin.")
    user: User | None = matches[0] if matches else None
    created = user is None
    if user is None:
        user = User(username=lowered, email=email)
        user.set_unusable_password()
        user.save(force_insert=True)
        group, _ = Group.objects.get_or_create(name=role)
        user.groups.add(group)
        sso_login_created.send(sender=SsoProvider, user=user)
        audit_append(
            actor=SYSTEM,
            action="user.create",
            object_type="user",
            object_id=user.pk,
            data={"via": "sso", "role": role, "issuer": provider.issuer},
        )
    elif not user.is_active:
        raise SsoRejected("inactive", "This login has been deactivated; ask an Admin.")
    audit_append(
        actor=user,
        action="auth.login",
        object_type="user",
        object_id=user.pk,
        data={"via": "sso", "issuer": provider.issuer, "created": created, "subject": str(claims.get("sub", ""))[:200]},
    )
    return user


@transaction.atomic
def sso_refusal_record(*, reason: str, message: str, issuer: str, email: str = "") -> None:
    """An audit event for a refused sign-in attempt (nobody was logged in)."""
    audit_append(
        actor=SYSTEM,
        action="auth.sso_refused",
        object_type="sso_provider",
        object_id=issuer[:64],
        data={"reason": reason, "message": message, "issuer": issuer, "email": email[:254]},
    )


def sso_password_login_refusal(*, user: User) -> str | None:
    """Why this user may not log in with a password (the tenant requires single sign-on and the user is no
    Admin), recorded as a refused attempt; None when the password login may go on."""
    provider = sso_provider_get()
    if provider is None or not provider.enabled or not provider.require_sso:
        return None
    if user.groups.filter(name=ROLE_ADMIN).exists():
        return None
    sso_refusal_record(
        reason="sso_required",
        message="Password login refused: single sign-on is required.",
        issuer=provider.issuer,
        email=str(user.email or user.get_username()),
    )
    return f"This company signs in with {provider.display_name} (single sign-on); passwords are for Admins only."

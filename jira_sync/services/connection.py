"""The tenant's Jira connection: its settings, verified against Jira before they are saved."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import ActorLike, audit_append
from core.errors import Conflict, ValidationFailed
from jira_sync.client import JiraAccount, JiraAuthError, JiraClient, JiraError, JiraSiteRefused, JiraUnavailable
from jira_sync.models import JiraConnection, JiraSyncCursor
from jira_sync.selectors import jira_connection_get
from jira_sync.services.directories import ZoneDirectory, tenant_time_zone

MIN_INTERVAL_MINUTES = 5
MAX_INTERVAL_MINUTES = 1440


class JiraVerificationFailed(ValidationFailed):
    code = "jira_verification_failed"


def jira_client_for(*, site_url: str, email: str, api_token: str, max_retries: int | None = None) -> JiraClient:
    """The one place a JiraClient is built (tests point it at the local stand-in through the URL)."""
    if max_retries is None:
        return JiraClient(site_url=site_url, email=email, api_token=api_token)
    return JiraClient(site_url=site_url, email=email, api_token=api_token, max_retries=max_retries)


def jira_credentials_verify(*, site_url: str, email: str, api_token: str) -> JiraAccount:
    """`GET /myself` with these credentials; JiraVerificationFailed naming the field at fault otherwise."""
    try:
        with jira_client_for(site_url=site_url, email=email, api_token=api_token, max_retries=1) as client:
            return client.myself()
    except JiraAuthError as exc:
        if exc.status == 403:
            message = (
                "Jira accepted the email and API token but refused access (403 Forbidden): the account may not "
                "use the REST API on this site, or is blocked by an IP allow-list."
            )
        else:
            message = (
                "Jira rejected this email and API token (401 Unauthorized). Check both; API tokens are created "
                "at id.atlassian.com under Security."
            )
        fields = {"api_token": [message]}
    except JiraSiteRefused as exc:
        fields = {"site_url": [exc.message]}
    except JiraUnavailable as exc:
        if exc.status is None:
            # No reason given: refused, reset and timed-out connections must not tell open ports from closed.
            fields = {"site_url": [f"Jira could not be reached at {site_url}."]}
        else:
            fields = {"site_url": [f"Jira at {site_url} is unavailable (HTTP {exc.status}); try again later."]}
    except JiraError as exc:
        fields = {"site_url": [f"{site_url} did not answer like a Jira Cloud site: {exc.message}"]}
    raise JiraVerificationFailed("Jira did not accept the connection settings.", fields=fields)


def _site_url_clean(site_url: str) -> str:
    cleaned = site_url.strip().rstrip("/")
    parts = urlsplit(cleaned)
    problem = ""
    if parts.scheme not in ("http", "https") or not parts.hostname:
        problem = "Enter the site's address, e.g. https://your-company.atlassian.net."
    elif parts.username or parts.password or parts.query or parts.fragment:
        problem = "Enter only the site's address: no credentials, query or fragment."
    elif parts.scheme != "https" and getattr(settings, "JIRA_REQUIRE_HTTPS", False):
        problem = "Jira Cloud is served over https; an http address is refused here."
    if problem:
        raise ValidationFailed("The Jira connection settings are invalid.", fields={"site_url": [problem]})
    return cleaned


def project_keys_clean(project_keys: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(key.strip().upper() for key in project_keys if key.strip()))


def _filter_broadened(old: list[str], new: list[str]) -> bool:
    """True when the new project filter lets through something the old one did not (empty = every project)."""
    if not old:
        return False
    return not new or bool(set(new) - set(old))


def jira_connection_save(
    *,
    actor: ActorLike,
    site_url: str,
    email: str,
    api_token: str | None,
    enabled: bool = True,
    project_keys: Iterable[str] = (),
    sync_interval_minutes: int = 30,
    write_back_enabled: bool | None = None,
    write_back_since: date | None = None,
) -> JiraConnection:
    """Create or replace the tenant's connection. An enabled one is verified against Jira first.

    `write_back_enabled` / `write_back_since` (None: keep as stored) switch on the two-way sync; turning it on
    without a date writes back allocations from today (the tenant's calendar) on.

    The API token may be left out to keep the stored one, but only while site and email stay the same: a
    stored token is never sent to a different address. Changing the site, or widening the project filter,
    resets the cursors so the next sync reads everything again (upserts make that safe).
    """
    site_url = _site_url_clean(site_url)
    email = email.strip()
    keys = project_keys_clean(project_keys)
    if not MIN_INTERVAL_MINUTES <= sync_interval_minutes <= MAX_INTERVAL_MINUTES:
        raise ValidationFailed(
            "The Jira connection settings are invalid.",
            fields={"sync_interval_minutes": [f"Between {MIN_INTERVAL_MINUTES} and {MAX_INTERVAL_MINUTES}."]},
        )
    existing = jira_connection_get()
    same_account = existing is not None and existing.site_url == site_url and existing.email.lower() == email.lower()
    token = api_token or None
    if token is None:
        if existing is None or not same_account:
            raise ValidationFailed(
                "The Jira connection settings are invalid.",
                fields={"api_token": ["Required when the connection is created or its site URL or email changes."]},
            )
        token = str(existing.api_token)
    # Talk to Jira before the transaction opens: no row lock is held across a network call.
    account = jira_credentials_verify(site_url=site_url, email=email, api_token=token) if enabled else None
    with transaction.atomic():
        row = JiraConnection.objects.select_for_update().filter(singleton=True).first()
        created = row is None
        if row is None:
            row = JiraConnection()
        reset = not created and (row.site_url != site_url or _filter_broadened(list(row.project_keys), keys))
        # Saved without verifying: the old verification does not speak for another site, account or token.
        unverified = not created and (
            row.site_url != site_url
            or row.email.lower() != email.lower()
            or (bool(api_token) and api_token != str(row.api_token))
        )
        row.site_url = site_url
        row.email = email
        row.enabled = enabled
        row.project_keys = keys
        row.sync_interval_minutes = sync_interval_minutes
        if api_token:
            row.api_token = api_token
        if write_back_enabled is not None:
            row.write_back_enabled = write_back_enabled
        if write_back_since is not None:
            row.write_back_since = write_back_since
        elif row.write_back_enabled and row.write_back_since is None:
            row.write_back_since = timezone.now().astimezone(ZoneDirectory(tenant_time_zone()).fallback).date()
        if account is not None:
            row.account_id = account.account_id
            row.account_time_zone = account.time_zone or ""
            row.verified_at = timezone.now()
        elif unverified:
            row.account_id = ""
            row.account_time_zone = ""
            row.verified_at = None
        try:
            with transaction.atomic():
                row.save()
        except IntegrityError:
            raise Conflict("The Jira connection was saved by someone else at the same moment; try again.") from None
        if reset:
            JiraSyncCursor.objects.all().delete()
        audit_append(
            actor=actor,
            action="jira.connection.save",
            object_type="jira_connection",
            object_id=row.id,
            data={
                "created": created,
                "site_url": site_url,
                "email": email,
                "enabled": enabled,
                "project_keys": keys,
                "sync_interval_minutes": sync_interval_minutes,
                "api_token_changed": bool(api_token),
                "verified": account is not None,
                "cursors_reset": reset,
                "write_back_enabled": row.write_back_enabled,
                "write_back_since": row.write_back_since.isoformat() if row.write_back_since else None,
            },
        )
    return row

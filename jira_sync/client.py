"""The only code that speaks HTTP to Jira Cloud: Basic auth, a timeout on every call, bounded retries, typed records.

Jira answers 429 (rate limited) and 503 (overloaded) with a `Retry-After` in seconds: we wait at least that
long plus a little jitter, a bounded number of times. Other 5xx answers and network failures are retried
with jittered exponential backoff. What is left surfaces as one of three exceptions: `JiraAuthError`
(401/403), `JiraUnavailable` (network, 5xx or rate limit after the retries), `JiraError` (everything else),
and `JiraSiteRefused` when the site's address is not one we may connect to (jira_sync/addresses.py: public
addresses only, checked on every connection; https only where `JIRA_REQUIRE_HTTPS` is set).

Messages never carry what the remote side sent (its body, a redirect's target, a malformed value): the
address is the admin's to choose, so whatever answers there may be an internal service, and these messages
reach the admin's screen, the sync job's error field and the logs. They name the status and our own request.
Network failures all read alike, so refused, reset and timed-out connections cannot map ports.
See docs/jira.md.
"""

from __future__ import annotations

import email.utils
import http
import logging
import random
import re
import ssl
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx
from django.conf import settings

from jira_sync.addresses import AddressRefused, PinnedBackend, Resolver, system_resolve

logger = logging.getLogger(__name__)

API = "/rest/api/3"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
MAX_RETRIES = 5
# First wait after a 5xx or network failure that carries no Retry-After; doubled on each retry.
BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 30.0
# A Retry-After longer than this is not slept through: the sync fails and the next scheduled run resumes.
MAX_RETRY_AFTER_SECONDS = 120.0
WORKLOG_LIST_BATCH = 1000
SEARCH_PAGE_SIZE = 100
# JQL has a length limit; 100 ids per `id in (...)` stays well below it.
ISSUE_ID_BATCH = 100
ISSUE_FIELDS = ("assignee", "status", "project", "updated")
# Work logs we write back to Jira carry this entity property ({"allocation_id": ...}); see docs/jira.md.
WRITEBACK_PROPERTY = "hrms.allocation"
# Writing work logs must not move the issue's remaining estimate or email its watchers.
WRITE_PARAMS = {"adjustEstimate": "leave", "notifyUsers": "false"}
USER_AGENT = "hrms-timesheet-intelligence/1.0"


class JiraError(Exception):
    """Jira answered something we cannot use (4xx other than auth, malformed JSON, a bad JQL)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class JiraAuthError(JiraError):
    """401 (email or API token wrong) or 403 (the account may not do this)."""


class JiraUnavailable(JiraError):
    """Jira could not be reached, kept failing with 5xx, or kept rate-limiting us, after the retries."""


class JiraSiteRefused(JiraError):
    """The site's address may not be connected to: not a public address, or plain http where https is required."""


UNREACHABLE = "Could not reach the Jira site."
ADDRESS_REFUSED = (
    "The Jira site's address is not allowed: Jira Cloud sites are on the public internet, and private, "
    "loopback, link-local and reserved addresses are refused."
)
HTTPS_REQUIRED = "The Jira site must be reached over https."


@dataclass(frozen=True)
class JiraAccount:
    account_id: str
    email: str | None
    display_name: str
    time_zone: str | None


@dataclass(frozen=True)
class WorklogChange:
    worklog_id: str
    updated_ms: int


@dataclass(frozen=True)
class WorklogChangePage:
    """One page of `/worklog/updated` or `/worklog/deleted`: ids, and the time span the page covers."""

    changes: tuple[WorklogChange, ...]
    since_ms: int
    until_ms: int
    last_page: bool


@dataclass(frozen=True)
class WorklogAuthor:
    account_id: str
    email: str | None
    time_zone: str | None


@dataclass(frozen=True)
class Worklog:
    id: str
    issue_id: str
    author: WorklogAuthor
    started: datetime
    seconds: int
    updated: datetime | None
    # Entity properties, when asked for (`expand=properties`): key -> value.
    properties: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def allocation_id(self) -> str | None:
        """The allocation this work log was written back for, if we wrote it."""
        value = self.properties.get(WRITEBACK_PROPERTY)
        found = value.get("allocation_id") if isinstance(value, dict) else None
        return str(found) if found else None


@dataclass(frozen=True)
class Issue:
    id: str
    key: str
    project_key: str
    assignee_account_id: str | None
    assignee_email: str | None
    status: str
    status_category: str
    updated: datetime | None

    @property
    def is_done(self) -> bool:
        return self.status_category == "done"


@dataclass(frozen=True)
class IssuePage:
    issues: tuple[Issue, ...]
    next_page_token: str | None
    is_last: bool


@dataclass(frozen=True)
class IssueWorklogPage:
    worklogs: tuple[Worklog, ...]
    start_at: int
    total: int

    @property
    def is_last(self) -> bool:
        return self.start_at + len(self.worklogs) >= self.total or not self.worklogs


@dataclass(frozen=True)
class WorklogEntry:
    """A work log we write to Jira for an accepted allocation."""

    allocation_id: str
    started: datetime
    seconds: int
    comment: str

    def as_json(self) -> dict[str, Any]:
        return {
            "started": jira_time(self.started),
            "timeSpentSeconds": self.seconds,
            "comment": {
                "type": "doc",
                "version": 1,
                "content": [{"type": "paragraph", "content": [{"type": "text", "text": self.comment}]}],
            },
            "properties": [{"key": WRITEBACK_PROPERTY, "value": {"allocation_id": self.allocation_id}}],
        }


def jira_time(value: datetime) -> str:
    """Jira's timestamp format with the offset of `value`: 2026-03-02T09:00:00.000+0100."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}" + value.strftime("%z")


def _issue_ref(issue_key: str) -> str:
    """An issue key or id as it may appear in a path (they are spliced into URLs)."""
    if not ISSUE_REF_PATTERN.match(issue_key):
        raise JiraError(f"{issue_key!r} is not a Jira issue key or id")
    return issue_key


def parse_jira_time(value: str) -> datetime:
    """Jira's timestamps ("2026-03-02T09:00:00.000+0000") as aware datetimes; naive ones are UTC."""
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _retry_after_seconds(response: httpx.Response) -> float | None:
    header = response.headers.get("Retry-After")
    if header is None:
        return None
    header = header.strip()
    if header.isdigit():
        return float(header)
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _status_text(status: int) -> str:
    """`404 (Not Found)`: the status and the standard reason, not the reason phrase the server sent."""
    try:
        return f"{status} ({http.HTTPStatus(status).phrase})"
    except ValueError:
        return str(status)


def _malformed(what: str, exc: Exception) -> JiraError:
    # The exception's text would quote the remote value; its type is enough to tell what went wrong.
    return JiraError(f"Jira returned a malformed {what} ({type(exc).__name__}).")


def _change_page(body: Any, since_ms: int) -> WorklogChangePage:
    try:
        changes = tuple(
            WorklogChange(worklog_id=str(value["worklogId"]), updated_ms=int(value["updatedTime"]))
            for value in body.get("values") or []
        )
        until = int(body.get("until") or (changes[-1].updated_ms if changes else since_ms))
        return WorklogChangePage(
            changes=changes,
            since_ms=int(body.get("since") or since_ms),
            until_ms=until,
            last_page=bool(body.get("lastPage", True)),
        )
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise _malformed("work-log change page", exc) from exc


def _worklog(raw: dict[str, Any]) -> Worklog:
    author = raw.get("author") or {}
    updated = raw.get("updated")
    properties = {str(prop["key"]): prop.get("value") for prop in raw.get("properties") or []}
    return Worklog(
        id=str(raw["id"]),
        issue_id=str(raw["issueId"]),
        author=WorklogAuthor(
            account_id=str(author.get("accountId") or ""),
            email=author.get("emailAddress") or None,
            time_zone=author.get("timeZone") or None,
        ),
        started=parse_jira_time(raw["started"]),
        seconds=int(raw.get("timeSpentSeconds") or 0),
        updated=parse_jira_time(updated) if updated else None,
        properties=properties,
    )


def _worklogs(raw: Any) -> list[Worklog]:
    try:
        return [_worklog(item) for item in raw]
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise _malformed("work log", exc) from exc


def _issue(raw: dict[str, Any]) -> Issue:
    fields = raw.get("fields") or {}
    assignee = fields.get("assignee") or {}
    status = fields.get("status") or {}
    project = fields.get("project") or {}
    key = str(raw["key"])
    updated = fields.get("updated")
    return Issue(
        id=str(raw["id"]),
        key=key,
        project_key=str(project.get("key") or key.rsplit("-", 1)[0]),
        assignee_account_id=assignee.get("accountId") or None,
        assignee_email=assignee.get("emailAddress") or None,
        status=str(status.get("name") or ""),
        status_category=str((status.get("statusCategory") or {}).get("key") or ""),
        updated=parse_jira_time(updated) if updated else None,
    )


class JiraClient:
    """A session with one Jira Cloud site. Use as a context manager so the connection pool is closed."""

    def __init__(
        self,
        *,
        site_url: str,
        email: str,
        api_token: str,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        max_retries: int = MAX_RETRIES,
        backoff_seconds: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
        allow_private_hosts: bool | None = None,
        require_https: bool | None = None,
        resolve: Resolver = system_resolve,
    ) -> None:
        self.site_url = site_url.rstrip("/")
        self._origin = urlsplit(self.site_url)[:2]
        self._max_retries = max_retries
        self._backoff = BACKOFF_SECONDS if backoff_seconds is None else backoff_seconds
        self._sleep = sleep
        if require_https is None:
            require_https = bool(getattr(settings, "JIRA_REQUIRE_HTTPS", False))
        self._require_https = require_https
        if transport is None:
            if allow_private_hosts is None:
                allow_private_hosts = bool(getattr(settings, "JIRA_ALLOW_PRIVATE_HOSTS", False))
            transport = PinnedTransport(allow_private=allow_private_hosts, resolve=resolve)
        self._http = httpx.Client(
            base_url=self.site_url,
            auth=httpx.BasicAuth(email, api_token),
            timeout=timeout,
            headers={"Accept": "application/json", "User-Agent": USER_AGENT},
            # A redirect is an error, never followed: its target is unchecked and our credentials would go along.
            follow_redirects=False,
            # Proxies from the environment would make the proxy, not the site, the address we check.
            trust_env=False,
            transport=transport,
        )

    def __enter__(self) -> JiraClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- the calls -----------------------------------------------------------------------------------

    def myself(self) -> JiraAccount:
        """The account the credentials belong to (`GET /myself`): the cheapest authenticated call."""
        body = self._request("GET", f"{API}/myself")
        try:
            return JiraAccount(
                account_id=str(body["accountId"]),
                email=body.get("emailAddress") or None,
                display_name=str(body.get("displayName") or ""),
                time_zone=body.get("timeZone") or None,
            )
        except (AttributeError, KeyError, TypeError) as exc:
            raise _malformed("/myself answer", exc) from exc

    def worklogs_updated(self, since_ms: int) -> Iterator[WorklogChangePage]:
        """Ids of work logs updated after `since_ms`, page by page (Jira omits the last minute's changes)."""
        return self._change_pages(f"{API}/worklog/updated", since_ms)

    def worklogs_deleted(self, since_ms: int) -> Iterator[WorklogChangePage]:
        """Ids of work logs deleted after `since_ms`, page by page."""
        return self._change_pages(f"{API}/worklog/deleted", since_ms)

    def worklogs_by_ids(self, ids: Sequence[str | int]) -> list[Worklog]:
        """The work logs with these ids (`POST /worklog/list`, at most 1,000 ids a call); unknown ids are absent."""
        found: list[Worklog] = []
        for start in range(0, len(ids), WORKLOG_LIST_BATCH):
            batch = [int(i) for i in ids[start : start + WORKLOG_LIST_BATCH]]
            body = self._request("POST", f"{API}/worklog/list", params={"expand": "properties"}, json={"ids": batch})
            found.extend(_worklogs(body))
        return found

    def issues_search(
        self, jql: str, next_page_token: str | None = None, *, max_results: int = SEARCH_PAGE_SIZE
    ) -> IssuePage:
        """One page of `POST /search/jql` with the fields the sync needs."""
        payload: dict[str, Any] = {"jql": jql, "fields": list(ISSUE_FIELDS), "maxResults": max_results}
        if next_page_token:
            payload["nextPageToken"] = next_page_token
        body = self._request("POST", f"{API}/search/jql", json=payload)
        try:
            issues = tuple(_issue(raw) for raw in body.get("issues") or [])
            token = body.get("nextPageToken") or None
            return IssuePage(issues=issues, next_page_token=token, is_last=bool(body.get("isLast", token is None)))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise _malformed("issue search page", exc) from exc

    def issues_search_pages(self, jql: str, *, max_results: int = SEARCH_PAGE_SIZE) -> Iterator[IssuePage]:
        """Every page of a search, following `nextPageToken` until `isLast` (or no token)."""
        token: str | None = None
        seen: set[str] = set()
        while True:
            page = self.issues_search(jql, token, max_results=max_results)
            yield page
            if page.is_last or not page.next_page_token:
                return
            if page.next_page_token in seen:
                raise JiraError("Jira returned the same nextPageToken twice; stopping instead of looping.")
            seen.add(page.next_page_token)
            token = page.next_page_token

    def issues_by_ids(self, ids: Sequence[str], *, project_keys: Sequence[str] = ()) -> list[Issue]:
        """Issues by id (those the account may see, within `project_keys` when given)."""
        found: list[Issue] = []
        for start in range(0, len(ids), ISSUE_ID_BATCH):
            batch = [str(int(i)) for i in ids[start : start + ISSUE_ID_BATCH]]
            jql = f"id in ({', '.join(batch)})"
            if project_keys:
                jql = f"{jql_project_clause(project_keys)} AND {jql}"
            for page in self.issues_search_pages(jql, max_results=len(batch)):
                found.extend(page.issues)
        return found

    def issue_worklogs(self, issue_key: str, start_at: int = 0, *, max_results: int = 1000) -> IssueWorklogPage:
        """One page of an issue's work logs with their properties (`GET /issue/{key}/worklog`)."""
        params = {"startAt": start_at, "maxResults": max_results, "expand": "properties"}
        body = self._request("GET", f"{API}/issue/{_issue_ref(issue_key)}/worklog", params=params)
        try:
            return IssueWorklogPage(
                worklogs=tuple(_worklogs(body.get("worklogs") or [])),
                start_at=int(body.get("startAt") or 0),
                total=int(body.get("total") or 0),
            )
        except (AttributeError, TypeError, ValueError) as exc:
            raise _malformed("issue work-log page", exc) from exc

    def issue_worklogs_all(self, issue_key: str) -> Iterator[Worklog]:
        start_at = 0
        while True:
            page = self.issue_worklogs(issue_key, start_at)
            yield from page.worklogs
            if page.is_last:
                return
            start_at = page.start_at + len(page.worklogs)

    def worklog_find_by_allocation(self, issue_key: str, allocation_id: str) -> Worklog | None:
        """The work log on this issue that we wrote for `allocation_id`, if one exists (pages the issue's logs)."""
        for worklog in self.issue_worklogs_all(issue_key):
            if worklog.allocation_id == allocation_id:
                return worklog
        return None

    def worklog_create(self, issue_key: str, entry: WorklogEntry) -> Worklog:
        """`POST /issue/{key}/worklog`. Not retried once the request may have reached Jira: the caller recovers
        an unknown outcome with `worklog_find_by_allocation`, so a retry never creates a second work log."""
        body = self._request(
            "POST",
            f"{API}/issue/{_issue_ref(issue_key)}/worklog",
            params={**WRITE_PARAMS, "expand": "properties"},
            json=entry.as_json(),
            idempotent=False,
        )
        return _worklogs([body])[0]

    def worklog_update(self, issue_key: str, worklog_id: str, entry: WorklogEntry) -> Worklog:
        """`PUT /issue/{key}/worklog/{id}`: sets the values outright, so repeating it is harmless."""
        body = self._request(
            "PUT",
            f"{API}/issue/{_issue_ref(issue_key)}/worklog/{int(worklog_id)}",
            params={**WRITE_PARAMS, "expand": "properties"},
            json=entry.as_json(),
        )
        return _worklogs([body])[0]

    def worklog_delete(self, issue_key: str, worklog_id: str) -> bool:
        """`DELETE /issue/{key}/worklog/{id}`; False when it was already gone (404)."""
        try:
            self._request(
                "DELETE", f"{API}/issue/{_issue_ref(issue_key)}/worklog/{int(worklog_id)}", params=WRITE_PARAMS
            )
        except JiraError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    # --- plumbing ------------------------------------------------------------------------------------

    def _change_pages(self, path: str, since_ms: int) -> Iterator[WorklogChangePage]:
        url, params = path, {"since": since_ms}
        requested: set[str] = set()
        while True:
            body = self._request("GET", url, params=params)
            page = _change_page(body, int(params.get("since", since_ms)) if params else since_ms)
            yield page
            if page.last_page:
                return
            next_page = body.get("nextPage") if isinstance(body, dict) else None
            if next_page:
                url, params = self._same_site(str(next_page)), {}
            else:
                url, params = path, {"since": page.until_ms}
            fingerprint = f"{url}?{params}"
            if fingerprint in requested:
                raise JiraError(f"Jira's {path} paging did not advance; stopping instead of looping.")
            requested.add(fingerprint)

    def _same_site(self, url: str) -> str:
        """A `nextPage` link, refused if it points anywhere but this site (the credentials go with it)."""
        parts = urlsplit(url)
        if (parts.scheme or parts.netloc) and (parts.scheme, parts.netloc) != self._origin:
            raise JiraError("Jira's nextPage link points to another site; refusing to follow it.")
        return url

    def _wait(self, attempt: int) -> float:
        ceiling = min(MAX_BACKOFF_SECONDS, self._backoff * 2.0**attempt)
        return ceiling * random.uniform(0.5, 1.0)  # noqa: S311 - retry jitter, not security

    def _request(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        idempotent: bool = True,
    ) -> Any:
        """One call with retries; the parsed JSON body of a 2xx answer (None for an empty one).

        A call that is not idempotent is retried only when Jira cannot have acted on it: the connection was
        never made, or Jira refused it with 429/503 and a Retry-After.
        """
        if self._require_https and self._origin[0] != "https":
            raise JiraSiteRefused(HTTPS_REQUIRED)
        path = urlsplit(url).path
        for attempt in range(self._max_retries + 1):
            try:
                response = self._http.request(method, url, params=params or None, json=json)
            except AddressRefused as exc:
                logger.warning("jira site refused: %s %s", exc.host, exc.reason)
                raise JiraSiteRefused(ADDRESS_REFUSED) from exc
            except httpx.TransportError as exc:
                # Refused, reset, timed out and unresolvable all read alike (the type goes to the log only).
                error: JiraError = JiraUnavailable(UNREACHABLE)
                error.__cause__ = exc
                logger.info("jira %s %s: %s", method, path, type(exc).__name__)
                wait = self._wait(attempt)
                if not idempotent and not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
                    raise error from exc
            else:
                status = response.status_code
                if status < 300:
                    if status == 204 or not response.content:
                        return None
                    try:
                        return response.json()
                    except ValueError:
                        raise JiraError(
                            f"{method} {path} did not answer with JSON; is this a Jira Cloud site?", status=status
                        ) from None
                if status in (401, 403):
                    raise JiraAuthError(f"Jira answered {_status_text(status)} to {method} {path}.", status=status)
                if status not in (429,) and status < 500:
                    raise JiraError(f"Jira answered {_status_text(status)} to {method} {path}.", status=status)
                error = JiraUnavailable(
                    f"Jira answered {_status_text(status)} to {method} {path} after {attempt + 1} attempts.",
                    status=status,
                )
                retry_after = _retry_after_seconds(response) if status in (429, 503) else None
                if not idempotent and retry_after is None:
                    raise error
                if retry_after is not None:
                    if retry_after > MAX_RETRY_AFTER_SECONDS:
                        raise JiraUnavailable(
                            f"Jira asked us to wait {retry_after:.0f}s (Retry-After) on {method} {path}; "
                            "the next run will resume.",
                            status=status,
                        )
                    # Never earlier than Jira asked; the jitter spreads out workers that were throttled together.
                    wait = retry_after + random.uniform(0.05, 0.5)  # noqa: S311 - retry jitter, not security
                else:
                    wait = self._wait(attempt)
            if attempt == self._max_retries:
                raise error
            logger.info("jira %s %s: %s; retrying in %.2fs", method, path, error.message, wait)
            self._sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover


PROJECT_KEY_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]{0,31}$")
ISSUE_REF_PATTERN = re.compile(r"^(?:[A-Za-z][A-Za-z0-9_]{0,31}-\d{1,12}|\d{1,18})$")


def jql_project_clause(project_keys: Sequence[str]) -> str:
    """`project in ("A", "B")`. Keys are checked again here because they are spliced into JQL."""
    for key in project_keys:
        if not PROJECT_KEY_PATTERN.match(key):
            raise JiraError(f"{key!r} is not a Jira project key")
    return "project in ({})".format(", ".join(f'"{key}"' for key in project_keys))


class PinnedTransport(httpx.HTTPTransport):
    """httpx's transport over `PinnedBackend`: every connection goes to an address checked just before.

    httpx does not take a network backend, so the connection pool is rebuilt with the same defaults
    (certificate checks against certifi's roots, httpx's default limits) and ours.
    """

    def __init__(
        self, *, allow_private: bool, resolve: Resolver = system_resolve, verify: ssl.SSLContext | bool = True
    ) -> None:
        super().__init__(trust_env=False)
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PinnedBackend(allow_private=allow_private, resolve=resolve),
        )

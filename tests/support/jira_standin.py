"""A local Jira Cloud stand-in for tests, benchmarks and demos: a real HTTP server on 127.0.0.1 (test support, not
production code).

It implements the REST v3 endpoints the sync uses, with Jira's shapes and quirks: `/myself`, the work-log
change feeds (`/worklog/updated`, `/worklog/deleted`, paged with `since`/`until`/`nextPage`/`lastPage`, and
like Jira they leave out changes from the last minute), `/worklog/list` (at most 1,000 ids), `/search/jql`
(paged by `nextPageToken`, the JQL subset the sync writes), and `/issue/{key}/worklog`. Basic auth is
checked (401 for bad credentials, 403 for a forbidden account). Faults are injected on demand: a status
(429 with Retry-After, 500, 503) for the Nth matching request onwards. The data set is in memory and tests
mutate it; the clock can be advanced so fresh changes leave the "last minute" window.

As a pytest fixture::

    from tests.support.jira_standin import jira_standin_fixture  # noqa: F401 - provides `jira_standin`

    def test_x(jira_standin: JiraStandin) -> None: ...

As a script (for `make run`; see docs/jira.md)::

    .venv/bin/python -m tests.support.jira_standin --port 8089 --worklogs 500
"""

from __future__ import annotations

import argparse
import base64
import bisect
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

API = "/rest/api/3"
DEFAULT_EMAIL = "sync-bot@example.test"
DEFAULT_TOKEN = "standin-api-token-0123456789"
RECENT_WINDOW_MS = 60_000
TIME_ZONES = ("Europe/London", "America/New_York", "Asia/Tokyo", "UTC", None)


def jira_time(ms: int) -> str:
    """Jira's timestamp format: 2026-03-02T09:00:00.000+0000."""
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


@dataclass
class User:
    account_id: str
    email: str | None
    display_name: str
    time_zone: str | None

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "accountId": self.account_id,
            "accountType": "atlassian",
            "displayName": self.display_name,
            "active": True,
        }
        if self.email:
            body["emailAddress"] = self.email
        if self.time_zone:
            body["timeZone"] = self.time_zone
        return body


@dataclass
class StandinIssue:
    id: str
    key: str
    project_key: str
    assignee: str | None
    status: str
    status_category: str
    updated_ms: int


@dataclass
class StandinWorklog:
    id: str
    issue_id: str
    author: str
    started: str
    seconds: int
    updated_ms: int
    # Entity properties (key -> value), returned with `expand=properties`.
    properties: dict[str, Any] = field(default_factory=dict)
    comment: str = ""


@dataclass
class Fault:
    status: int
    path_contains: str
    after: int
    times: int | None
    retry_after: int | None
    # Carry the request out first, then answer the fault: a response lost after Jira acted on the request.
    after_effect: bool = False
    method: str = ""
    seen: int = 0
    fired: int = 0


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    at: float
    status: int


STATUS_CATEGORIES = {"To Do": "new", "In Progress": "indeterminate", "Done": "done"}


@dataclass
class _Data:
    users: dict[str, User] = field(default_factory=dict)
    issues: dict[str, StandinIssue] = field(default_factory=dict)
    worklogs: dict[str, StandinWorklog] = field(default_factory=dict)
    deleted: list[tuple[str, int]] = field(default_factory=list)
    issue_ids_by_key: dict[str, str] = field(default_factory=dict)
    # (change time, worklog id) sorted, rebuilt only after a change: the feeds are read page by page.
    updated_index: list[tuple[int, str]] | None = None


class JiraStandin:
    """The server and its data. Thread-safe: the HTTP threads and the test share one lock."""

    def __init__(
        self,
        *,
        port: int = 0,
        email: str = DEFAULT_EMAIL,
        api_token: str = DEFAULT_TOKEN,
        forbidden_emails: tuple[str, ...] = (),
        account_time_zone: str = "UTC",
        change_page_size: int = 1000,
        search_page_limit: int = 100,
    ) -> None:
        self.credentials: dict[str, str] = {email: api_token}
        self.forbidden_emails = set(forbidden_emails)
        self.account_time_zone = account_time_zone
        self.change_page_size = change_page_size
        self.search_page_limit = search_page_limit
        self.requests: list[RecordedRequest] = []
        self.faults: list[Fault] = []
        self._data = _Data()
        self._lock = threading.RLock()
        self._offset_ms = 0
        self._last_stamp = 0
        self._next_worklog = 10000
        self._next_issue = 10000
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self._server.daemon_threads = True
        self._server.standin = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> JiraStandin:
        self._thread = threading.Thread(target=self._server.serve_forever, name="jira-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> JiraStandin:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- clock -----------------------------------------------------------------------------------------

    def now_ms(self) -> int:
        return int(time.time() * 1000) + self._offset_ms

    def advance(self, seconds: float) -> None:
        """Move the stand-in's clock forward, e.g. 61 s so changes just made leave Jira's last-minute window."""
        with self._lock:
            self._offset_ms += int(seconds * 1000)

    def _stamp(self, at_ms: int | None = None) -> int:
        """A strictly increasing change time, so the since/until paging never has two changes in one ms."""
        with self._lock:
            stamp = max(at_ms if at_ms is not None else self.now_ms(), self._last_stamp + 1)
            self._last_stamp = stamp
            return stamp

    # --- data ------------------------------------------------------------------------------------------

    def add_user(
        self, account_id: str, *, email: str | None = None, name: str = "", time_zone: str | None = "UTC"
    ) -> User:
        with self._lock:
            user = User(account_id=account_id, email=email, display_name=name or account_id, time_zone=time_zone)
            self._data.users[account_id] = user
            return user

    def add_issue(
        self,
        key: str,
        *,
        assignee: str | None = None,
        status: str = "In Progress",
        updated_ms: int | None = None,
        issue_id: str | None = None,
    ) -> StandinIssue:
        with self._lock:
            self._next_issue += 1
            issue = StandinIssue(
                id=issue_id or str(self._next_issue),
                key=key,
                project_key=key.rsplit("-", 1)[0],
                assignee=assignee,
                status=status,
                status_category=STATUS_CATEGORIES.get(status, "indeterminate"),
                updated_ms=self._stamp(updated_ms),
            )
            self._data.issues[issue.id] = issue
            self._data.issue_ids_by_key[key] = issue.id
            return issue

    def set_issue(self, key: str, **changes: Any) -> StandinIssue:
        """Change an issue's `assignee` (account id or None) or `status` ("To Do", "In Progress", "Done")."""
        with self._lock:
            issue = self._data.issues[self._data.issue_ids_by_key[key]]
            if "status" in changes:
                changes["status_category"] = STATUS_CATEGORIES.get(changes["status"], "indeterminate")
            updated = replace(issue, **changes, updated_ms=self._stamp())
            self._data.issues[issue.id] = updated
            return updated

    def add_worklog(
        self,
        *,
        issue_key: str,
        author: str,
        started: str = "2026-03-02T09:00:00.000+0000",
        seconds: int = 3600,
        updated_ms: int | None = None,
    ) -> StandinWorklog:
        with self._lock:
            issue = self._data.issues[self._data.issue_ids_by_key[issue_key]]
            self._next_worklog += 1
            log = StandinWorklog(
                id=str(self._next_worklog),
                issue_id=issue.id,
                author=author,
                started=started,
                seconds=seconds,
                updated_ms=self._stamp(updated_ms),
            )
            self._data.worklogs[log.id] = log
            self._data.updated_index = None
            return log

    def update_worklog(self, worklog_id: str, **changes: Any) -> StandinWorklog:
        with self._lock:
            log = replace(self._data.worklogs[worklog_id], **changes, updated_ms=self._stamp())
            self._data.worklogs[worklog_id] = log
            self._data.updated_index = None
            return log

    def delete_worklog(self, worklog_id: str) -> None:
        with self._lock:
            del self._data.worklogs[worklog_id]
            self._data.deleted.append((worklog_id, self._stamp()))
            self._data.updated_index = None

    @property
    def worklog_ids(self) -> set[str]:
        with self._lock:
            return set(self._data.worklogs)

    def worklogs_on(self, issue_key: str) -> list[StandinWorklog]:
        with self._lock:
            issue_id = self._data.issue_ids_by_key[issue_key]
            return sorted(
                (log for log in self._data.worklogs.values() if log.issue_id == issue_id), key=lambda x: int(x.id)
            )

    def seed(
        self,
        *,
        worklogs: int,
        users: int = 50,
        issues: int = 200,
        projects: tuple[str, ...] = ("ALPHA", "BETA", "GAMMA"),
        email_domain: str = "example.test",
        start_day: str = "2026-03-02",
    ) -> None:
        """A deterministic data set: `users` people (account ids acct-00001..., emails person00001@domain),
        `issues` issues spread over `projects`, `worklogs` logs on weekdays from `start_day`, all changed more
        than a minute ago so the change feeds return them."""
        with self._lock:
            base = self.now_ms() - RECENT_WINDOW_MS * 2 - worklogs - issues
            for n in range(1, users + 1):
                self.add_user(
                    f"acct-{n:05d}",
                    email=f"person{n:05d}@{email_domain}",
                    name=f"Person {n:05d}",
                    time_zone=TIME_ZONES[n % len(TIME_ZONES)],
                )
            accounts = list(self._data.users)
            keys: list[str] = []
            for n in range(1, issues + 1):
                key = f"{projects[n % len(projects)]}-{n}"
                status = ("To Do", "In Progress", "In Progress", "Done")[n % 4]
                self.add_issue(key, assignee=accounts[n % len(accounts)], status=status, updated_ms=base + n)
                keys.append(key)
            first = datetime.fromisoformat(start_day).replace(tzinfo=UTC)
            for n in range(worklogs):
                day = n // max(1, users) % 60
                started = _ms(first) + (day // 5 * 7 + day % 5) * 86_400_000 + (8 + n % 9) * 3_600_000
                self.add_worklog(
                    issue_key=keys[n % len(keys)],
                    author=accounts[n % len(accounts)],
                    started=jira_time(started),
                    seconds=900 * (1 + n % 16),
                    updated_ms=base + issues + n,
                )

    # --- faults ----------------------------------------------------------------------------------------

    def fail(
        self,
        *,
        status: int = 500,
        path_contains: str = "",
        after: int = 0,
        times: int | None = 1,
        retry_after: int | None = None,
        method: str = "",
        after_effect: bool = False,
    ) -> Fault:
        """Answer `status` to matching requests, skipping the first `after` of them, `times` times (None: always).

        `method` limits the fault to one HTTP method; `after_effect=True` carries the request out before
        answering the fault (Jira acted, the answer was lost)."""
        with self._lock:
            fault = Fault(
                status=status,
                path_contains=path_contains,
                after=after,
                times=times,
                retry_after=retry_after,
                after_effect=after_effect,
                method=method.upper(),
            )
            self.faults.append(fault)
            return fault

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def requests_to(self, path_contains: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if path_contains in r.path]

    def _fault_for(self, method: str, path: str) -> Fault | None:
        chosen: Fault | None = None
        with self._lock:
            # Every matching fault counts every matching request; the first one due answers it.
            for fault in self.faults:
                if fault.path_contains not in path or (fault.method and fault.method != method):
                    continue
                fault.seen += 1
                due = fault.seen > fault.after and (fault.times is None or fault.fired < fault.times)
                if due and chosen is None:
                    fault.fired += 1
                    chosen = fault
        return chosen

    # --- endpoints -------------------------------------------------------------------------------------

    def _worklog_json(self, log: StandinWorklog, *, properties: bool = False) -> dict[str, Any]:
        author = self._data.users.get(log.author) or User(log.author, None, log.author, None)
        paragraph = [{"type": "paragraph", "content": [{"type": "text", "text": log.comment}]}] if log.comment else []
        body: dict[str, Any] = {
            "self": f"{self.url}{API}/issue/{log.issue_id}/worklog/{log.id}",
            "author": author.as_json(),
            "updateAuthor": author.as_json(),
            "comment": {"type": "doc", "version": 1, "content": paragraph},
            "created": jira_time(log.updated_ms),
            "updated": jira_time(log.updated_ms),
            "started": log.started,
            "timeSpent": f"{log.seconds // 60}m",
            "timeSpentSeconds": log.seconds,
            "id": log.id,
            "issueId": log.issue_id,
        }
        if properties:
            body["properties"] = [{"key": key, "value": value} for key, value in log.properties.items()]
        return body

    def _entry(self, body: Any) -> tuple[dict[str, Any], str | None]:
        """The fields of a work-log create/update body, or an error message."""
        if not isinstance(body, dict):
            return {}, "The request body is not a JSON object."
        seconds = body.get("timeSpentSeconds")
        if not isinstance(seconds, int) or seconds < 60:
            return {}, "Worklog must not be null and timeSpentSeconds must be at least 60."
        try:
            started = jira_time(_ms(datetime.strptime(str(body.get("started")), "%Y-%m-%dT%H:%M:%S.%f%z")))
        except ValueError:
            return {}, "started: the date is not in the format yyyy-MM-dd'T'HH:mm:ss.SSSZ."
        texts = [
            node.get("text", "")
            for block in ((body.get("comment") or {}).get("content") or [])
            for node in (block.get("content") or [])
        ]
        properties = {str(p["key"]): p.get("value") for p in body.get("properties") or []}
        return {"seconds": seconds, "started": started, "comment": " ".join(texts), "properties": properties}, None

    def worklog_write(
        self, method: str, issue_ref: str, worklog_id: str | None, body: Any, author: str, expand: bool
    ) -> tuple[int, Any]:
        """POST (create), PUT (update) and DELETE of `/issue/{key}/worklog[/{id}]`."""
        with self._lock:
            issue = self._data.issues.get(self._data.issue_ids_by_key.get(issue_ref, issue_ref))
            if issue is None:
                return 404, {"errorMessages": ["Issue does not exist or you do not have permission to see it."]}
            log = self._data.worklogs.get(worklog_id) if worklog_id else None
            if worklog_id is not None and (log is None or log.issue_id != issue.id):
                return 404, {"errorMessages": [f"Cannot find worklog with id: '{worklog_id}'."]}
            if method == "DELETE":
                assert log is not None
                self.delete_worklog(log.id)
                return 204, None
            fields, problem = self._entry(body)
            if problem:
                return 400, {"errorMessages": [problem]}
            if log is None:
                self._next_worklog += 1
                log = StandinWorklog(
                    id=str(self._next_worklog),
                    issue_id=issue.id,
                    author=author,
                    started=fields["started"],
                    seconds=fields["seconds"],
                    updated_ms=self._stamp(),
                    properties=fields["properties"],
                    comment=fields["comment"],
                )
                status = 201
            else:
                # An update keeps properties it does not mention, like Jira's.
                log = replace(
                    log,
                    started=fields["started"],
                    seconds=fields["seconds"],
                    comment=fields["comment"],
                    properties={**log.properties, **fields["properties"]},
                    updated_ms=self._stamp(),
                )
                status = 200
            self._data.worklogs[log.id] = log
            self._data.updated_index = None
            return status, self._worklog_json(log, properties=expand)

    def _issue_json(self, issue: StandinIssue) -> dict[str, Any]:
        assignee = self._data.users.get(issue.assignee) if issue.assignee else None
        return {
            "id": issue.id,
            "key": issue.key,
            "self": f"{self.url}{API}/issue/{issue.id}",
            "fields": {
                "assignee": assignee.as_json() if assignee else None,
                "status": {
                    "name": issue.status,
                    "statusCategory": {"key": issue.status_category, "name": issue.status},
                },
                "project": {"id": str(abs(hash(issue.project_key)) % 100000), "key": issue.project_key},
                "updated": jira_time(issue.updated_ms),
            },
        }

    def change_feed(self, kind: str, since: int) -> dict[str, Any]:
        with self._lock:
            horizon = self.now_ms() - RECENT_WINDOW_MS
            if kind == "updated":
                if self._data.updated_index is None:
                    self._data.updated_index = sorted((log.updated_ms, log.id) for log in self._data.worklogs.values())
                changes = self._data.updated_index
            else:
                changes = sorted((stamp, worklog_id) for worklog_id, stamp in self._data.deleted)
            start = bisect.bisect_right(changes, (since, "\uffff"))
            end = bisect.bisect_right(changes, (horizon, "\uffff"))
            page = changes[start : min(end, start + self.change_page_size)]
            last = end - start <= self.change_page_size
            until = page[-1][0] if page else since
            body: dict[str, Any] = {
                "values": [{"worklogId": int(wid), "updatedTime": stamp, "properties": []} for stamp, wid in page],
                "since": since,
                "until": until,
                "self": f"{self.url}{API}/worklog/{kind}?since={since}",
                "lastPage": last,
            }
            if not last:
                body["nextPage"] = f"{self.url}{API}/worklog/{kind}?since={until}"
            return body

    def worklog_list(self, ids: list[Any], *, expand: bool = False) -> tuple[int, Any]:
        if len(ids) > 1000:
            return 400, {"errorMessages": ["The number of worklog IDs must be between 1 and 1000."]}
        with self._lock:
            found = [self._data.worklogs.get(str(i)) for i in ids]
            return 200, [self._worklog_json(log, properties=expand) for log in found if log is not None]

    def search(self, body: dict[str, Any], account_zone: str) -> tuple[int, Any]:
        try:
            matches = _JqlFilter(str(body.get("jql") or ""), account_zone)
        except ValueError as exc:
            return 400, {"errorMessages": [f"Error in the JQL Query: {exc}"]}
        limit = min(int(body.get("maxResults") or 50), self.search_page_limit)
        offset = int(base64.urlsafe_b64decode(body["nextPageToken"]).decode()) if body.get("nextPageToken") else 0
        with self._lock:
            found = sorted(
                (issue for issue in self._data.issues.values() if matches(issue)),
                key=lambda issue: (issue.updated_ms, int(issue.id)),
            )
            page = found[offset : offset + limit]
            answer: dict[str, Any] = {"issues": [self._issue_json(issue) for issue in page]}
            if offset + limit < len(found):
                answer["nextPageToken"] = base64.urlsafe_b64encode(str(offset + limit).encode()).decode()
                answer["isLast"] = False
            else:
                answer["isLast"] = True
            return 200, answer

    def issue_worklogs(self, key: str, start_at: int, max_results: int, *, expand: bool = False) -> tuple[int, Any]:
        with self._lock:
            issue = self._data.issues.get(self._data.issue_ids_by_key.get(key, key))
            if issue is None:
                return 404, {"errorMessages": ["Issue does not exist or you do not have permission to see it."]}
            logs = sorted(
                (log for log in self._data.worklogs.values() if log.issue_id == issue.id), key=lambda log: int(log.id)
            )
            page = logs[start_at : start_at + max_results]
            return 200, {
                "startAt": start_at,
                "maxResults": max_results,
                "total": len(logs),
                "worklogs": [self._worklog_json(log, properties=expand) for log in page],
            }


class _JqlFilter:
    """The JQL the sync writes: clauses joined by AND, then ORDER BY updated ASC."""

    _CLAUSE = re.compile(
        r"^(?:project\s+in\s*\((?P<projects>[^)]*)\)"
        r"|id\s+in\s*\((?P<ids>[^)]*)\)"
        r'|updated\s*>=\s*"(?P<updated>[^"]+)"'
        r"|statusCategory\s*!=\s*(?P<not_category>\w+))$",
        re.IGNORECASE,
    )

    def __init__(self, jql: str, account_zone: str) -> None:
        where = re.split(r"\s+ORDER\s+BY\s+", jql, flags=re.IGNORECASE)[0].strip()
        self.projects: set[str] | None = None
        self.ids: set[str] | None = None
        self.updated_ms: int | None = None
        self.not_category: str | None = None
        for clause in re.split(r"\s+AND\s+", where, flags=re.IGNORECASE) if where else []:
            match = self._CLAUSE.match(clause.strip())
            if match is None:
                raise ValueError(f"unsupported clause {clause!r}")
            if match["projects"] is not None:
                self.projects = {p.strip().strip('"') for p in match["projects"].split(",")}
            elif match["ids"] is not None:
                self.ids = {i.strip() for i in match["ids"].split(",")}
            elif match["updated"] is not None:
                # JQL dates are read in the time zone of the user running the query.
                local = datetime.strptime(match["updated"].replace("/", "-"), "%Y-%m-%d %H:%M")
                self.updated_ms = _ms(local.replace(tzinfo=ZoneInfo(account_zone)))
            else:
                self.not_category = {"done": "done", "todo": "new"}.get(match["not_category"].lower(), "")

    def __call__(self, issue: StandinIssue) -> bool:
        return (
            (self.projects is None or issue.project_key in self.projects)
            and (self.ids is None or issue.id in self.ids)
            and (self.updated_ms is None or issue.updated_ms >= self.updated_ms)
            and (self.not_category is None or issue.status_category != self.not_category)
        )


class _Handler(BaseHTTPRequestHandler):
    server_version = "JiraStandin/1.0"
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"

    @property
    def standin(self) -> JiraStandin:
        return self.server.standin  # type: ignore[attr-defined,no-any-return]

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read `standin.requests` instead."""

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        payload = b"" if status == 204 else json.dumps(body).encode()
        self.send_response(status)
        if payload:
            self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _account(self) -> tuple[int, str]:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return 401, ""
        try:
            email, _, token = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return 401, ""
        if self.standin.credentials.get(email) != token:
            return 401, email
        if email in self.standin.forbidden_emails:
            return 403, email
        return 200, email

    def _handle(self, method: str) -> None:
        standin = self.standin
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        status, answer, headers = self._route(method, parts.path, query, body)
        with standin._lock:
            standin.requests.append(RecordedRequest(method, parts.path, query, body, time.monotonic(), status))
        self._send(status, answer, headers)

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any, dict[str, str]]:
        fault = self.standin._fault_for(method, path)
        if fault is not None and not fault.after_effect:
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            return fault.status, {"errorMessages": [f"stand-in fault {fault.status}"]}, headers
        answer = self._answer(method, path, query, body)
        if fault is not None:
            return fault.status, {"errorMessages": [f"stand-in fault {fault.status} (after acting)"]}, {}
        return answer

    def _answer(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        standin = self.standin
        auth, email = self._account()
        if auth == 401:
            return 401, {"errorMessages": ["Client must be authenticated to access this resource."]}, {}
        if auth == 403:
            return 403, {"errorMessages": ["You do not have permission to access this resource."]}, {}

        def number(name: str, default: int) -> int:
            return int(query.get(name, [str(default)])[0])

        if method == "GET" and path == f"{API}/myself":
            me = User(f"bot-{email}", email, "Sync bot", standin.account_time_zone)
            return 200, me.as_json(), {}
        if method == "GET" and path in (f"{API}/worklog/updated", f"{API}/worklog/deleted"):
            return 200, standin.change_feed(path.rsplit("/", 1)[-1], number("since", 0)), {}
        expand = "properties" in ",".join(query.get("expand", []))
        if method == "POST" and path == f"{API}/worklog/list":
            status, answer = standin.worklog_list(list((body or {}).get("ids") or []), expand=expand)
            return status, answer, {}
        if method == "POST" and path == f"{API}/search/jql":
            status, answer = standin.search(body or {}, standin.account_time_zone)
            return status, answer, {}
        match = re.fullmatch(rf"{API}/issue/([^/]+)/worklog", path)
        if method == "GET" and match:
            status, answer = standin.issue_worklogs(
                match[1], number("startAt", 0), min(number("maxResults", 5000), 5000), expand=expand
            )
            return status, answer, {}
        if method == "POST" and match:
            status, answer = standin.worklog_write("POST", match[1], None, body, f"bot-{email}", expand)
            return status, answer, {}
        match = re.fullmatch(rf"{API}/issue/([^/]+)/worklog/(\d+)", path)
        if method in ("PUT", "DELETE") and match:
            status, answer = standin.worklog_write(method, match[1], match[2], body, f"bot-{email}", expand)
            return status, answer, {}
        return 404, {"errorMessages": [f"No such endpoint: {method} {path}"]}, {}


def standin_connect(standin: JiraStandin, **overrides: Any) -> Any:
    """Point the current tenant's Jira connection at this stand-in (call inside `tenant_context`)."""
    from jira_sync.models import JiraConnection

    email, token = next(iter(standin.credentials.items()))
    values: dict[str, Any] = {
        "site_url": standin.url,
        "email": email,
        "api_token": token,
        "enabled": True,
        "project_keys": [],
        "account_time_zone": standin.account_time_zone,
    }
    values.update(overrides)
    JiraConnection.objects.filter(singleton=True).delete()
    return JiraConnection.objects.create(**values)


@pytest.fixture(name="jira_standin")
def jira_standin_fixture() -> Iterator[JiraStandin]:
    """A running stand-in with an empty data set; accepts DEFAULT_EMAIL / DEFAULT_TOKEN."""
    with JiraStandin() as standin:
        yield standin


DEMO_INTERVAL_MINUTES = 5
DEMO_TRICKLE_SECONDS = 120
DEMO_PEOPLE = 60


def _demo_seed(standin: JiraStandin, tenant_slug: str) -> tuple[Any, str]:
    """Fill the stand-in from the demo tenant: its employees as Jira users, its issues, a week of new work logs.

    Returns the tenant (or None) and a line saying what was seeded.
    """
    import random
    from datetime import timedelta

    from django_tenants.utils import tenant_context

    from jira_sync.models import JiraIssueAssignment
    from tenants.models import Tenant
    from timesheets.models import Employee, Project

    tenant = Tenant.objects.filter(slug=tenant_slug).first()
    if tenant is None:
        return None, f"no tenant '{tenant_slug}': serving an empty stand-in"
    zone = ZoneInfo(tenant.timezone or "UTC")
    rng = random.Random(7)
    with tenant_context(tenant):
        people = list(
            Employee.objects.filter(active=True)
            .order_by("created_at")
            .values_list("jira_account_id", "email", "name")[:DEMO_PEOPLE]
        )
        keys = sorted(
            {
                key.strip().upper()
                for key in Project.objects.exclude(jira_project_key="").values_list("jira_project_key", flat=True)
            }
        ) or ["DEMO"]
        stored = list(
            JiraIssueAssignment.objects.order_by("-is_active", "issue_key").values_list(
                "issue_id", "issue_key", "assignee_account_id", "status", "is_active"
            )[:400]
        )
    accounts: list[str] = []
    for n, (account_id, email, name) in enumerate(people, start=1):
        account = account_id or f"acct-demo-{n:03d}"
        standin.add_user(account, email=email, name=name, time_zone=tenant.timezone or "UTC")
        accounts.append(account)
    outsiders = [standin.add_user(f"acct-contractor-{n}", name=f"Contractor {n}").account_id for n in (1, 2)]
    issues: dict[str, list[str]] = {}
    # Every change is dated a few minutes back, so the first sync sees it (Jira hides the last minute's).
    old = standin.now_ms() - 10 * RECENT_WINDOW_MS
    for issue_id, key, assignee, status, active in stored:
        if key.rsplit("-", 1)[0] not in keys or not issue_id.isdigit():
            continue
        owner = assignee if assignee in standin._data.users else None
        shown = status if status in STATUS_CATEGORIES else ("In Progress" if active else "Done")
        standin.add_issue(key, assignee=owner, status=shown, issue_id=issue_id, updated_ms=old)
        if owner:
            issues.setdefault(owner, []).append(key)
    if not stored:
        for n, account in enumerate(accounts + outsiders):
            key = f"{keys[n % len(keys)]}-{n + 1}"
            standin.add_issue(key, assignee=account, updated_ms=old)
            issues.setdefault(account, []).append(key)
    every_key = list(standin._data.issue_ids_by_key)
    today = datetime.now(zone).date()
    days = [today - timedelta(days=back) for back in range(1, 10) if (today - timedelta(days=back)).weekday() < 5][:5]
    logs = 0
    for day in days:
        for account in accounts + outsiders:
            for part in range(rng.choice((1, 1, 2))):
                started = datetime.combine(day, datetime.min.time(), zone) + timedelta(hours=9 + 3 * part)
                standin.add_worklog(
                    issue_key=rng.choice(issues.get(account) or every_key),
                    author=account,
                    started=jira_time(_ms(started)),
                    seconds=900 * rng.randint(4, 16),
                    updated_ms=old,
                )
                logs += 1
    return tenant, (
        f"{len(accounts)} of {tenant_slug}'s employees and 2 contractors as Jira users, {len(every_key)} issues in "
        f"{', '.join(keys)}, {logs} work logs on {len(days)} days"
    )


def _demo_connect(standin: JiraStandin, tenant: Any) -> str:
    """Point the tenant's Jira connection at the stand-in (unless it points at a real site) and start a sync."""
    from django_tenants.utils import tenant_context

    from audit.services import Actor
    from core.errors import ApplicationError
    from jira_sync.selectors import jira_connection_get
    from jira_sync.services.connection import jira_connection_save
    from jira_sync.services.schedule import jira_sync_request

    actor = Actor(kind="system", label="jira stand-in demo")
    email, token = next(iter(standin.credentials.items()))
    with tenant_context(tenant):
        current = jira_connection_get()
        if current is not None and urlsplit(current.site_url).hostname not in ("127.0.0.1", "localhost"):
            return f"left alone: {tenant.slug} is connected to {current.site_url}"
        try:
            jira_connection_save(
                actor=actor,
                site_url=standin.url,
                email=email,
                api_token=token,
                enabled=True,
                project_keys=list(current.project_keys) if current is not None else [],
                sync_interval_minutes=DEMO_INTERVAL_MINUTES,
            )
            job = jira_sync_request(actor=actor, trigger="demo")
        except ApplicationError as exc:
            return f"connected, but no sync started now: {exc.message}"
    return f"connected; sync job {job.id} queued (then every {DEMO_INTERVAL_MINUTES} minutes)"


def _demo_trickle(standin: JiraStandin, stop: threading.Event) -> None:
    """A few fresh work logs every couple of minutes, so each scheduled sync has something new to bring."""
    import random

    rng = random.Random(11)
    while not stop.wait(DEMO_TRICKLE_SECONDS):
        with standin._lock:
            authors = list(standin._data.users)
            keys = list(standin._data.issue_ids_by_key)
        for _ in range(3):
            if authors and keys:
                standin.add_worklog(
                    issue_key=rng.choice(keys),
                    author=rng.choice(authors),
                    started=jira_time(standin.now_ms() - 3_600_000),
                    seconds=900 * rng.randint(1, 8),
                )


def _demo(standin: JiraStandin, tenant_slug: str) -> threading.Event:
    """`--demo-tenant`: seed from the tenant, connect it, start a sync. Problems are printed, never fatal: the
    stand-in keeps serving so `make run` is not stopped by it."""
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hrms.settings")
    stop = threading.Event()
    try:
        import django

        django.setup()
        from django.db import connections

        try:
            tenant, seeded = _demo_seed(standin, tenant_slug)
            print(f"  demo: {seeded}", flush=True)
            if tenant is not None:
                standin.start()
                print(f"  demo: {_demo_connect(standin, tenant)}", flush=True)
                threading.Thread(target=_demo_trickle, args=(standin, stop), name="jira-trickle", daemon=True).start()
        finally:
            connections.close_all()
    except Exception as exc:  # a demo helper reports and keeps serving
        print(f"  demo: could not set up the demo tenant: {type(exc).__name__}: {exc}", flush=True)
    return stop


def main() -> int:
    parser = argparse.ArgumentParser(description="Run the local Jira stand-in.")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--worklogs", type=int, default=500)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--issues", type=int, default=200)
    parser.add_argument("--projects", default="ALPHA,BETA,GAMMA", help="comma-separated project keys")
    parser.add_argument("--email-domain", default="example.test", help="domain of the seeded people's emails")
    parser.add_argument("--email", default=DEFAULT_EMAIL, help="the API account's email")
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="the API account's token")
    parser.add_argument(
        "--demo-tenant",
        metavar="SLUG",
        help="seed from this tenant's employees and issues instead, point its Jira connection here and start a sync",
    )
    args = parser.parse_args()
    try:
        standin = JiraStandin(port=args.port, email=args.email, api_token=args.token)
    except OSError:
        if not args.demo_tenant:
            raise
        standin = JiraStandin(port=0, email=args.email, api_token=args.token)  # the usual port is taken
    if not args.demo_tenant:
        # Seeded before the address is printed: whoever waits for that line finds the data complete.
        standin.seed(
            worklogs=args.worklogs,
            users=args.users,
            issues=args.issues,
            projects=tuple(p.strip().upper() for p in args.projects.split(",") if p.strip()),
            email_domain=args.email_domain,
        )
    print(f"Jira stand-in on {standin.url}  (Ctrl-C stops it)", flush=True)
    print(f"  email: {args.email}", flush=True)
    print(f"  token: {args.token}", flush=True)
    stop: threading.Event | None = None
    if args.demo_tenant:
        stop = _demo(standin, args.demo_tenant)
    else:
        print(
            f"  {args.worklogs} work logs by {args.users} people (acct-00001.. / person00001@{args.email_domain}) "
            f"on {args.issues} issues in {args.projects}",
            flush=True,
        )
    try:
        if standin._thread is not None:
            standin._thread.join()
        else:
            standin._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        if stop is not None:
            stop.set()
        standin._server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

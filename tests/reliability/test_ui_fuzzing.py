"""Hypothesis walks the web UI as HR: every form and query string it finds, filled with odd values, never a 500.

The API has schemathesis (test_api_fuzzing.py); the UI has no schema, so the test reads one from the pages
themselves: it renders each page, collects its forms (method, action, field names) and adds the query
parameters the pages read without a form (`page`, `week`, `next`). Hypothesis then sends each form, or a page
with a query string, with values drawn from the ones that broke similar code before (dates at the ends of the
calendar, ISO weeks that do not exist, NaN and the infinities, huge and negative numbers, long and unusual
text) and from plain random text.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import PASSWORD, TenantHandle, make_user
from tests.timesheets.factories import make_allocation, make_employee, make_project, make_suggestion

PAGES = (
    "/",
    "/suggestions",
    "/timesheets",
    "/my-week",
    "/employees",
    "/employees/new",
    "/projects",
    "/projects/new",
    "/generate",
    "/jira",
    "/model",
    "/audit",
)
# Forms that end the session or leave the UI: sending them would only test the login page afterwards.
_SKIPPED_ACTIONS = ("/logout", "/login")
# Read by the pages from the query string without a form of their own.
_QUERY_ONLY = ("page", "week", "next")

ODD_VALUES = (
    "9999-12-31",
    "0001-01-01",
    "1999-12-31",
    "2100-01-01",
    "2026-02-30",
    "9999-W52",
    "0001-W01",
    "2026-W53",
    "2026-W00",
    "-0001-W01",
    "NaN",
    "sNaN",
    "Infinity",
    "-Infinity",
    "1e999999",
    "-1",
    "0",
    "99999999999999999999999",
    "-99999999999999999999999",
    "0.0000000000000000001",
    "x" * 10_000,
    "ü😀\u202e\u200b",
    "\x00",
    "",
    " ",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "00000000-0000-0000-0000-000000000000",
    "last",
)
_values = st.one_of(
    st.sampled_from(ODD_VALUES),
    st.text(max_size=40),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(date.isoformat),
)


@dataclass(frozen=True)
class Target:
    method: str
    action: str
    fields: tuple[str, ...]


class _Forms(HTMLParser):
    """The forms of a page: method, action and the names of their fields (the CSRF token left out)."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.page = page
        self.targets: list[Target] = []
        self._current: tuple[str, str, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._current = (values.get("method", "get").lower(), values.get("action") or self.page, [])
        elif tag in ("input", "select", "textarea", "button") and self._current is not None:
            name = values.get("name", "")
            if name and name != "csrfmiddlewaretoken" and name not in self._current[2]:
                self._current[2].append(name)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._current is not None:
            method, action, fields = self._current
            path = action.split("?", 1)[0]
            if fields and path.startswith("/") and not path.startswith(_SKIPPED_ACTIONS):
                self.targets.append(Target(method, path, tuple(fields)))
            self._current = None


def _logged_in_hr(handle: TenantHandle) -> Client:
    username = f"hr-{uuid.uuid4().hex[:6]}@{handle.tenant.slug}.test"
    user = make_user(handle, username, "HR")
    employee = make_employee(handle, user=user, name="Fuzz Person")
    project = make_project(handle, code="FUZZ")
    make_suggestion(handle, employee, project, day=date(2026, 3, 2))
    make_allocation(handle, employee, project, day=date(2026, 3, 3))
    client = handle.client()
    assert client.post("/login", {"username": username, "password": PASSWORD}).status_code == 302
    return client


def _targets(client: Client, pages: tuple[str, ...]) -> list[Target]:
    targets: dict[Target, None] = {}
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        parser = _Forms(page)
        parser.feed(response.content.decode())
        targets.update(dict.fromkeys(parser.targets))
        targets[Target("get", page, _QUERY_ONLY)] = None
    return list(targets)


@pytest.fixture
def walk(alpha: TenantHandle) -> tuple[Client, list[Target]]:
    """HR's logged-in client and the forms of the UI (hypothesis runs every example with the same fixture)."""
    client = _logged_in_hr(alpha)
    return client, _targets(client, PAGES)


def test_the_walk_finds_the_forms_of_the_ui(walk: tuple[Client, list[Target]]) -> None:
    found = {(target.method, target.action) for target in walk[1]}
    assert {("get", "/suggestions"), ("post", "/suggestions/decide"), ("get", "/timesheets")} <= found
    assert {("post", "/employees/new"), ("post", "/projects/new"), ("post", "/generate"), ("get", "/audit")} <= found


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_odd_values_in_any_form_or_query_string_of_the_ui_never_answer_500(
    walk: tuple[Client, list[Target]], data: Any
) -> None:
    client, targets = walk
    target = data.draw(st.sampled_from(targets), label="target")
    fields = data.draw(st.lists(st.sampled_from(target.fields), unique=True, max_size=len(target.fields)))
    values = {name: data.draw(_values, label=name) for name in fields}
    if target.method == "post":
        # A row's corrected hours (`hours-<id>`) name the suggestion they correct.
        values.update({f"hours-{value}": data.draw(_values) for value in list(values.values())[:1]})
        response = client.post(target.action, values)
    else:
        response = client.get(target.action, values)
    assert response.status_code < 500, (target, values)

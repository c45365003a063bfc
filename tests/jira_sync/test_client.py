"""The Jira client against the local stand-in: paging, typed records, Retry-After, retries and typed errors."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import pytest

from jira_sync import client as client_module
from jira_sync.client import JiraAuthError, JiraClient, JiraError, JiraUnavailable, Worklog
from tests.support.jira_standin import (
    DEFAULT_EMAIL,
    DEFAULT_TOKEN,
    JiraStandin,
    jira_standin_fixture,  # noqa: F401 - provides the `jira_standin` fixture
)


def _client(standin: JiraStandin, **options: object) -> JiraClient:
    return JiraClient(site_url=standin.url, email=DEFAULT_EMAIL, api_token=DEFAULT_TOKEN, **options)  # type: ignore[arg-type]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "BACKOFF_SECONDS", 0.01)


def test_the_updated_feed_follows_next_page_until_the_last_page(jira_standin: JiraStandin) -> None:
    jira_standin.change_page_size = 4
    jira_standin.seed(worklogs=10, users=2, issues=3)
    with _client(jira_standin) as client:
        pages = list(client.worklogs_updated(0))
    assert [len(page.changes) for page in pages] == [4, 4, 2]
    assert [page.last_page for page in pages] == [False, False, True]
    assert pages[0].until_ms == pages[0].changes[-1].updated_ms
    assert {change.worklog_id for page in pages for change in page.changes} == jira_standin.worklog_ids


def test_changes_from_the_last_minute_are_left_out_like_jira_does(jira_standin: JiraStandin) -> None:
    jira_standin.add_user("acct-1")
    jira_standin.add_issue("ALPHA-1")
    log = jira_standin.add_worklog(issue_key="ALPHA-1", author="acct-1")
    with _client(jira_standin) as client:
        assert [c.worklog_id for page in client.worklogs_updated(0) for c in page.changes] == []
        jira_standin.advance(61)
        assert [c.worklog_id for page in client.worklogs_updated(0) for c in page.changes] == [log.id]


def test_work_logs_come_back_as_typed_records_in_batches_of_a_thousand(jira_standin: JiraStandin) -> None:
    jira_standin.seed(worklogs=1500, users=3, issues=5)
    with _client(jira_standin) as client:
        logs = client.worklogs_by_ids(sorted(jira_standin.worklog_ids))
    assert len(logs) == 1500
    assert [len(r.body["ids"]) for r in jira_standin.requests_to("/worklog/list")] == [1000, 500]
    first = logs[0]
    assert isinstance(first, Worklog)
    assert first.started.tzinfo is not None
    assert first.author.account_id.startswith("acct-")
    assert first.author.email is not None
    assert first.seconds > 0


def test_the_deleted_feed_lists_deleted_work_logs(jira_standin: JiraStandin) -> None:
    jira_standin.add_user("acct-1")
    jira_standin.add_issue("ALPHA-1")
    log = jira_standin.add_worklog(issue_key="ALPHA-1", author="acct-1")
    jira_standin.delete_worklog(log.id)
    jira_standin.advance(61)
    with _client(jira_standin) as client:
        deleted = [c.worklog_id for page in client.worklogs_deleted(0) for c in page.changes]
    assert deleted == [log.id]


def test_issue_search_pages_by_next_page_token_and_parses_assignee_status_and_project(
    jira_standin: JiraStandin,
) -> None:
    jira_standin.add_user("acct-1", email="one@example.test")
    for n in range(5):
        jira_standin.add_issue(f"ALPHA-{n}", assignee="acct-1" if n % 2 else None, status="Done" if n == 3 else "To Do")
    jira_standin.add_issue("BETA-1")
    with _client(jira_standin) as client:
        pages = list(client.issues_search_pages('project in ("ALPHA") ORDER BY updated ASC', max_results=2))
    assert [len(page.issues) for page in pages] == [2, 2, 1]
    assert pages[-1].is_last
    bodies = [r.body for r in jira_standin.requests_to("/search/jql")]
    assert bodies[0]["fields"] == ["assignee", "status", "project", "updated"]
    assert "nextPageToken" not in bodies[0]
    assert bodies[1]["nextPageToken"] == pages[0].next_page_token
    issues = [issue for page in pages for issue in page.issues]
    assert [issue.key for issue in issues] == [f"ALPHA-{n}" for n in range(5)]
    assert issues[1].assignee_account_id == "acct-1"
    assert issues[1].assignee_email == "one@example.test"
    assert issues[0].assignee_account_id is None
    assert issues[3].is_done
    assert not issues[1].is_done
    assert {issue.project_key for issue in issues} == {"ALPHA"}


def test_issue_work_logs_are_paged_by_start_at(jira_standin: JiraStandin) -> None:
    jira_standin.add_user("acct-1")
    jira_standin.add_issue("ALPHA-1")
    for _ in range(5):
        jira_standin.add_worklog(issue_key="ALPHA-1", author="acct-1")
    with _client(jira_standin) as client:
        first = client.issue_worklogs("ALPHA-1", 0, max_results=2)
        assert (len(first.worklogs), first.total, first.is_last) == (2, 5, False)
        assert len(list(client.issue_worklogs_all("ALPHA-1"))) == 5


def test_a_429_is_retried_no_sooner_than_retry_after(jira_standin: JiraStandin) -> None:
    jira_standin.fail(status=429, path_contains="/myself", times=1, retry_after=1)
    with _client(jira_standin) as client:
        assert client.myself().email == DEFAULT_EMAIL
    throttled, retried = jira_standin.requests_to("/myself")
    assert throttled.status == 429
    assert retried.status == 200
    assert retried.at - throttled.at >= 1.0


def test_a_503_with_retry_after_is_retried_and_a_transient_500_too(jira_standin: JiraStandin) -> None:
    jira_standin.fail(status=503, path_contains="/myself", times=1, retry_after=0)
    jira_standin.fail(status=500, path_contains="/myself", after=1, times=1)
    with _client(jira_standin) as client:
        client.myself()
    assert [r.status for r in jira_standin.requests_to("/myself")] == [503, 500, 200]


def test_persistent_5xx_gives_up_after_the_bounded_retries(jira_standin: JiraStandin) -> None:
    jira_standin.fail(status=500, path_contains="/myself", times=None)
    with _client(jira_standin, max_retries=3) as client, pytest.raises(JiraUnavailable) as failure:
        client.myself()
    assert failure.value.status == 500
    assert len(jira_standin.requests_to("/myself")) == 4


def test_a_retry_after_longer_than_we_wait_fails_at_once(jira_standin: JiraStandin) -> None:
    jira_standin.fail(status=429, path_contains="/myself", times=None, retry_after=3600)
    with _client(jira_standin) as client, pytest.raises(JiraUnavailable, match="Retry-After"):
        client.myself()
    assert len(jira_standin.requests_to("/myself")) == 1


def test_bad_credentials_and_forbidden_accounts_raise_auth_errors(jira_standin: JiraStandin) -> None:
    wrong = JiraClient(site_url=jira_standin.url, email=DEFAULT_EMAIL, api_token="wrong")
    with wrong, pytest.raises(JiraAuthError) as unauthorized:
        wrong.myself()
    assert unauthorized.value.status == 401
    jira_standin.forbidden_emails.add(DEFAULT_EMAIL)
    with _client(jira_standin) as client, pytest.raises(JiraAuthError) as forbidden:
        client.myself()
    assert forbidden.value.status == 403
    assert len(jira_standin.requests) == 2


def test_an_unreachable_host_is_unavailable_not_a_crash() -> None:
    client = JiraClient(
        site_url=f"http://127.0.0.1:{_closed_port()}", email="a@example.test", api_token="t", max_retries=1
    )
    with client, pytest.raises(JiraUnavailable, match="Could not reach the Jira site") as failure:
        client.myself()
    assert failure.value.status is None


def test_other_client_errors_and_non_json_answers_are_jira_errors(jira_standin: JiraStandin) -> None:
    with _client(jira_standin) as client:
        with pytest.raises(JiraError, match="400") as bad_jql:
            client.issues_search("nonsense ~ here")
        assert not isinstance(bad_jql.value, JiraUnavailable | JiraAuthError)
        with pytest.raises(JiraError, match="404"):
            client.issue_worklogs("NOPE-1")


def test_a_next_page_link_to_another_host_is_refused(jira_standin: JiraStandin) -> None:
    with _client(jira_standin) as client, pytest.raises(JiraError, match="another site"):
        client._same_site("https://evil.example/rest/api/3/worklog/updated?since=5")
    with _client(jira_standin) as client:
        assert client._same_site(f"{jira_standin.url}/x") == f"{jira_standin.url}/x"


def test_jira_timestamps_parse_to_aware_datetimes() -> None:
    parsed = client_module.parse_jira_time("2026-03-02T23:30:00.000+0000")
    assert parsed == datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    with pytest.raises(JiraError):
        client_module.jql_project_clause(['X") OR project = "Y'])

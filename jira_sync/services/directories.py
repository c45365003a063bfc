"""Lookup tables a Jira sync builds once per run: account → employee, zone names, issue ids, project keys."""

from __future__ import annotations

import uuid
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, tzinfo

from core.schema import current_schema
from jira_sync.client import Issue, JiraClient
from jira_sync.models import JiraIssueAssignment
from tenants.crypto import blind_index_candidates
from tenants.models import Tenant
from timesheets.models import Employee, Project


class AuthorDirectory:
    """Jira account → employee: by `jira_account_id`, then by email through the blind index."""

    def __init__(self) -> None:
        self._by_account: dict[str, uuid.UUID] = {}
        self._by_email_index: dict[str, uuid.UUID] = {}
        self._indexes_of_email: dict[str, list[str]] = {}
        employees = Employee.objects.order_by("-active", "created_at").values_list(
            "id", "jira_account_id", "email_index"
        )
        for employee_id, account_id, email_index in employees.iterator(chunk_size=5000):
            if account_id:
                self._by_account.setdefault(account_id, employee_id)
            if email_index:
                self._by_email_index.setdefault(email_index, employee_id)

    def resolve(self, account_id: str | None, email: str | None) -> uuid.UUID | None:
        found = self._by_account.get(account_id) if account_id else None
        if found is None and email:
            indexes = self._indexes_of_email.get(email)
            if indexes is None:
                # Every live data key's index: during a key rotation some rows still carry the previous one.
                indexes = self._indexes_of_email[email] = blind_index_candidates(email, purpose="email")
            found = next((self._by_email_index[i] for i in indexes if i in self._by_email_index), None)
            if found is not None and account_id:
                self._by_account[account_id] = found
        return found


class ZoneDirectory:
    """Time zones by name, falling back to the tenant's zone for a missing or unknown name."""

    def __init__(self, fallback: str) -> None:
        self._zones: dict[str | None, tzinfo] = {}
        self.fallback = self._load(fallback) or UTC

    @staticmethod
    def _load(name: str | None) -> tzinfo | None:
        if not name:
            return None
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return None

    def get(self, name: str | None) -> tzinfo:
        zone = self._zones.get(name)
        if zone is None:
            zone = self._zones[name] = self._load(name) or self.fallback
        return zone


@dataclass(frozen=True)
class IssueRef:
    key: str
    project_key: str


class IssueDirectory:
    """Issue id → key and project for work logs (Jira's work logs carry only the issue id).

    Known from this run's issue pages, then from stored assignments, then asked of Jira in batches; ids
    Jira does not return (outside the project filter, or not visible to the account) are remembered too.
    """

    def __init__(self, project_keys: tuple[str, ...]) -> None:
        self.project_keys = project_keys
        self._filter = frozenset(project_keys)
        self._known: dict[str, IssueRef] = {}
        self._invisible: set[str] = set()

    def remember(self, issue: Issue) -> None:
        self._known[issue.id] = IssueRef(key=issue.key, project_key=issue.project_key)

    def resolve(self, issue_ids: set[str], client: JiraClient) -> tuple[dict[str, IssueRef], list[Issue]]:
        """References for the ids within the filter, and the issues fetched from Jira to get them."""
        unknown = [i for i in issue_ids if i not in self._known and i not in self._invisible]
        if unknown:
            for issue_id, key in JiraIssueAssignment.objects.filter(issue_id__in=unknown).values_list(
                "issue_id", "issue_key"
            ):
                self._known[issue_id] = IssueRef(key=key, project_key=key.rsplit("-", 1)[0])
            unknown = [i for i in unknown if i not in self._known]
        fetched: list[Issue] = []
        if unknown:
            askable = [i for i in unknown if i.isdigit()]
            fetched = client.issues_by_ids(askable, project_keys=self.project_keys) if askable else []
            for issue in fetched:
                self.remember(issue)
            self._invisible.update(i for i in unknown if i not in self._known)
        refs = {}
        for issue_id in issue_ids:
            ref = self._known.get(issue_id)
            if ref is not None and (not self._filter or ref.project_key in self._filter):
                refs[issue_id] = ref
        return refs, fetched


def projects_by_key() -> dict[str, uuid.UUID]:
    projects: dict[str, uuid.UUID] = {}
    for project_id, key in (
        Project.objects.exclude(jira_project_key="").order_by("-active", "code").values_list("id", "jira_project_key")
    ):
        projects.setdefault(key.strip().upper(), project_id)
    return projects


def tenant_time_zone() -> str:
    return Tenant.objects.filter(schema_name=current_schema()).values_list("timezone", flat=True).first() or "UTC"

"""Jira API: `GET/PUT /api/jira/connection`, `POST /api/jira/sync` (202 with the job), `GET /api/jira/worklogs`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.fields import Date, Text
from core.pagination import DefaultPagination
from core.query import query_validate
from core.roles import IsAdmin, IsHROrAdmin
from jira_sync.models import JiraConnection, JiraWorkLog
from jira_sync.selectors import jira_connection_get, worklog_list
from jira_sync.services.connection import MAX_INTERVAL_MINUTES, MIN_INTERVAL_MINUTES, jira_connection_save
from jira_sync.services.schedule import jira_sync_request
from jobs.api import JobAcceptedOutputSerializer, job_accepted_response

_HOUR = Decimal(3600)
_CENT = Decimal("0.01")


class JiraConnectionOutputSerializer(serializers.Serializer[dict[str, Any]]):
    """The connection as Admins see it: the API token is never part of it, only whether one is stored."""

    configured = serializers.BooleanField()
    site_url = serializers.CharField()
    email = serializers.CharField()
    api_token_set = serializers.BooleanField()
    enabled = serializers.BooleanField()
    project_keys = serializers.ListField(child=serializers.CharField())
    sync_interval_minutes = serializers.IntegerField()
    account_id = serializers.CharField()
    verified_at = serializers.DateTimeField(allow_null=True)
    last_sync_at = serializers.DateTimeField(allow_null=True)
    last_success_at = serializers.DateTimeField(allow_null=True)
    last_result = serializers.DictField()
    write_back_enabled = serializers.BooleanField()
    write_back_since = serializers.DateField(allow_null=True)
    updated_at = serializers.DateTimeField(allow_null=True)


def _connection_body(row: JiraConnection | None) -> dict[str, Any]:
    if row is None:
        return {
            "configured": False,
            "site_url": "",
            "email": "",
            "api_token_set": False,
            "enabled": False,
            "project_keys": [],
            "sync_interval_minutes": 30,
            "account_id": "",
            "verified_at": None,
            "last_sync_at": None,
            "last_success_at": None,
            "last_result": {},
            "write_back_enabled": False,
            "write_back_since": None,
            "updated_at": None,
        }
    return {
        "configured": True,
        "site_url": row.site_url,
        "email": row.email,
        # Read from the raw column state: answering this must not decrypt the token.
        "api_token_set": row.__dict__.get("api_token") is not None,
        "enabled": row.enabled,
        "project_keys": list(row.project_keys or []),
        "sync_interval_minutes": row.sync_interval_minutes,
        "account_id": row.account_id,
        "verified_at": row.verified_at,
        "last_sync_at": row.last_sync_at,
        "last_success_at": row.last_success_at,
        "last_result": row.last_result or {},
        "write_back_enabled": row.write_back_enabled,
        "write_back_since": row.write_back_since,
        "updated_at": row.updated_at,
    }


class JiraConnectionApi(APIView):
    permission_classes = [IsAdmin]

    class JiraConnectionInputSerializer(serializers.Serializer[dict[str, Any]]):
        site_url = serializers.URLField(max_length=255)
        email = serializers.EmailField(max_length=254)
        # Write-only; may be left out to keep the stored token while site and email stay the same.
        api_token = Text(write_only=True, required=False, allow_blank=True, max_length=2048)
        enabled = serializers.BooleanField(default=True)
        project_keys = serializers.ListField(
            child=serializers.RegexField(
                r"^[A-Za-z][A-Za-z0-9_]*$",
                max_length=32,
                error_messages={"invalid": "A Jira project key: a letter, then letters, digits or underscores."},
            ),
            required=False,
            default=list,
            max_length=200,
        )
        sync_interval_minutes = serializers.IntegerField(
            min_value=MIN_INTERVAL_MINUTES, max_value=MAX_INTERVAL_MINUTES, default=30
        )
        # Two-way sync; left out, the stored setting stays.
        write_back_enabled = serializers.BooleanField(required=False)
        write_back_since = Date(required=False)

    @extend_schema(responses={200: JiraConnectionOutputSerializer})
    def get(self, request: Request) -> Response:
        return Response(JiraConnectionOutputSerializer(_connection_body(jira_connection_get())).data)

    @extend_schema(request=JiraConnectionInputSerializer, responses={200: JiraConnectionOutputSerializer})
    def put(self, request: Request) -> Response:
        data = self.JiraConnectionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        row = jira_connection_save(
            actor=request.user,
            site_url=values["site_url"],
            email=values["email"],
            api_token=values.get("api_token") or None,
            enabled=values["enabled"],
            project_keys=values["project_keys"],
            sync_interval_minutes=values["sync_interval_minutes"],
            write_back_enabled=values.get("write_back_enabled"),
            write_back_since=values.get("write_back_since"),
        )
        return Response(JiraConnectionOutputSerializer(_connection_body(row)).data)


class JiraSyncApi(APIView):
    permission_classes = [IsHROrAdmin]

    class JiraSyncOutputSerializer(JobAcceptedOutputSerializer):
        pass

    @extend_schema(request=None, responses={202: JiraSyncOutputSerializer})
    def post(self, request: Request) -> Response:
        job = jira_sync_request(actor=request.user, trigger="api")
        return job_accepted_response(job, self.JiraSyncOutputSerializer)


class JiraWorklogListApi(APIView):
    permission_classes = [IsHROrAdmin]
    pagination_class = DefaultPagination  # read by the OpenAPI schema as well

    class WorklogFilterSerializer(serializers.Serializer[dict[str, Any]]):
        employee = serializers.UUIDField(required=False)
        project = serializers.UUIDField(required=False)
        date_from = Date(required=False)
        date_to = Date(required=False)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            start, end = attrs.get("date_from"), attrs.get("date_to")
            if start is not None and end is not None and end < start:
                raise serializers.ValidationError({"date_to": ["Must be on or after date_from."]})
            return attrs

    class WorklogOutputSerializer(serializers.ModelSerializer[JiraWorkLog]):
        employee_name = serializers.SerializerMethodField()
        project_code = serializers.SerializerMethodField()
        hours = serializers.SerializerMethodField()
        was_converted = serializers.BooleanField(
            read_only=True, help_text="The employee has an allocation on this project and day."
        )
        in_closed_period = serializers.BooleanField(
            read_only=True,
            help_text="The day lies in a closed pay period: the log is stored, the timesheet stays as it was closed.",
        )

        class Meta:
            model = JiraWorkLog
            fields = [
                "id",
                "jira_worklog_id",
                "issue_id",
                "issue_key",
                "project",
                "project_code",
                "employee",
                "employee_name",
                "author_account_id",
                "started_at",
                "work_date",
                "seconds",
                "hours",
                "synced_at",
                "was_converted",
                "in_closed_period",
            ]

        def get_employee_name(self, log: JiraWorkLog) -> str | None:
            return log.employee.name if log.employee is not None else None

        def get_project_code(self, log: JiraWorkLog) -> str | None:
            return log.project.code if log.project is not None else None

        def get_hours(self, log: JiraWorkLog) -> str:
            return str((Decimal(log.seconds) / _HOUR).quantize(_CENT))

    @extend_schema(parameters=[WorklogFilterSerializer], responses={200: WorklogOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        values = query_validate(self.WorklogFilterSerializer, request)
        logs = worklog_list(
            employee_id=values.get("employee"),
            project_id=values.get("project"),
            date_from=values.get("date_from"),
            date_to=values.get("date_to"),
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(logs, request, view=self)
        return paginator.get_paginated_response(self.WorklogOutputSerializer(page, many=True).data)

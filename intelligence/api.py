"""Generation API: `POST /api/timesheet-intelligence/generate` → 202 with the job to follow."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from intelligence.services import generation_request
from jobs.services import job_status_url
from tenants.roles import IsHROrAdmin


class GenerateApi(APIView):
    permission_classes = [IsHROrAdmin]

    class GenerateInputSerializer(serializers.Serializer[dict[str, object]]):
        start_date = serializers.DateField()
        end_date = serializers.DateField()
        employee_ids = serializers.ListField(
            child=serializers.UUIDField(), required=False, allow_null=True, max_length=10_000
        )
        generate_suggestions = serializers.BooleanField(default=True)
        auto_accept_high_confidence = serializers.BooleanField(default=False)

    class GenerateOutputSerializer(serializers.Serializer[dict[str, object]]):
        job_id = serializers.UUIDField()
        status_url = serializers.CharField()

    @extend_schema(request=GenerateInputSerializer, responses={202: GenerateOutputSerializer})
    def post(self, request: Request) -> Response:
        data = self.GenerateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        job = generation_request(
            actor=request.user,
            start=values["start_date"],
            end=values["end_date"],
            employee_ids=values.get("employee_ids") or None,
            generate_suggestions=values["generate_suggestions"],
            auto_accept=values["auto_accept_high_confidence"],
        )
        body: dict[str, object] = {"job_id": job.id, "status_url": job_status_url(job)}
        return Response(self.GenerateOutputSerializer(body).data, status=status.HTTP_202_ACCEPTED)

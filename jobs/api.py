"""Job status API: `GET /api/jobs/{id}`."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs.models import BackgroundJob
from jobs.selectors import job_get


class JobDetailApi(APIView):
    class JobDetailOutputSerializer(serializers.ModelSerializer[BackgroundJob]):
        class Meta:
            model = BackgroundJob
            fields = [
                "id",
                "job_type",
                "status",
                "progress",
                "processed",
                "total",
                "parameters",
                "result",
                "error",
                "created_at",
                "started_at",
                "finished_at",
                "heartbeat_at",
            ]

    @extend_schema(responses={200: JobDetailOutputSerializer})
    def get(self, request: Request, job_id: str) -> Response:
        job = job_get(job_id=job_id, user=request.user)
        return Response(self.JobDetailOutputSerializer(job).data)

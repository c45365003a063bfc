"""Job status API: `GET /api/jobs/{id}`."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs.models import BackgroundJob, JobStatus
from jobs.selectors import job_get
from jobs.services import job_status_url


class JobAcceptedOutputSerializer(serializers.Serializer[dict[str, object]]):
    """The 202 body of every endpoint that queues a job: where to follow it."""

    job_id = serializers.UUIDField()
    status_url = serializers.CharField()


def job_accepted_response(job: BackgroundJob, serializer_class: type[JobAcceptedOutputSerializer]) -> Response:
    body: dict[str, object] = {"job_id": job.id, "status_url": job_status_url(job)}
    return Response(serializer_class(body).data, status=status.HTTP_202_ACCEPTED)


class JobDetailApi(APIView):
    # Declared fields, not a ModelSerializer: the fields are built once, not introspected on every poll.
    class JobDetailOutputSerializer(serializers.Serializer[BackgroundJob]):
        id = serializers.UUIDField(read_only=True)
        job_type = serializers.CharField(read_only=True)
        status = serializers.ChoiceField(choices=JobStatus.choices, read_only=True)
        progress = serializers.IntegerField(min_value=0, max_value=100, read_only=True)
        processed = serializers.IntegerField(min_value=0, read_only=True)
        total = serializers.IntegerField(min_value=0, read_only=True)
        parameters = serializers.JSONField(read_only=True)
        result = serializers.JSONField(read_only=True)
        error = serializers.CharField(read_only=True)
        created_at = serializers.DateTimeField(read_only=True)
        started_at = serializers.DateTimeField(read_only=True, allow_null=True)
        finished_at = serializers.DateTimeField(read_only=True, allow_null=True)
        heartbeat_at = serializers.DateTimeField(read_only=True, allow_null=True)

    @extend_schema(responses={200: JobDetailOutputSerializer})
    def get(self, request: Request, job_id: str) -> Response:
        job = job_get(job_id=job_id, user=request.user)
        return Response(self.JobDetailOutputSerializer(job).data)

"""Intelligence API: generation (`POST /api/timesheet-intelligence/generate`), training and the model's status."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.fields import Date
from core.ratelimits import MlRateLimited
from core.roles import IsHROrAdmin
from intelligence.selectors import model_status
from intelligence.services import generation_request, training_request
from jobs.api import JobAcceptedOutputSerializer, job_accepted_response


class GenerateApi(MlRateLimited, APIView):
    permission_classes = [IsHROrAdmin]

    class GenerateInputSerializer(serializers.Serializer[dict[str, object]]):
        start_date = Date()
        end_date = Date()
        employee_ids = serializers.ListField(
            child=serializers.UUIDField(), required=False, allow_null=True, max_length=10_000
        )
        generate_suggestions = serializers.BooleanField(default=True)
        auto_accept_high_confidence = serializers.BooleanField(default=False)

    class GenerateOutputSerializer(JobAcceptedOutputSerializer):
        pass

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
        return job_accepted_response(job, self.GenerateOutputSerializer)


class ModelTrainApi(MlRateLimited, APIView):
    permission_classes = [IsHROrAdmin]

    class ModelTrainInputSerializer(serializers.Serializer[dict[str, object]]):
        """No options yet: the body is `{}` (or empty)."""

    class ModelTrainOutputSerializer(JobAcceptedOutputSerializer):
        pass

    @extend_schema(request=ModelTrainInputSerializer, responses={202: ModelTrainOutputSerializer})
    def post(self, request: Request) -> Response:
        """Queue a training run from the tenant's confirmed outcomes; 409 naming the job if one is running."""
        self.ModelTrainInputSerializer(data=request.data or {}).is_valid(raise_exception=True)
        job = training_request(actor=request.user)
        return job_accepted_response(job, self.ModelTrainOutputSerializer)


class _ArtifactSummarySerializer(serializers.Serializer[dict[str, Any]]):
    version = serializers.IntegerField()
    status = serializers.CharField()
    reason = serializers.CharField()
    trained_at = serializers.DateTimeField(allow_null=True)
    activated_at = serializers.DateTimeField(allow_null=True)
    samples = serializers.IntegerField()
    holdout_samples = serializers.IntegerField()
    employee_days = serializers.IntegerField()
    data_start = serializers.DateField(allow_null=True)
    holdout_start = serializers.DateField(allow_null=True)
    data_end = serializers.DateField(allow_null=True)
    metrics = serializers.JSONField(help_text="Holdout metrics: {model: {...}, rules: {...}, rows, employee_days}")
    training_seconds = serializers.FloatField()
    artifact_bytes = serializers.IntegerField()


class ModelStatusApi(APIView):
    permission_classes = [IsHROrAdmin]

    class ModelStatusOutputSerializer(serializers.Serializer[dict[str, Any]]):
        class ArtifactHealthSerializer(serializers.Serializer[dict[str, Any]]):
            state = serializers.ChoiceField(choices=["none", "ok", "missing", "corrupt"])
            error = serializers.CharField()

        class BreakerSerializer(serializers.Serializer[dict[str, Any]]):
            state = serializers.CharField()
            failures = serializers.IntegerField()
            opened_at = serializers.CharField(allow_null=True)
            fail_max = serializers.IntegerField()
            reset_timeout_seconds = serializers.IntegerField()

        # A declared field, not Field.source: the serializer metaclass takes it out of the class namespace.
        source = serializers.ChoiceField(choices=["ml", "rules"])  # type: ignore[assignment]
        reason = serializers.CharField()
        active = _ArtifactSummarySerializer(allow_null=True)
        artifact = ArtifactHealthSerializer()
        latest = _ArtifactSummarySerializer(allow_null=True)
        breaker = BreakerSerializer()

    @extend_schema(responses={200: ModelStatusOutputSerializer})
    def get(self, request: Request) -> Response:
        """What answers generation now (the model or the rules engine) and why, with holdout metrics side by side."""
        return Response(self.ModelStatusOutputSerializer(model_status()).data)

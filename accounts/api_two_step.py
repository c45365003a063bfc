"""Two-step sign-in of the caller: status, set-up (the only answer with the secret), confirm, turn off, new
recovery codes. Anyone's own; docs/accounts.md."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.protection import login_check_counted
from accounts.selectors import two_step_enabled, two_step_pending_device, two_step_recovery_codes_left
from accounts.services.two_step import (
    two_step_confirm,
    two_step_disable,
    two_step_recovery_codes_renew,
    two_step_setup_start,
)
from core.fields import Text

_CODE_HELP = "The 6-digit code the authenticator app shows now, or a recovery code."


class RecoveryCodesOutputSerializer(serializers.Serializer[dict[str, Any]]):
    recovery_codes = serializers.ListField(
        child=serializers.CharField(), help_text="Each works once; shown in this answer only."
    )


class CodeInputSerializer(serializers.Serializer[dict[str, Any]]):
    code = Text(max_length=32, help_text=_CODE_HELP)


class TwoStepApi(APIView):
    class TwoStepOutputSerializer(serializers.Serializer[dict[str, Any]]):
        enabled = serializers.BooleanField(help_text="Sign-in asks for a code after the password.")
        setup_pending = serializers.BooleanField(help_text="A set-up was started and waits for its first code.")
        recovery_codes_left = serializers.IntegerField()

    @extend_schema(responses={200: TwoStepOutputSerializer})
    def get(self, request: Request) -> Response:
        user = request.user
        body = {
            "enabled": two_step_enabled(user=user),
            "setup_pending": two_step_pending_device(user=user) is not None,
            "recovery_codes_left": two_step_recovery_codes_left(user=user),
        }
        return Response(self.TwoStepOutputSerializer(body).data)


class TwoStepSetupApi(APIView):
    class TwoStepSetupOutputSerializer(serializers.Serializer[dict[str, Any]]):
        secret = serializers.CharField(help_text="The key (base32) to type into the authenticator app.")
        otpauth_uri = serializers.CharField(help_text="The same as an otpauth:// link (or QR code content).")

    @extend_schema(request=None, responses={201: TwoStepSetupOutputSerializer})
    def post(self, request: Request) -> Response:
        """A new secret for the caller's authenticator app: the only answer that carries it. Nothing changes at
        sign-in until `confirm` gets a code; 409 when two-step sign-in is already on."""
        setup = two_step_setup_start(user=request.user)
        body = {"secret": setup.secret, "otpauth_uri": setup.uri}
        return Response(self.TwoStepSetupOutputSerializer(body).data, status=status.HTTP_201_CREATED)


class TwoStepConfirmApi(APIView):
    @extend_schema(request=CodeInputSerializer, responses={200: RecoveryCodesOutputSerializer})
    def post(self, request: Request) -> Response:
        """Turn two-step sign-in on with a first code from the app; answers the recovery codes (this once).
        409 without a set-up under way."""
        data = CodeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        codes = two_step_confirm(user=request.user, code=data.validated_data["code"])
        return Response(RecoveryCodesOutputSerializer({"recovery_codes": codes}).data)


class TwoStepDisableApi(APIView):
    class TwoStepDisableInputSerializer(serializers.Serializer[dict[str, Any]]):
        code = Text(max_length=32, required=False, help_text=_CODE_HELP)
        password = Text(max_length=256, required=False, trim_whitespace=False, help_text="Or the password.")

    @extend_schema(request=TwoStepDisableInputSerializer, responses={204: None})
    def post(self, request: Request) -> Response:
        """Turn two-step sign-in off, proven with a code or the password (a wrong one counts as a failed login).
        409 when it is not on."""
        data = self.TwoStepDisableInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        login_check_counted(
            request._request,
            request.user.get_username(),
            lambda: two_step_disable(user=request.user, **data.validated_data),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class TwoStepRecoveryCodesApi(APIView):
    @extend_schema(request=CodeInputSerializer, responses={200: RecoveryCodesOutputSerializer})
    def post(self, request: Request) -> Response:
        """New recovery codes (the old ones stop working), proven with a code. 409 when it is not on."""
        data = CodeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        codes = login_check_counted(
            request._request,
            request.user.get_username(),
            lambda: two_step_recovery_codes_renew(user=request.user, code=data.validated_data["code"]),
        )
        return Response(RecoveryCodesOutputSerializer({"recovery_codes": codes}).data)

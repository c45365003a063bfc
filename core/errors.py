"""One error family for the whole application and the single mapping from errors to JSON responses.

Every error body has the shape ``{"error": {"code": ..., "message": ..., "fields": {...}}}``.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DatabaseError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_default_handler

from core.parsers import JsonTooDeep


class ApplicationError(Exception):
    """A failure the caller can act on; services raise it, the API and views render it."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, fields: dict[str, Any] | None = None, extra: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        self.extra = extra or {}


class ValidationFailed(ApplicationError):
    status = 400
    code = "invalid"


class NotFound(ApplicationError):
    status = 404
    code = "not_found"


class PermissionDenied(ApplicationError):
    status = 403
    code = "permission_denied"


class Conflict(ApplicationError):
    status = 409
    code = "conflict"


class PeriodLocked(Conflict):
    """A change to a closed pay period (or a frozen, approved week); `extra["period"]` names the period."""

    code = "period_locked"


# Errors the database raises itself (triggers), by SQLSTATE: the application error each one becomes.
_DATABASE_ERRORS: dict[str, type[ApplicationError]] = {"HR409": PeriodLocked}


def database_error_translate(exc: BaseException) -> ApplicationError | None:
    """The application error a database error stands for (a trigger's SQLSTATE), or None for any other error.

    The trigger's DETAIL is a JSON object; for `period_locked` it names the period (id, start_date, end_date).
    """
    cause = exc if hasattr(exc, "sqlstate") else exc.__cause__
    kind = _DATABASE_ERRORS.get(str(getattr(cause, "sqlstate", "") or ""))
    if kind is None:
        return None
    diag = getattr(cause, "diag", None)
    message = str(getattr(diag, "message_primary", "") or "The pay period is closed.")
    try:
        detail = json.loads(str(getattr(diag, "message_detail", "") or "{}"))
    except ValueError:
        detail = {}
    return kind(message, extra={"period": detail} if detail else {})


class RateLimited(ApplicationError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, extra={"retry_after": retry_after})
        self.retry_after = retry_after


def error_body(code: str, message: str, fields: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message, "fields": fields or {}}
    body.update(extra)
    return {"error": body}


def error_response(status: int, code: str, message: str, fields: dict[str, Any] | None = None) -> JsonResponse:
    return JsonResponse(error_body(code, message, fields), status=status)


def _flatten_detail(detail: Any) -> Any:
    if isinstance(detail, list):
        return [_flatten_detail(item) for item in detail]
    if isinstance(detail, dict):
        return {key: _flatten_detail(value) for key, value in detail.items()}
    return str(detail)


_DRF_CODES: dict[type[drf_exceptions.APIException], str] = {
    drf_exceptions.NotAuthenticated: "not_authenticated",
    drf_exceptions.AuthenticationFailed: "authentication_failed",
    drf_exceptions.PermissionDenied: "permission_denied",
    drf_exceptions.NotFound: "not_found",
    drf_exceptions.MethodNotAllowed: "method_not_allowed",
    drf_exceptions.NotAcceptable: "not_acceptable",
    drf_exceptions.UnsupportedMediaType: "unsupported_media_type",
    drf_exceptions.Throttled: "rate_limited",
    drf_exceptions.ParseError: "malformed_request",
    JsonTooDeep: "invalid_json",
}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler: ApplicationError and DRF's own errors, one JSON shape."""
    if isinstance(exc, DatabaseError):
        translated = database_error_translate(exc)
        if translated is None:
            return None
        exc = translated
    if isinstance(exc, ApplicationError):
        response = Response(error_body(exc.code, exc.message, exc.fields, **exc.extra), status=exc.status)
        if isinstance(exc, RateLimited):
            response["Retry-After"] = str(exc.retry_after)
        return response
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    handled = drf_default_handler(exc, context)
    if handled is None or not isinstance(exc, drf_exceptions.APIException):
        return handled
    response = handled
    if isinstance(exc, drf_exceptions.ValidationError):
        detail = _flatten_detail(exc.detail)
        fields = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        message = "Invalid input."
        response.data = error_body("invalid", message, fields)
        return response
    code = _DRF_CODES.get(type(exc), str(getattr(exc, "default_code", "error")))
    response.data = error_body(code, str(exc.detail))
    return response


def json_404(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return error_response(404, "not_found", "Not found.")


def json_500(request: HttpRequest) -> JsonResponse:
    return error_response(500, "server_error", "Internal server error.")


def json_403(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return error_response(403, "permission_denied", "Permission denied.")


def json_400(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return error_response(400, "bad_request", "Bad request.")

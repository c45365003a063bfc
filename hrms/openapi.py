"""What every operation of the OpenAPI schema has in common: its error responses and the format of its path ids.

drf-spectacular documents what each view declares (its success response); this postprocessing hook adds what
the API does everywhere, in one place, so the schema matches what a client really receives:

- errors share one body, ``{"error": {"code", "message", "fields", ...}}`` (hrms/errors.py): 400 wherever the
  request carries input, 401 and 403 on every authenticated operation, 404 on item paths and paginated lists
  (a page past the end), 409 where a conflicting job or write can refuse the request, 429 on the ML endpoints
  (hrms/ratelimits.py);
- every path parameter is an object id, and every object of the API is keyed by a UUID;
- text input may not contain NUL characters (PostgreSQL cannot store them; the serializers refuse them), and a
  required text value may not be blank once surrounding whitespace is trimmed;
- a date input lies within the product's range (core.fields.DATE_MIN..DATE_MAX), stated as a pattern.
"""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension

from core.fields import DATE_PATTERN
from core.ratelimits import ML_PATH_PREFIXES

ERROR_COMPONENT = "Error"
_ERROR_REF = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}

_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every error of the API.",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "description": "Machine-readable reason, e.g. `invalid`, `not_found`."},
                "message": {"type": "string"},
                "fields": {
                    "type": "object",
                    "additionalProperties": True,
                    "description": "Per input field (or row index), the messages that explain the refusal.",
                },
                "retry_after": {"type": "integer", "description": "429 only: seconds until the budget refills."},
                "job_id": {
                    "type": "string",
                    "format": "uuid",
                    "nullable": True,
                    "description": "409 `job_running` only: the job already active.",
                },
                "status_url": {"type": "string", "nullable": True, "description": "409 `job_running` only."},
            },
            "required": ["code", "message", "fields"],
        }
    },
    "required": ["error"],
}

_DESCRIPTIONS = {
    "400": "Invalid input: `fields` names each offending parameter, field or row.",
    "401": "Missing, unknown or expired credentials.",
    "403": "The caller's role may not do this.",
    "404": "No such object in this tenant (or not visible to the caller), or a page past the last one.",
    "409": "A conflicting job is already active, or a concurrent write won; retry or follow `status_url`.",
    "429": "Too many requests (the tenant's ML request budget is spent, or too many failed sign-ins); retry "
    "after `Retry-After` seconds.",
}

# Operations that can refuse with 409 besides the ML ones: a job of the same type already active, or a write
# racing another (the Jira connection is saved under a row lock that may lose).
_CONFLICT_OPERATIONS = {
    ("/api/jira/sync", "post"),
    ("/api/jira/connection", "put"),
    # Undoing a confident accept that was already undone.
    ("/api/timesheet-intelligence/suggestions/batches/{batch_id}/undo", "post"),
    # Working time: a day off or leave type that exists, overlapping leave or contracts, a decision already made,
    # leave in a closed pay period.
    ("/api/worktime/days-off", "post"),
    ("/api/leave-types", "post"),
    ("/api/leave", "post"),
    ("/api/leave/import", "post"),
    ("/api/leave/{leave_id}/decide", "post"),
    ("/api/leave/{leave_id}/cancel", "post"),
    ("/api/contracts", "post"),
    ("/api/compliance/violations/{violation_id}/acknowledge", "post"),
    # The timesheet lifecycle: a closed pay period or an approved week refuses changes (`period_locked`);
    # a period already closed, weeks not approved, a week not in the state the action needs.
    ("/api/allocations", "post"),
    ("/api/timesheet-intelligence/suggestions/accept", "post"),
    ("/api/pay-periods/close", "post"),
    ("/api/pay-periods/{pay_period_id}/reopen", "post"),
    ("/api/timesheets/{employee_id}/day", "put"),
    ("/api/timesheets/{employee_id}/submit", "post"),
    ("/api/weeks/{timesheet_week_id}/approve", "post"),
    ("/api/weeks/{timesheet_week_id}/reject", "post"),
    ("/api/weeks/{timesheet_week_id}/reopen", "post"),
    # The payroll export of a period that is not closed.
    ("/api/reports/payroll/{pay_period_id}", "get"),
    ("/api/reports/payroll/{pay_period_id}/manifest", "get"),
    # People and access: an address that has a login, an invitation already accepted or revoked, the last
    # active Admin, a token already revoked.
    ("/api/invitations", "post"),
    ("/api/invitations/accept", "post"),
    ("/api/invitations/{invitation_id}/resend", "post"),
    ("/api/invitations/{invitation_id}/revoke", "post"),
    ("/api/users/{user_id}/deactivate", "post"),
    ("/api/users/{user_id}/role", "put"),
    ("/api/tokens/{token_id}/revoke", "post"),
    # Two-step sign-in already on (a new set-up), or not (confirm, turn off, new recovery codes).
    ("/api/auth/two-step/setup", "post"),
    ("/api/auth/two-step/confirm", "post"),
    ("/api/auth/two-step/disable", "post"),
    ("/api/auth/two-step/recovery-codes", "post"),
}
# Sign-in: refused with 429 after a few failures from one address or for one account (accounts/protection.py).
_LOGIN_OPERATIONS = {
    ("/api/auth/token", "post"),
    # A code or password checked for a signed-in user counts like a failed login (accounts/protection.py).
    ("/api/auth/two-step/disable", "post"),
    ("/api/auth/two-step/recovery-codes", "post"),
}
# Operations without input that still refuse with 400 when the tenant is not set up for them.
_STATE_REFUSALS = {("/api/jira/sync", "post")}

# Plain text (no format, enum or pattern of its own) must not contain NUL; required text must not be blank.
_NO_NUL = r"^[^\x00]*$"
_NOT_BLANK = r"^[^\x00]*[^\s\x00][^\x00]*$"
_SPECTACULAR_DECIMAL = re.compile(r"\^-\?\\d\{0,(?P<whole>\d+)\}\(\?:\\\.\\d\{0,(?P<places>\d+)\}\)\?\$")


# Set by NonNegativeDecimalExtension, consumed (and removed) by the hook.
_UNSIGNED = "x-unsigned"


class NonNegativeDecimalExtension(OpenApiSerializerFieldExtension):  # type: ignore[no-untyped-call]
    """A DecimalField with a non-negative min_value: its string pattern must not allow a sign."""

    target_class = "rest_framework.fields.DecimalField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> Any:
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        minimum = getattr(self.target, "min_value", None)
        maximum = getattr(self.target, "max_value", None)
        unsigned = direction == "request" and minimum is not None and minimum >= 0
        if unsigned and isinstance(schema, dict) and schema.get("format") == "decimal":
            schema[_UNSIGNED] = True
            places = self.target.decimal_places
            if maximum is not None and maximum == int(maximum) and places is not None:
                schema["pattern"] = _decimal_upto(int(maximum), places)
        return schema


class BoundedDateExtension(OpenApiSerializerFieldExtension):  # type: ignore[no-untyped-call]
    """core.fields.Date: a date from DATE_MIN to DATE_MAX, which OpenAPI 3.0 can state only as a pattern."""

    target_class = "core.fields.Date"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> Any:
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if direction == "request" and isinstance(schema, dict):
            schema["pattern"] = DATE_PATTERN
        return schema


def _decimal_upto(top: int, places: int) -> str:
    """A pattern for the non-negative decimals up to `top` with at most `places` decimal places."""
    digits = str(top)
    below = [rf"\d{{1,{len(digits) - 1}}}"] if len(digits) > 1 else []
    for index, digit in enumerate(digits):
        low = 1 if index == 0 and len(digits) > 1 else 0
        if int(digit) - 1 >= low:
            rest = len(digits) - index - 1
            below.append(digits[:index] + f"[{low}-{int(digit) - 1}]" + (rf"\d{{{rest}}}" if rest else ""))
    fraction = rf"(?:\.\d{{0,{places}}})?" if places else ""
    exact = digits + (rf"(?:\.0{{0,{places}}})?" if places else "")
    options = [f"(?:{'|'.join(below)}){fraction}"] if below else []
    options.append(exact)
    if places and top >= 1:
        options.append(rf"\.\d{{1,{places}}}")
    return f"^(?:{'|'.join(options)})$"


def _error_response(status: str) -> dict[str, Any]:
    return {"description": _DESCRIPTIONS[status], "content": {"application/json": {"schema": _ERROR_REF}}}


def _is_authenticated(operation: dict[str, Any]) -> bool:
    return any(requirement for requirement in operation.get("security", []))


def _error_statuses(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    parameters = operation.get("parameters", [])
    statuses: list[str] = []
    if parameters or "requestBody" in operation or (path, method) in _STATE_REFUSALS:
        statuses.append("400")
    if _is_authenticated(operation):
        statuses += ["401", "403"]
    item_path = any(parameter["in"] == "path" for parameter in parameters)
    paginated = any(parameter["in"] == "query" and parameter["name"] == "page" for parameter in parameters)
    if item_path or paginated:
        statuses.append("404")
    ml = path.startswith(ML_PATH_PREFIXES)
    if (ml and method == "post" and path.endswith(("/generate", "/train"))) or (path, method) in _CONFLICT_OPERATIONS:
        statuses.append("409")
    if ml or (path, method) in _LOGIN_OPERATIONS:
        statuses.append("429")
    return statuses


def _decimal_pattern(pattern: str, *, signed: bool = True) -> str:
    """drf-spectacular's pattern for a decimal string also matches "", "-" and "."; the API needs a digit."""
    match = _SPECTACULAR_DECIMAL.fullmatch(pattern)
    if match is None:
        return pattern
    whole, places = match.group("whole"), match.group("places")
    sign = "-?" if signed else ""
    return rf"^{sign}(?:\d{{1,{whole}}}(?:\.\d{{0,{places}}})?|\.\d{{1,{places}}})$"


def _text_input(schema: dict[str, Any], *, required: bool) -> None:
    """Adds the NUL and blank rules to a request-side string schema (recursively through objects and arrays)."""
    if "$ref" in schema:
        return
    kind = schema.get("type")
    if kind == "string" and schema.get("format") == "decimal" and "pattern" in schema:
        schema["pattern"] = _decimal_pattern(schema["pattern"], signed=not schema.pop(_UNSIGNED, False))
    elif kind == "string" and not ({"format", "enum", "pattern"} & schema.keys()):
        schema["pattern"] = _NOT_BLANK if required and schema.get("minLength", 0) >= 1 else _NO_NUL
    elif kind == "object":
        needed = set(schema.get("required", []))
        for name, child in schema.get("properties", {}).items():
            _text_input(child, required=name in needed)
    elif kind == "array" and isinstance(schema.get("items"), dict):
        _text_input(schema["items"], required=True)


def postprocess_schema(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular POSTPROCESSING_HOOKS entry: see the module docstring."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components[ERROR_COMPONENT] = _ERROR_SCHEMA
    for name, schema in components.items():
        # COMPONENT_SPLIT_REQUEST names the request side of each serializer `...Request`.
        if name.endswith("Request"):
            _text_input(schema, required=True)
    for path, methods in result.get("paths", {}).items():
        for method, operation in methods.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter.get("schema", {}).get("type") == "integer":
                    # Tenant logins (Django's users) are the one object with an integer id.
                    parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
                elif parameter["in"] == "path":
                    parameter["schema"] = {"type": "string", "format": "uuid"}
                else:
                    _text_input(parameter.get("schema", {}), required=True)
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            if body.get("type") == "array":
                # A list of rows: an empty one is refused, it would write nothing.
                body.setdefault("minItems", 1)
            responses = operation.setdefault("responses", {})
            for status in _error_statuses(path, method, operation):
                responses.setdefault(status, _error_response(status))
    return result

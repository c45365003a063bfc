"""Request bodies nested past the parser's depth limit are a 400 `invalid_json`, logged in one line."""

from __future__ import annotations

import logging

import pytest

from core.parsers import MAX_JSON_DEPTH
from tests.conftest import TenantHandle


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 3_000, 100_000])
def test_deeply_nested_json_answers_400_invalid_json_without_a_traceback(
    alpha: TenantHandle, depth: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    response = alpha.client().post("/api/auth/token", _nested(depth), content_type="application/json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid_json"
    assert str(MAX_JSON_DEPTH) in error["message"]
    assert [record for record in caplog.records if record.exc_info] == []
    assert len([record for record in caplog.records if record.levelno >= logging.WARNING]) <= 1


def test_objects_nested_past_the_limit_are_refused_and_within_it_parsed(alpha: TenantHandle) -> None:
    deep = '{"a":' * (MAX_JSON_DEPTH + 1) + "1" + "}" * (MAX_JSON_DEPTH + 1)
    response = alpha.client().post("/api/auth/token", deep, content_type="application/json")
    assert response.json()["error"]["code"] == "invalid_json"
    # Within the limit the body is parsed and answered by the view (unknown credentials, not a parse error).
    shallow = '{"username": "nobody", "password": "x", "extra": ' + _nested(MAX_JSON_DEPTH - 1) + "}"
    response = alpha.client().post("/api/auth/token", shallow, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] != "invalid_json"

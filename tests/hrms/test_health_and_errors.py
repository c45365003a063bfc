"""Probes and the one JSON error shape."""

from __future__ import annotations

from django.test import Client

from tests.conftest import TenantHandle


def test_healthz_answers_on_any_host_without_a_tenant(alpha: TenantHandle) -> None:
    for host in ("localhost", "alpha.localhost", "nobody.localhost"):
        response = Client(HTTP_HOST=host).get("/healthz")
        assert response.status_code == 200, host
        assert response.json() == {"status": "ok"}


def test_readyz_reports_each_dependency(alpha: TenantHandle) -> None:
    response = Client(HTTP_HOST="localhost").get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok", "broker": "ok"}


def test_readyz_answers_503_naming_what_is_down(alpha: TenantHandle, settings) -> None:
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = Client(HTTP_HOST="localhost").get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["broker"].startswith("down")
    assert body["checks"]["database"] == "ok"
    assert body["error"]["message"] == "Unavailable: broker."


def test_unknown_paths_answer_404_in_the_error_shape(alpha: TenantHandle) -> None:
    response = alpha.client().get("/api/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not found.", "fields": {}}}


def test_bad_input_answers_400_with_field_messages(alpha: TenantHandle) -> None:
    response = alpha.client().post("/api/auth/token", {"username": ""}, content_type="application/json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"username", "password"}


def test_malformed_json_answers_400_not_500(alpha: TenantHandle) -> None:
    response = alpha.client().post("/api/auth/token", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"


def test_unauthenticated_requests_answer_401(alpha: TenantHandle) -> None:
    response = alpha.client().get("/api/auth/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_the_openapi_schema_and_docs_are_served(alpha: TenantHandle) -> None:
    schema = alpha.client().get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/auth/token" in schema.content
    docs = Client(HTTP_HOST="localhost").get("/api/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()


def test_requests_are_served_from_postgresql_when_redis_is_down(alpha: TenantHandle, settings) -> None:
    from django.core.cache import caches

    broken = "redis://127.0.0.1:1/0"
    settings.CACHES = {name: {**config, "LOCATION": broken} for name, config in settings.CACHES.items()}
    caches["shared"].set("probe", 1)
    assert caches["shared"].get("probe") is None  # really talking to a dead Redis
    response = alpha.client().post(
        "/api/auth/token",
        {"username": "admin@alpha.test", "password": "correct-horse-battery"},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert Client(HTTP_HOST="localhost").get("/readyz").json()["checks"]["redis"].startswith("down")

"""The client address behind the reverse proxy: X-Forwarded-For counts only when our own proxy sent it."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory

from core.proxy import client_address

PROXY = "192.0.2.10"


def _address(remote_addr: str, forwarded_for: str | None = None) -> str:
    request = RequestFactory().get("/", REMOTE_ADDR=remote_addr)
    if forwarded_for is not None:
        request.META["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client_address(request)


def test_without_a_trusted_proxy_the_forwarded_header_is_ignored(settings) -> None:
    settings.TRUSTED_PROXY_NETWORKS = []
    assert _address("203.0.113.9", "127.0.0.1") == "203.0.113.9"
    assert _address(PROXY, "203.0.113.9") == PROXY


def test_behind_the_proxy_the_address_it_appended_is_the_client_and_what_the_client_wrote_is_not(settings) -> None:
    settings.TRUSTED_PROXY_NETWORKS = [f"{PROXY}/32"]
    assert _address(PROXY, "203.0.113.9") == "203.0.113.9"
    # The client sent "X-Forwarded-For: 127.0.0.1"; nginx appended the address it really came from.
    assert _address(PROXY, "127.0.0.1, 203.0.113.9") == "203.0.113.9"
    # A chain of our proxies (a load balancer in the trusted network before nginx) is walked from the right.
    settings.TRUSTED_PROXY_NETWORKS = ["192.0.2.0/24"]
    assert _address(PROXY, "127.0.0.1, 198.51.100.7, 192.0.2.20") == "198.51.100.7"


@pytest.mark.parametrize("forwarded_for", ["", "not-an-address", "203.0.113.9, garbage", f"{PROXY}"])
def test_a_missing_or_unusable_forwarded_header_leaves_the_proxy_as_the_client(settings, forwarded_for: str) -> None:
    settings.TRUSTED_PROXY_NETWORKS = [f"{PROXY}/32"]
    assert _address(PROXY, forwarded_for) == PROXY


def test_a_client_cannot_reach_metrics_by_claiming_a_loopback_address_through_the_proxy(db: None, settings) -> None:
    settings.TRUSTED_PROXY_NETWORKS = [f"{PROXY}/32"]
    settings.METRICS_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    spoofed = Client().get("/metrics", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="127.0.0.1, 203.0.113.9")
    assert spoofed.status_code == 403
    # Without a trusted proxy configured, the header cannot open it either.
    settings.TRUSTED_PROXY_NETWORKS = []
    assert Client().get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 403
    # With no proxy in between, the socket peer is the client, and the metrics network still opens it.
    assert Client().get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200

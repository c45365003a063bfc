"""The client's address behind the reverse proxy: X-Forwarded-For is believed only from TRUSTED_PROXY_NETWORKS.

In production nginx (deploy/nginx) accepts the connections and appends the address it saw to X-Forwarded-For;
gunicorn's socket peer (REMOTE_ADDR) is then nginx. Anything left of the entries our proxies appended is what
the client chose to send, so the address is the right-most entry that is not one of our proxies. With no trusted
proxy configured (the default) the header is ignored and the socket peer is the client.
"""

from __future__ import annotations

import ipaddress
from functools import cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@cache
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip())


def _address(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_address(request: HttpRequest) -> str:
    """The address of whoever opened the connection to the first of our proxies ("" when unknown)."""
    peer_text = str(request.META.get("REMOTE_ADDR", "") or "")
    trusted = _networks(tuple(getattr(settings, "TRUSTED_PROXY_NETWORKS", ())))
    peer = _address(peer_text)
    if peer is None:
        return ""
    if not any(peer in network for network in trusted):
        return peer_text
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR", "") or "")
    for entry in reversed([part for part in forwarded.split(",") if part.strip()]):
        address = _address(entry)
        if address is None:
            # Garbage in a position our own proxy vouches for: believe nothing further left.
            return peer_text
        if not any(address in network for network in trusted):
            return str(address)
    # Only our proxies in the chain (a health check from the proxy host itself, say).
    return peer_text

"""Which network addresses a Jira connection may reach, and the socket layer that connects to exactly the one checked.

A tenant admin chooses the Jira site's address, and web and worker processes then connect to it with stored
credentials: without a check that is a way into our own network (server-side request forgery). So every
connection the Jira client opens resolves the host once, refuses it if any of its addresses is loopback,
private, link-local (cloud metadata lives there), multicast, reserved, unspecified or otherwise not globally
routable (IPv4 addresses embedded in IPv6 forms are checked as well), and then connects to the address it
checked rather than resolving again, so a DNS answer that changes between the check and the connect
(rebinding) cannot slip through. TLS is still negotiated for the hostname (SNI and certificate checks), because
httpcore takes the server name from the URL, not from the socket.

`JIRA_ALLOW_PRIVATE_HOSTS` (development and tests only; production refuses to start with it) lets the local
Jira stand-in on 127.0.0.1 through. See docs/jira.md.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable

import httpcore

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# host, port -> the addresses it resolves to, as strings.
Resolver = Callable[[str, int], list[str]]

# Cloud metadata services (AWS, GCP, Azure on 169.254.169.254 and AWS's IPv6 one; Alibaba's in shared space).
# They fall in refused ranges anyway; named so the reason says what they are.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(value) for value in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
# NAT64's well-known prefix carries an IPv4 address in its last 32 bits.
NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")


class AddressRefused(Exception):
    """The site's host is, or resolves to, an address the Jira client may not connect to."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"{host}: {reason}")
        self.host = host
        self.reason = reason


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped, 6to4, NAT64), which is where packets really go."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64_PREFIX:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_refusal(value: str | IPAddress) -> str | None:
    """Why the Jira client may not connect to this address; None for a public, globally routable one."""
    address = ipaddress.ip_address(value) if isinstance(value, str) else value
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        inner = address_refusal(embedded)
        if inner is not None:
            return inner
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private:
        return "a private address"
    if address.is_reserved:
        return "a reserved address"
    if not address.is_global:
        return "an address that is not publicly routable"
    return None


def system_resolve(host: str, port: int) -> list[str]:
    """The addresses the system resolver gives for host:port (TCP), in its order, without repeats."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in found))


def addresses_for(host: str, port: int, *, allow_private: bool, resolve: Resolver = system_resolve) -> list[str]:
    """The addresses to connect to for host:port, all of them allowed, or AddressRefused.

    One refused address refuses the host: a name that mixes public and private answers is not a Jira site,
    and trying only the public ones would let the resolver's order decide what we reach.
    """
    try:
        literal: IPAddress | None = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    addresses = [str(literal)] if literal is not None else resolve(host, port)
    if not allow_private:
        for address in addresses:
            reason = address_refusal(_without_zone(address))
            if reason is not None:
                raise AddressRefused(host, f"resolves to {reason}")
    return addresses


def _without_zone(address: str) -> str:
    # fe80::1%eth0: the zone names an interface, the address before it is what is checked.
    return address.split("%", 1)[0]


class PinnedBackend(httpcore.NetworkBackend):
    """httpcore's synchronous network backend, connecting only to checked addresses and to nothing else.

    `connect_tcp` is the one place a socket is opened for the Jira client, so the check runs for every
    connection, including ones to a host a redirect or a paging link might name.
    """

    def __init__(self, *, allow_private: bool, resolve: Resolver = system_resolve) -> None:
        self._allow_private = allow_private
        self._resolve = resolve
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = addresses_for(host, port, allow_private=self._allow_private, resolve=self._resolve)
        except OSError as exc:  # the name does not resolve: as unreachable as a closed port
            raise httpcore.ConnectError(str(exc)) from exc
        error: Exception = httpcore.ConnectError(f"{host} has no addresses")
        for address in addresses:
            try:
                # An IP literal: the inner backend opens the socket without resolving anything again.
                return self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None
    ) -> httpcore.NetworkStream:
        raise AddressRefused(path, "a local socket")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)

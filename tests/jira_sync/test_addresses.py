"""Where the Jira client may connect: public addresses only (checked on every connection), https in production,
and errors that never carry what the remote side said."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pytest_django.fixtures import Settings as SettingsWrapper

from jira_sync import client as client_module
from jira_sync.addresses import AddressRefused, address_refusal, addresses_for
from jira_sync.client import JiraClient, JiraError, JiraSiteRefused, JiraUnavailable, PinnedTransport
from tests.support.internal_service import SECRET_BODY, closed_port, hang_up_port, internal_service
from tests.support.jira_standin import (
    DEFAULT_EMAIL,
    DEFAULT_TOKEN,
    JiraStandin,
    jira_standin_fixture,  # noqa: F401 - provides the `jira_standin` fixture
)


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "BACKOFF_SECONDS", 0.01)


@pytest.fixture
def public_only(settings: SettingsWrapper) -> SettingsWrapper:
    """Production's policy: the development switch for the local stand-in is off."""
    settings.JIRA_ALLOW_PRIVATE_HOSTS = False
    return settings


def _client(site_url: str, **options: object) -> JiraClient:
    return JiraClient(site_url=site_url, email=DEFAULT_EMAIL, api_token=DEFAULT_TOKEN, max_retries=0, **options)  # type: ignore[arg-type]


# --- the address policy --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "169.254.1.1",
        "100.64.0.1",
        "100.100.100.200",
        "0.0.0.0",  # noqa: S104 - an address under test, not a bind
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.2.10",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd00:ec2::254",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::a9fe:a9fe",
        "2002:7f00:1::1",
        "2001:db8::1",
    ],
)
def test_loopback_private_link_local_multicast_reserved_and_metadata_addresses_are_refused(address: str) -> None:
    assert address_refusal(address) is not None


@pytest.mark.parametrize("address", ["104.192.136.1", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert address_refusal(address) is None


def test_a_hostname_that_resolves_to_loopback_is_refused() -> None:
    with pytest.raises(AddressRefused):
        addresses_for("localhost", 443, allow_private=False)


def test_a_hostname_with_one_private_address_among_public_ones_is_refused() -> None:
    def resolve(host: str, port: int) -> list[str]:
        return ["104.192.136.1", "10.0.0.5"]

    with pytest.raises(AddressRefused):
        addresses_for("jira.example.test", 443, allow_private=False, resolve=resolve)
    assert addresses_for("jira.example.test", 443, allow_private=True, resolve=resolve) == [
        "104.192.136.1",
        "10.0.0.5",
    ]


# --- the client ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "10.0.0.1", "169.254.169.254", "2130706433"])
def test_the_client_refuses_a_private_site_without_sending_anything(
    public_only: SettingsWrapper, jira_standin: JiraStandin, host: str
) -> None:
    port = urlsplit(jira_standin.url).port
    with _client(f"http://{host}:{port}") as client, pytest.raises(JiraError) as refused:
        client.myself()
    assert jira_standin.requests == []
    assert isinstance(refused.value, JiraSiteRefused)
    assert refused.value.status is None


def test_with_the_development_setting_on_the_local_stand_in_is_reachable(
    settings: SettingsWrapper, jira_standin: JiraStandin
) -> None:
    settings.JIRA_ALLOW_PRIVATE_HOSTS = True
    jira_standin.add_user("acct-1", email=DEFAULT_EMAIL)
    with _client(jira_standin.url) as client:
        assert client.myself().account_id
    assert len(jira_standin.requests) == 1


def test_the_client_connects_to_the_address_it_checked_and_keeps_the_hostname(settings: SettingsWrapper) -> None:
    """One lookup per connection, and the socket goes to that answer: a second lookup (DNS rebinding) never
    happens. The Host header (and, over https, SNI and certificate checks) still name the site."""
    lookups: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    myself = {"Content-Type": "application/json"}
    with internal_service(status=200, body='{"accountId": "acct-1"}', headers=myself) as service:
        site = f"http://jira.example.test:{service.port}"
        settings.JIRA_ALLOW_PRIVATE_HOSTS = True
        with _client(site, resolve=resolve) as client:
            assert client.myself().account_id == "acct-1"
        assert lookups == ["jira.example.test"]
        assert service.hosts == [f"jira.example.test:{service.port}"]

        settings.JIRA_ALLOW_PRIVATE_HOSTS = False
        with _client(site, resolve=resolve) as client, pytest.raises(JiraSiteRefused):
            client.myself()
        assert len(service.requests) == 1


def test_an_http_site_is_refused_when_https_is_required(settings: SettingsWrapper, jira_standin: JiraStandin) -> None:
    settings.JIRA_REQUIRE_HTTPS = True
    with _client(jira_standin.url) as client, pytest.raises(JiraError) as refused:
        client.myself()
    assert isinstance(refused.value, JiraSiteRefused)
    assert jira_standin.requests == []


def test_a_redirect_is_not_followed_and_its_body_is_not_shown() -> None:
    with internal_service() as target:
        location = {"Location": f"{target.url}/secret", "Content-Type": "text/plain"}
        with internal_service(status=302, headers=location) as site:
            with _client(site.url) as client, pytest.raises(JiraError) as failure:
                client.myself()
            assert site.requests == ["GET /rest/api/3/myself"]
        assert target.requests == []
    assert "302" in failure.value.message
    assert SECRET_BODY not in failure.value.message
    assert "/secret" not in failure.value.message


@pytest.mark.parametrize("status", [400, 404, 401, 500])
@pytest.mark.parametrize(
    "body",
    [SECRET_BODY, f'{{"errorMessages": ["{SECRET_BODY}"], "errors": {{"x": "{SECRET_BODY}"}}}}'],
)
def test_an_error_answer_names_its_status_never_its_body(status: int, body: str) -> None:
    with (
        internal_service(status=status, body=body) as service,
        _client(service.url) as client,
        pytest.raises(JiraError) as failure,
    ):
        client.myself()
    assert str(status) in failure.value.message
    assert SECRET_BODY not in failure.value.message
    assert SECRET_BODY not in str(failure.value)


def test_a_malformed_answer_does_not_echo_its_values() -> None:
    body = f'{{"issues": [{{"id": "1", "key": "A-1", "fields": {{"updated": "{SECRET_BODY}"}}}}]}}'
    headers = {"Content-Type": "application/json"}
    with (
        internal_service(status=200, body=body, headers=headers) as service,
        _client(service.url) as client,
        pytest.raises(JiraError) as failure,
    ):
        client.issues_search("project = A")
    assert SECRET_BODY not in failure.value.message


def test_a_closed_port_and_a_port_that_hangs_up_fail_with_the_same_words() -> None:
    with (
        hang_up_port() as open_port,
        _client(f"http://127.0.0.1:{open_port}") as client,
        pytest.raises(JiraUnavailable) as hung_up,
    ):
        client.myself()
    with _client(f"http://127.0.0.1:{closed_port()}") as client, pytest.raises(JiraUnavailable) as refused:
        client.myself()
    assert hung_up.value.message == refused.value.message == "Could not reach the Jira site."


def test_a_next_page_link_to_another_site_is_refused_without_naming_it(jira_standin: JiraStandin) -> None:
    with _client(jira_standin.url) as client, pytest.raises(JiraError) as refused:
        client._same_site("https://evil.example/rest/api/3/worklog/updated?since=5")
    assert "evil.example" not in refused.value.message


def _certificate(hostname: str, directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for `hostname` and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def test_over_https_the_pinned_connection_still_checks_the_certificate_against_the_hostname(tmp_path: Path) -> None:
    """The socket goes to the checked IP, but SNI names the site and the certificate must be the site's."""
    cert_path, key_path = _certificate("jira.example.test", tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert_path, key_path)
    sni_names: list[str | None] = []

    def record_sni(sock: ssl.SSLObject, name: str | None, context: ssl.SSLContext) -> None:
        sni_names.append(name)

    server_context.sni_callback = record_sni
    trusted = ssl.create_default_context(cafile=str(cert_path))
    myself = {"Content-Type": "application/json"}

    def resolve(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    def pinned() -> PinnedTransport:
        return PinnedTransport(allow_private=True, resolve=resolve, verify=trusted)

    with internal_service(status=200, body='{"accountId": "acct-1"}', headers=myself) as service:
        service.serve_tls(server_context)
        site = f"https://jira.example.test:{service.port}"
        with _client(site, transport=pinned()) as client:
            assert client.myself().account_id == "acct-1"
        assert sni_names == ["jira.example.test"]

        other = f"https://other.example.test:{service.port}"
        with _client(other, transport=pinned()) as client, pytest.raises(JiraUnavailable):
            client.myself()
        assert service.requests == ["GET /rest/api/3/myself"]

"""A real OpenID Connect provider on 127.0.0.1 for tests, benchmarks and `make run` (test support, not production
code), built on Authlib's authorization server: the authorization code flow with PKCE, client authentication,
RS256-signed ID tokens, discovery and a key set.

The sign-in page asks for an e-mail address (no password) and signs in whichever user the test registered with
that address. Tests can make it misbehave the ways a client must refuse: `id_token_overrides` replaces claims of
the next ID tokens (another `iss` or `aud`, an `exp` in the past, another `nonce`), `broken` makes discovery
answer 500.

As a pytest fixture::

    from tests.support.oidc_provider import oidc_provider_fixture  # noqa: F401 - provides `oidc_provider`

As a script (for `make run`; see docs/operations.md)::

    .venv/bin/python -m tests.support.oidc_provider --port 8090 --demo-tenant demo
"""

from __future__ import annotations

import argparse
import html
import json
import os
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

# Authlib refuses plain-http OAuth requests unless told otherwise; this provider only ever listens on loopback.
os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")

from authlib.oauth2 import OAuth2Request
from authlib.oauth2.rfc6749 import AuthorizationServer, ClientMixin, OAuth2Error
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from joserfc.jwk import RSAKey

DEFAULT_CLIENT_ID = "hrms-standin"
DEFAULT_CLIENT_SECRET = "standin-oidc-client-secret-0123456789"


@dataclass
class Client(ClientMixin):  # type: ignore[misc]
    client_id: str
    client_secret: str
    # Exact redirect URIs; empty accepts any http(s) URI ending in /sso/callback (the stand-in serves every tenant).
    redirect_uris: list[str] = field(default_factory=list)

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(part for part in (scope or "").split() if part in ("openid", "email", "profile"))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        if self.redirect_uris:
            return redirect_uri in self.redirect_uris
        return redirect_uri.startswith(("http://", "https://")) and redirect_uri.endswith("/sso/callback")

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class User:
    sub: str
    email: str
    claims: dict[str, Any] = field(default_factory=dict)


@dataclass
class AuthorizationCode:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: User
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int
    expires_at: float

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None

    def is_expired(self) -> bool:
        return time.time() > self.expires_at


class _Request(OAuth2Request):  # type: ignore[misc]
    def __init__(self, method: str, uri: str, headers: dict[str, str], query: dict[str, str], form: dict[str, str]):
        super().__init__(method, uri, headers=headers)
        self._args, self._form = query, form
        self.payload = BasicOAuth2Payload({**query, **form})

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


class _Server(AuthorizationServer):  # type: ignore[misc]
    def __init__(self, provider: OidcProvider) -> None:
        super().__init__(scopes_supported=["openid", "email", "profile"])
        self.provider = provider
        self.register_token_generator("default", BearerTokenGenerator(lambda *a, **k: secrets.token_urlsafe(32)))

    def query_client(self, client_id: str) -> Client | None:
        return self.provider.clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        self.provider.tokens_issued += 1

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        return request if isinstance(request, OAuth2Request) else request.oauth2_request()

    def handle_response(self, status: int, body: Any, headers: Any) -> tuple[int, Any, list[tuple[str, str]]]:
        return status, body, list(headers)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None


class _CodeGrant(AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def save_authorization_code(self, code: str, request: Any) -> None:
        data = request.payload.data
        self.server.provider.codes[code] = AuthorizationCode(
            code=code,
            client_id=request.client.get_client_id(),
            redirect_uri=request.payload.redirect_uri,
            scope=request.payload.scope,
            user=request.user,
            nonce=data.get("nonce"),
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
            auth_time=int(time.time()),
            expires_at=time.time() + 300,
        )

    def query_authorization_code(self, code: str, client: Client) -> AuthorizationCode | None:
        found: AuthorizationCode | None = self.server.provider.codes.get(code)
        if found is not None and found.client_id == client.get_client_id() and not found.is_expired():
            return found
        return None

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        self.server.provider.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code: AuthorizationCode) -> User:
        return authorization_code.user


class _OpenIDCode(OpenIDCode):  # type: ignore[misc]
    def __init__(self, provider: OidcProvider) -> None:
        super().__init__(require_nonce=True)
        self.provider = provider

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        return False

    def resolve_client_private_key(self, client: Client) -> RSAKey:
        return self.provider.key

    def get_encode_header(self, client: Client) -> dict[str, str]:
        return {"alg": "RS256", "kid": str(self.provider.key.kid)}

    def get_client_algorithm(self, client: Client) -> str:
        return "RS256"

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        return {"iss": self.provider.issuer, "aud": [client.get_client_id()], "exp": int(time.time()) + 600}

    def generate_user_info(self, user: User, scope: str) -> UserInfo:
        info = UserInfo(sub=user.sub, email=user.email, email_verified=True, **user.claims)
        # Applied last, so they replace what Authlib put in the ID token (iss, aud, exp, nonce, ...).
        overrides = dict(self.provider.id_token_overrides)
        if "exp" in overrides:
            overrides["exp"] = int(time.time()) + int(overrides["exp"])
        info.update(overrides)
        return info


class OidcProvider:
    """The provider and its in-memory clients, users and codes, served by a thread of the calling process."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": secrets.token_hex(8), "use": "sig", "alg": "RS256"})
        self.clients: dict[str, Client] = {}
        self.users: dict[str, User] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.id_token_overrides: dict[str, Any] = {}
        self.broken = False
        self.tokens_issued = 0
        self.server = _Server(self)
        self.server.register_grant(_CodeGrant, [_OpenIDCode(self), CodeChallenge(required=False)])
        self._httpd = ThreadingHTTPServer((host, port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.provider = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="oidc-provider", daemon=True)

    @property
    def issuer(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> OidcProvider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def add_client(
        self,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        redirect_uris: list[str] | None = None,
    ) -> Client:
        client = Client(client_id=client_id, client_secret=client_secret, redirect_uris=list(redirect_uris or []))
        self.clients[client_id] = client
        return client

    def add_user(self, email: str, **claims: Any) -> User:
        user = User(sub=claims.pop("sub", secrets.token_hex(8)), email=email, claims=claims)
        self.users[email.lower()] = user
        return user

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
        }


def _sign_in_page(query: str, error: str = "") -> str:
    alert = f'<p role="alert">{html.escape(error)}</p>' if error else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Stand-in identity provider</title></head>
<body><main><h1>Stand-in identity provider</h1>{alert}
<form method="post" action="/authorize?{html.escape(query)}">
<label for="email">E-mail</label> <input id="email" name="email" type="email" autocomplete="username" required>
<button type="submit">Sign in</button></form></main></body></html>"""


class _Handler(BaseHTTPRequestHandler):
    server_version = "oidc-standin"

    @property
    def provider(self) -> OidcProvider:
        return self.server.provider  # type: ignore[attr-defined, no-any-return]

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _send(self, status: int, body: Any, headers: list[tuple[str, str]] | None = None) -> None:
        headers = list(headers or [])
        if isinstance(body, dict | list):
            data = json.dumps(body).encode()
            headers.append(("Content-Type", "application/json"))
        else:
            data = str(body or "").encode()
            if not any(name.lower() == "content-type" for name, _ in headers):
                headers.append(("Content-Type", "text/html; charset=utf-8"))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _oauth2_request(self, form: dict[str, str]) -> _Request:
        parts = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        headers = {key: value for key, value in self.headers.items()}
        return _Request(self.command, self.provider.issuer + self.path, headers, query, form)

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        provider = self.provider
        if provider.broken:
            self._send(500, {"error": "server_error"})
        elif path == "/.well-known/openid-configuration":
            self._send(200, provider.discovery())
        elif path == "/jwks":
            self._send(200, {"keys": [provider.key.as_dict(private=False)]})
        elif path == "/authorize":
            request = self._oauth2_request({})
            try:
                provider.server.get_consent_grant(request)
            except OAuth2Error as error:
                self._send(400, {"error": error.error, "error_description": error.description})
                return
            self._send(200, _sign_in_page(urlsplit(self.path).query))
        else:
            self._send(404, {"error": "not_found"})

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        form = {key: values[0] for key, values in parse_qs(raw).items()}
        provider = self.provider
        request = self._oauth2_request(form)
        if path == "/token":
            self._send(*provider.server.create_token_response(request))
        elif path == "/authorize":
            user = provider.users.get(form.get("email", "").strip().lower())
            if user is None:
                self._send(200, _sign_in_page(urlsplit(self.path).query, "No such user at this provider."))
                return
            try:
                grant = provider.server.get_consent_grant(request, end_user=user)
            except OAuth2Error as error:
                self._send(400, {"error": error.error, "error_description": error.description})
                return
            self._send(*provider.server.create_authorization_response(request, grant_user=user, grant=grant))
        else:
            self._send(404, {"error": "not_found"})


@pytest.fixture(name="oidc_provider")
def oidc_provider_fixture() -> Iterator[OidcProvider]:
    provider = OidcProvider().start()
    provider.add_client()
    try:
        yield provider
    finally:
        provider.stop()


def _demo_configure(provider: OidcProvider, tenant_slug: str) -> None:
    """Point the demo tenant's single sign-on at this provider, with a user per demo login. Problems are printed,
    never fatal: the provider keeps serving so `make run` is not stopped by it."""
    try:
        _demo_configure_tenant(provider, tenant_slug)
    except Exception as exc:  # a demo helper reports and keeps serving
        print(f"oidc-provider: could not set up the demo tenant: {type(exc).__name__}: {exc}", flush=True)


def _demo_configure_tenant(provider: OidcProvider, tenant_slug: str) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hrms.settings")
    django.setup()
    from django.contrib.auth.models import User as DjangoUser
    from django_tenants.utils import tenant_context

    from accounts.services.sso import SsoSettings, sso_provider_configure
    from audit.services import SYSTEM
    from tenants.models import Tenant

    tenant = Tenant.objects.get(slug=tenant_slug)
    with tenant_context(tenant):
        for login in DjangoUser.objects.filter(is_active=True).exclude(email=""):
            roles = list(login.groups.values_list("name", flat=True))
            provider.add_user(login.email, hrms_role=roles[0] if roles else "Employee")
        domains = sorted({email.rsplit("@", 1)[1].lower() for email in provider.users if "@" in email})
        sso_provider_configure(
            actor=SYSTEM,
            values=SsoSettings(
                display_name="Stand-in provider",
                issuer=provider.issuer,
                client_id=DEFAULT_CLIENT_ID,
                client_secret=DEFAULT_CLIENT_SECRET,
                allowed_domains=domains or ["example.com"],
                role_claim="hrms_role",
                default_role="Employee",
                enabled=True,
                require_sso=False,
            ),
        )
    print(f"oidc-provider: {provider.issuer} signs in the {len(provider.users)} logins of {tenant_slug}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description="Run the local OpenID Connect provider.")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--demo-tenant", default="", help="Configure this tenant's single sign-on to use it.")
    args = parser.parse_args()
    try:
        provider = OidcProvider(port=args.port).start()
    except OSError:
        if not args.demo_tenant:
            raise
        provider = OidcProvider(port=0).start()  # the usual port is taken; the tenant is configured with this one
    provider.add_client()
    if args.demo_tenant:
        _demo_configure(provider, args.demo_tenant)
    else:
        print(f"oidc-provider: {provider.issuer} (client {DEFAULT_CLIENT_ID})", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        provider.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

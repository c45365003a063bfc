"""The one door to a tenant's OpenID Connect provider: discovery, the authorization request, the code exchange and
the ID token's checks (signature, issuer, audience, expiry, nonce), built on Authlib and joserfc.

Nothing here reads the database or the session: callers pass the provider's settings and what the login started
with, and get back verified claims or one of two errors. `SsoUnavailable` means the provider could not be used
(unreachable, broken discovery document, failed code exchange); `SsoRejected` means it answered and the answer
is not trusted. Neither error's message ever contains the client secret or a token.
"""

from __future__ import annotations

import base64
import functools
import secrets
import time
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import quote

import httpx
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from django.conf import settings
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    InvalidKeyIdError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from core.ttlcache import TtlCache

SCOPES = "openid email profile"
# Clock skew tolerated between this server and the provider when checking `exp` and `iat`.
LEEWAY_SECONDS = 60
_SIGNING_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]


class SsoUnavailable(Exception):
    """The provider could not be used; the message says why in words an Admin can act on."""


class SsoRejected(Exception):
    """The provider's answer is not trusted. `reason` is a short machine word for the audit event."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks: dict[str, Any]
    algorithms: list[str]


@dataclass(frozen=True)
class AuthorizationRequest:
    url: str
    state: str
    nonce: str
    code_verifier: str


# Discovery documents and key sets change rarely; an unknown key id refreshes them at once.
_metadata: TtlCache[str, ProviderMetadata] = TtlCache("sso-provider-metadata", maxsize=1024, ttl=300)
_problems: TtlCache[str, str] = TtlCache("sso-provider-problems", maxsize=1024, ttl=30)


def _timeout() -> float:
    return float(getattr(settings, "SSO_HTTP_TIMEOUT_SECONDS", 5.0))


@functools.cache
def _http() -> httpx.Client:
    """One client per process (made on first use, after gunicorn forks): building one loads the CA bundle, about
    20 ms, and its pool keeps connections to the providers open between sign-ins. httpx clients are thread-safe."""
    return httpx.Client(follow_redirects=False, trust_env=False)


def issuer_problem(issuer: str) -> str | None:
    """Why an issuer URL is not acceptable, or None."""
    if issuer.startswith("https://"):
        return None
    if issuer.startswith("http://") and not getattr(settings, "SSO_REQUIRE_HTTPS", False):
        return None
    return "The issuer must be an https:// URL."


def _get_json(url: str, what: str) -> dict[str, Any]:
    try:
        response = _http().get(url, timeout=_timeout())
    except httpx.HTTPError as exc:
        raise SsoUnavailable(f"The sign-in provider could not be reached ({type(exc).__name__}).") from exc
    if response.status_code != 200:
        raise SsoUnavailable(f"The sign-in provider's {what} answered HTTP {response.status_code}.")
    try:
        body = response.json()
    except ValueError as exc:
        raise SsoUnavailable(f"The sign-in provider's {what} is not JSON.") from exc
    if not isinstance(body, dict):
        raise SsoUnavailable(f"The sign-in provider's {what} is not a JSON object.")
    return body


def _discover(issuer: str) -> ProviderMetadata:
    problem = issuer_problem(issuer)
    if problem:
        raise SsoUnavailable(problem)
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    document = _get_json(url, "discovery document")
    # OpenID Connect Discovery 1.0 §4.3: the document must name exactly the issuer it was fetched for.
    if document.get("issuer") != issuer:
        raise SsoUnavailable("The sign-in provider's discovery document names another issuer.")
    endpoints = {}
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        value = document.get(name)
        if not isinstance(value, str) or not value:
            raise SsoUnavailable(f"The sign-in provider's discovery document has no {name}.")
        endpoints[name] = value
    jwks = _get_json(endpoints["jwks_uri"], "key set")
    offered = document.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = [alg for alg in offered if alg in _SIGNING_ALGORITHMS]
    if not algorithms:
        raise SsoUnavailable("The sign-in provider signs ID tokens with no algorithm this product accepts.")
    return ProviderMetadata(
        issuer=issuer,
        authorization_endpoint=endpoints["authorization_endpoint"],
        token_endpoint=endpoints["token_endpoint"],
        jwks=jwks,
        algorithms=algorithms,
    )


def provider_metadata(issuer: str, *, refresh: bool = False) -> ProviderMetadata:
    """The provider's endpoints and signing keys, from its discovery document (cached for a few minutes)."""
    if refresh:
        _metadata.pop(issuer)
    return _metadata.get_or_put(issuer, lambda: _discover(issuer))


def provider_forget(issuer: str) -> None:
    """Forget a provider's cached discovery document and problem (after its configuration changed)."""
    _metadata.pop(issuer)
    _problems.pop(issuer)


def provider_problem(issuer: str) -> str | None:
    """Why the provider cannot be used right now, or None. A failure is remembered briefly, so a provider that is
    down costs one timeout per half minute, not one per login page."""
    known = _problems.get(issuer)
    if known is not None:
        return known or None
    try:
        provider_metadata(issuer)
    except SsoUnavailable as exc:
        _problems.put(issuer, str(exc))
        return str(exc)
    return None


def authorization_request(*, issuer: str, client_id: str, redirect_uri: str) -> AuthorizationRequest:
    """Where to send the browser, with a fresh state, nonce and PKCE verifier to keep until the callback."""
    metadata = provider_metadata(issuer)
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    code_verifier = secrets.token_urlsafe(48)
    url = add_params_to_uri(
        metadata.authorization_endpoint,
        [
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("scope", SCOPES),
            ("state", state),
            ("nonce", nonce),
            ("code_challenge", create_s256_code_challenge(code_verifier)),
            ("code_challenge_method", "S256"),
        ],
    )
    return AuthorizationRequest(url=url, state=state, nonce=nonce, code_verifier=code_verifier)


def _claim_rejection(exc: ClaimError) -> SsoRejected:
    claim = getattr(exc, "claim", "")
    if isinstance(exc, ExpiredTokenError) or claim == "exp":
        return SsoRejected("expired", "The sign-in provider's ID token has expired.")
    if claim == "iss":
        return SsoRejected("issuer", "The ID token was issued by another provider than the one configured.")
    if claim in ("aud", "azp"):
        return SsoRejected("audience", "The ID token was issued for another application.")
    if claim == "nonce":
        return SsoRejected("nonce", "The ID token does not belong to this sign-in attempt.")
    if isinstance(exc, MissingClaimError):
        return SsoRejected("claims", f"The ID token has no '{claim}' claim.")
    return SsoRejected("claims", f"The ID token's '{claim}' claim is not valid.")


def _decode(id_token: str, metadata: ProviderMetadata) -> Any:
    registry = JWSRegistry(algorithms=metadata.algorithms)
    return jwt.decode(id_token, KeySet.import_key_set(cast(Any, metadata.jwks)), registry=registry)


def code_exchange(
    *,
    issuer: str,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    code: str,
    code_verifier: str,
    nonce: str,
    now: float | None = None,
) -> dict[str, Any]:
    """The verified claims of the ID token the provider returns for this authorization code."""
    metadata = provider_metadata(issuer)
    # client_secret_basic (RFC 6749 §2.3.1): both parts form-encoded before they are joined.
    credentials = base64.b64encode(f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}".encode()).decode()
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    form["code_verifier"] = code_verifier
    try:
        response = _http().post(
            metadata.token_endpoint,
            data=form,
            headers={"Authorization": f"Basic {credentials}", "Accept": "application/json"},
            timeout=_timeout(),
        )
    except httpx.HTTPError as exc:
        raise SsoUnavailable(f"The sign-in provider could not be reached ({type(exc).__name__}).") from exc
    try:
        token = response.json()
    except ValueError as exc:
        raise SsoUnavailable(f"The sign-in provider's token answer (HTTP {response.status_code}) is not JSON.") from exc
    if response.status_code != 200 or not isinstance(token, dict):
        # The provider's error code (e.g. invalid_grant) only: its description may echo what was sent.
        error = token.get("error") if isinstance(token, dict) else None
        shown = error if isinstance(error, str) and error.isascii() and len(error) < 60 else "no error code"
        raise SsoUnavailable(f"The sign-in provider refused the code exchange (HTTP {response.status_code}, {shown}).")
    id_token = token.get("id_token")
    if not isinstance(id_token, str) or not id_token:
        raise SsoRejected("claims", "The sign-in provider returned no ID token.")
    try:
        try:
            decoded = _decode(id_token, metadata)
        except InvalidKeyIdError:
            metadata = provider_metadata(issuer, refresh=True)
            decoded = _decode(id_token, metadata)
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            options={"iss": {"essential": True, "value": issuer}, "aud": {"essential": True, "value": client_id}},
            params={"nonce": nonce, "client_id": client_id, "access_token": token.get("access_token")},
        )
        claims.validate(now=int(now if now is not None else time.time()), leeway=LEEWAY_SECONDS)
    except ClaimError as exc:
        raise _claim_rejection(exc) from exc
    except BadSignatureError as exc:
        raise SsoRejected("signature", "The ID token's signature does not match the provider's keys.") from exc
    except JoseError as exc:
        raise SsoRejected("token", f"The ID token could not be read ({type(exc).__name__}).") from exc
    return dict(claims)

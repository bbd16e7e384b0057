"""OpenID Connect relying party: authorization code flow with PKCE (S256), state, nonce.

Discovery and JWKS come from the issuer (``/.well-known/openid-configuration``); the
discovered ``issuer`` must equal the configured one exactly. ID tokens are verified with
``joserfc``: signature against the issuer's JWKS (refetched when an unknown ``kid``
appears, i.e. key rotation, at most once per ``JWKS_REFRESH`` seconds), ``alg`` pinned to
the configured asymmetric algorithms (``none`` and HMAC are never accepted), and ``iss``,
``aud`` (+ ``azp``), ``exp``, ``iat``, ``nonce`` checked with a small leeway.

The back-channel (discovery, token and JWKS requests) goes only to the configured issuer's
endpoints, with timeouts; nothing here ever logs a code, token or secret.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from tutela.policy import OidcProvider

TIMEOUT = 5.0
JWKS_REFRESH = 30.0
DISCOVERY_TTL = 3600.0
MAX_RESPONSE = 1024 * 1024


class OidcError(Exception):
    """A refusal; the message is safe to show and audit (no token or code in it)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpResult:
    status: int
    body: bytes


Fetch = Callable[[str, bytes | None, dict[str, str]], Awaitable[HttpResult]]


def _blocking_fetch(url: str, data: bytes | None, headers: dict[str, str]) -> HttpResult:
    if not url.startswith(("https://", "http://")):
        raise OidcError("identity provider endpoint is not an http(s) URL")
    request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310 - scheme checked
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            return HttpResult(status=response.status, body=response.read(MAX_RESPONSE))
    except urllib.error.HTTPError as exc:
        body = exc.read(MAX_RESPONSE)
        exc.close()
        return HttpResult(status=exc.code, body=body)
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise OidcError(f"identity provider unreachable ({type(exc).__name__})") from None


async def http_fetch(url: str, data: bytes | None, headers: dict[str, str]) -> HttpResult:
    return await asyncio.to_thread(_blocking_fetch, url, data, headers)


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge) per RFC 7636."""
    verifier = base64.urlsafe_b64encode(_random(32)).rstrip(b"=").decode("ascii")
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest())
        .rstrip(b"=")
        .decode("ascii")
    )
    return verifier, challenge


def _random(size: int) -> bytes:
    import os

    return os.urandom(size)


def random_token() -> str:
    return base64.urlsafe_b64encode(_random(32)).rstrip(b"=").decode("ascii")


def _json(result: HttpResult, what: str) -> dict[str, Any]:
    if result.status != 200:
        raise OidcError(f"identity provider refused the {what} request (HTTP {result.status})")
    try:
        data = json.loads(result.body)
    except ValueError:
        raise OidcError(f"identity provider sent a {what} response that is not JSON") from None
    if not isinstance(data, dict):
        raise OidcError(f"identity provider sent a malformed {what} response")
    return data


def _kid(token: str) -> str | None:
    try:
        header_b64 = token.split(".", 1)[0]
        header = json.loads(base64.urlsafe_b64decode(header_b64 + "=" * (-len(header_b64) % 4)))
    except (ValueError, IndexError):
        raise OidcError("the ID token is malformed") from None
    if not isinstance(header, dict):
        raise OidcError("the ID token is malformed")
    kid = header.get("kid")
    return kid if isinstance(kid, str) else None


class OidcClient:
    def __init__(
        self,
        name: str,
        settings: OidcProvider,
        *,
        redirect_uri: str,
        client_secret: str,
        fetch: Fetch = http_fetch,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self.settings = settings
        self.redirect_uri = redirect_uri
        self._client_secret = client_secret
        self._fetch = fetch
        self._clock = clock
        self._discovery: dict[str, Any] | None = None
        self._discovered_at = 0.0
        self._keys: KeySet | None = None
        self._forced_at = -1e18  # the last refetch an unknown kid caused

    async def discovery(self) -> dict[str, Any]:
        now = time.monotonic()
        if self._discovery is None or now - self._discovered_at > DISCOVERY_TTL:
            url = self.settings.issuer + "/.well-known/openid-configuration"
            document = _json(
                await self._fetch(url, None, {"accept": "application/json"}), "discovery"
            )
            if document.get("issuer", "").rstrip("/") != self.settings.issuer:
                raise OidcError("the discovery document names a different issuer")
            for endpoint in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(document.get(endpoint), str):
                    raise OidcError(f"the discovery document has no {endpoint}")
            self._discovery, self._discovered_at = document, now
        return self._discovery

    async def _keyset(self, *, refresh: bool = False) -> KeySet:
        now = time.monotonic()
        forced = refresh and now - self._forced_at >= JWKS_REFRESH
        if self._keys is None or forced:
            if forced:
                self._forced_at = now
            document = await self.discovery()
            data = _json(await self._fetch(document["jwks_uri"], None, {}), "JWKS")
            try:
                self._keys = KeySet.import_key_set(data)  # type: ignore[arg-type]
            except (JoseError, ValueError, TypeError, KeyError):
                raise OidcError("the identity provider's JWKS is malformed") from None
        return self._keys

    async def authorization_url(
        self, *, state: str, nonce: str, code_challenge: str, redirect_uri: str | None = None
    ) -> str:
        document = await self.discovery()
        query = urllib.parse.urlencode(
            {
                "response_type": "code",
                "client_id": self.settings.client_id,
                "redirect_uri": redirect_uri or self.redirect_uri,
                "scope": " ".join(self.settings.scopes),
                "state": state,
                "nonce": nonce,
                "code_challenge": code_challenge,
                "code_challenge_method": "S256",
            }
        )
        endpoint: str = document["authorization_endpoint"]
        return endpoint + ("&" if "?" in endpoint else "?") + query

    async def exchange_code(
        self, code: str, code_verifier: str, redirect_uri: str | None = None
    ) -> str:
        """Redeem the code at the token endpoint; returns the ID token."""
        document = await self.discovery()
        form = urllib.parse.urlencode(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri or self.redirect_uri,
                "code_verifier": code_verifier,
                "client_id": self.settings.client_id,
            }
        ).encode()
        basic = base64.b64encode(
            (
                urllib.parse.quote(self.settings.client_id, safe="")
                + ":"
                + urllib.parse.quote(self._client_secret, safe="")
            ).encode()
        ).decode()
        headers = {
            "content-type": "application/x-www-form-urlencoded",
            "accept": "application/json",
            "authorization": f"Basic {basic}",
        }
        data = _json(await self._fetch(document["token_endpoint"], form, headers), "token")
        id_token = data.get("id_token")
        if not isinstance(id_token, str):
            raise OidcError("the token response has no ID token")
        return id_token

    async def verify_id_token(self, id_token: str, *, nonce: str) -> dict[str, Any]:
        """The ID token's claims after every check, or OidcError."""
        kid = _kid(id_token)
        keys = await self._keyset()
        if kid is not None and not _has_kid(keys, kid):
            keys = await self._keyset(refresh=True)  # the IdP may have rotated its keys
        try:
            token = jwt.decode(id_token, keys, algorithms=list(self.settings.algorithms))
        except JoseError as exc:
            raise OidcError(f"the ID token's signature does not verify ({exc.error})") from None
        claims = token.claims
        registry = jwt.JWTClaimsRegistry(
            now=lambda: int(self._clock()),
            leeway=self.settings.clock_skew_seconds,
            iss={"essential": True, "value": self.settings.issuer},
            aud={"essential": True, "value": self.settings.client_id},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise OidcError(f"the ID token was refused: {exc.description or exc.error}") from None
        audience = claims.get("aud")
        several = isinstance(audience, list) and len(audience) > 1
        if several and claims.get("azp") != self.settings.client_id:
            raise OidcError("the ID token names several audiences and another azp")
        return dict(claims)


def _has_kid(keys: KeySet, kid: str) -> bool:
    try:
        keys.get_by_kid(kid)
    except (ValueError, KeyError, JoseError):
        return False
    return True

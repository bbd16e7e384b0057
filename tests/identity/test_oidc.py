"""ID token verification refuses every forged or misdirected token, and follows key rotation."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey

from tutela.identity.oidc import HttpResult, OidcClient, OidcError, pkce_pair
from tutela.policy import OidcProvider

ISSUER = "https://idp.example.com"


class FakeIdp:
    def __init__(self) -> None:
        self.keys = [RSAKey.generate_key(2048, parameters={"kid": "k1"})]
        self.jwks_fetches = 0

    def jwks(self) -> dict[str, Any]:
        return KeySet(self.keys).as_dict(private=False)  # type: ignore[arg-type]

    async def fetch(self, url: str, data: bytes | None, headers: dict[str, str]) -> HttpResult:
        if url.endswith("/.well-known/openid-configuration"):
            doc = {
                "issuer": ISSUER,
                "authorization_endpoint": ISSUER + "/auth",
                "token_endpoint": ISSUER + "/token",
                "jwks_uri": ISSUER + "/jwks",
            }
            return HttpResult(status=200, body=json.dumps(doc).encode())
        if url.endswith("/jwks"):
            self.jwks_fetches += 1
            return HttpResult(status=200, body=json.dumps(self.jwks()).encode())
        return HttpResult(status=404, body=b"")

    def token(self, key: Any = None, alg: str = "RS256", **overrides: Any) -> str:
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": "tutela", "sub": "u1", "iat": now, "exp": now + 300,
                  "nonce": "n1", "email": "a@example.com"}
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        signer = key or self.keys[0]
        header = {"alg": alg, "kid": signer.kid} if signer.kid else {"alg": alg}
        return jwt.encode(header, claims, signer, algorithms=[alg])


def client(idp: FakeIdp) -> OidcClient:
    settings = OidcProvider(issuer=ISSUER, client_id="tutela")
    return OidcClient("corp", settings, redirect_uri="https://t/cb", client_secret="s",
                      fetch=idp.fetch)


async def test_a_good_token_verifies() -> None:
    idp = FakeIdp()
    claims = await client(idp).verify_id_token(idp.token(), nonce="n1")
    assert claims["sub"] == "u1"


def _none_token() -> str:
    def b64(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    now = int(time.time())
    payload = {"iss": ISSUER, "aud": "tutela", "sub": "u1", "iat": now, "exp": now + 300,
               "nonce": "n1"}
    return f"{b64({'alg': 'none'})}.{b64(payload)}."


@pytest.mark.parametrize(
    ("case", "make"),
    [
        ("wrong issuer", lambda idp: idp.token(iss="https://evil.example.com")),
        ("wrong audience", lambda idp: idp.token(aud="someone-else")),
        ("expired", lambda idp: idp.token(exp=int(time.time()) - 3600, iat=int(time.time()) - 7200)),
        ("no expiry", lambda idp: idp.token(exp=None)),
        ("nonce mismatch", lambda idp: idp.token(nonce="other")),
        ("no nonce", lambda idp: idp.token(nonce=None)),
        ("bad signature", lambda idp: idp.token(key=RSAKey.generate_key(2048, parameters={"kid": "k1"}))),
        ("alg none", lambda idp: _none_token()),
        ("HS256 keyed with anything", lambda idp: idp.token(key=OctKey.generate_key(256, parameters={"kid": "k1"}), alg="HS256")),
        ("another audience's azp", lambda idp: idp.token(aud=["tutela", "other"], azp="other")),
        ("not a JWT", lambda idp: "garbage"),
    ],
)
async def test_forged_or_misdirected_tokens_are_refused(case: str, make: Any) -> None:
    idp = FakeIdp()
    with pytest.raises(OidcError):
        await client(idp).verify_id_token(make(idp), nonce="n1")


async def test_a_rotated_signing_key_is_fetched_once_then_cached() -> None:
    idp = FakeIdp()
    rp = client(idp)
    await rp.verify_id_token(idp.token(), nonce="n1")
    assert idp.jwks_fetches == 1
    idp.keys.append(RSAKey.generate_key(2048, parameters={"kid": "k2"}))
    new = idp.token(key=idp.keys[1])
    assert (await rp.verify_id_token(new, nonce="n1"))["sub"] == "u1"
    assert idp.jwks_fetches == 2
    await rp.verify_id_token(new, nonce="n1")
    assert idp.jwks_fetches == 2  # cached again
    # an unknown kid cannot force a refetch storm
    stranger = RSAKey.generate_key(2048, parameters={"kid": "k9"})
    for _ in range(3):
        with pytest.raises(OidcError):
            await rp.verify_id_token(idp.token(key=stranger), nonce="n1")
    assert idp.jwks_fetches == 2


async def test_a_discovery_document_for_another_issuer_is_refused() -> None:
    idp = FakeIdp()

    async def lying(url: str, data: bytes | None, headers: dict[str, str]) -> HttpResult:
        result = await idp.fetch(url, data, headers)
        if "openid-configuration" in url:
            doc = json.loads(result.body)
            doc["issuer"] = "https://evil.example.com"
            return HttpResult(status=200, body=json.dumps(doc).encode())
        return result

    rp = OidcClient("corp", OidcProvider(issuer=ISSUER, client_id="tutela"),
                    redirect_uri="https://t/cb", client_secret="s", fetch=lying)
    with pytest.raises(OidcError, match="different issuer"):
        await rp.authorization_url(state="s", nonce="n", code_challenge="c")


def test_pkce_pair_is_s256() -> None:
    import hashlib

    verifier, challenge = pkce_pair()
    assert 43 <= len(verifier) <= 128
    digest = hashlib.sha256(verifier.encode()).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == challenge


@pytest.mark.parametrize("issuer", ["http://idp.example.com", "ftp://x"])
def test_issuers_must_be_https_except_loopback(issuer: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        OidcProvider(issuer=issuer, client_id="c")
    assert OidcProvider(issuer="http://127.0.0.1:9", client_id="c").issuer


def test_symmetric_or_none_algorithms_cannot_be_configured() -> None:
    from pydantic import ValidationError

    for algs in (["none"], ["HS256"], []):
        with pytest.raises(ValidationError):
            OidcProvider(issuer=ISSUER, client_id="c", algorithms=algs)  # type: ignore[arg-type]

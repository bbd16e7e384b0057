"""SAML sign-in against a real pysaml2 IdP (``saml2.server``), through the admin app.

The IdP signs with its own key; tutela reads its metadata from a file, and the IdP reads
tutela's SP metadata from tutela's metadata endpoint. Each negative case builds a response
the way an attacker or a broken IdP would and checks that it is refused and audited.
"""

from __future__ import annotations

import base64
import datetime as dt
import shutil
import urllib.parse
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from tutela.admin.app import AdminApp
from tutela.gateway import Gateway
from tutela.policy import parse_policy
from tutela.store.database import Store
from tutela.testing.asgi import AsgiResponse, call
from tutela.testing.audit import identity_view
from tutela.testing.sso import saml_idp_config, saml_keypair

pytestmark = pytest.mark.skipif(shutil.which("xmlsec1") is None, reason="xmlsec1 is not installed")

with warnings.catch_warnings():
    # pysaml2's IdP side imports a cipher mode that cryptography has moved (a deprecation
    # notice about pysaml2's encryption helpers, which these tests do not use).
    warnings.simplefilter("ignore")
    from saml2 import BINDING_HTTP_REDIRECT
    from saml2.config import IdPConfig
    from saml2.metadata import entity_descriptor
    from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NameID
    from saml2.server import Server

BASE = "http://tutela.test"
ACS = f"{BASE}/sso/saml/corp/acs"
SP_ENTITY = f"{BASE}/sso/saml/corp/metadata"
MFA = "https://refeds.org/profile/mfa"
PASSWORD = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"


def keypair(folder: Path, name: str) -> tuple[str, str]:
    return saml_keypair(folder, name)


def idp_config(folder: Path, key: str, cert: str, sp_metadata: str | list[str] | None,
               lifetime_minutes: int = 5) -> IdPConfig:
    config: IdPConfig = saml_idp_config(key, cert, sp_metadata, lifetime_minutes)
    return config


@dataclass
class World:
    app: AdminApp
    gateway: Gateway
    store: Store
    idp: Server
    folder: Path
    key: str
    cert: str

    async def start(self) -> str:
        """Begin a sign-in at tutela; returns the request id the IdP received."""
        response = await call(self.app, "GET", "/sso/saml/corp/login")
        assert response.status == 302, response.body
        location = response.headers["location"]
        assert location.startswith("https://idp.test/sso?")
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
        request = self.idp.parse_authn_request(query["SAMLRequest"], BINDING_HTTP_REDIRECT)
        return str(request.message.id)

    def response(self, request_id: str | None, *, email: str = "ada@example.com",
                 groups: tuple[str, ...] = ("sec-admins",), context: str = MFA,
                 sign_assertion: bool = True, sign_response: bool = True,
                 audience: str = SP_ENTITY, destination: str = ACS, idp: Server | None = None) -> str:
        server = idp or self.idp
        xml = server.create_authn_response(
            identity={"email": [email], "groups": list(groups)},
            in_response_to=request_id,
            destination=destination,
            sp_entity_id=audience,
            name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=email),
            authn={"class_ref": context, "authn_auth": "https://idp.test"},
            sign_assertion=sign_assertion,
            sign_response=sign_response,
        )
        return base64.b64encode(str(xml).encode()).decode()

    async def post(self, saml_response: str) -> AsgiResponse:
        body = urllib.parse.urlencode({"SAMLResponse": saml_response}).encode()
        return await call(self.app, "POST", "/sso/saml/corp/acs", body=body,
                          headers=[(b"content-type", b"application/x-www-form-urlencoded")])

    def failures(self) -> list[str]:
        return [identity_view(r)["reason"] for r in self.store.audit_events("auth.login")
                if r["outcome"] == "failure"]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    idp_key, idp_cert = keypair(tmp_path, "idp")
    idp_metadata = tmp_path / "idp.xml"
    idp_metadata.write_text(str(entity_descriptor(idp_config(tmp_path, idp_key, idp_cert, None))))
    policy = parse_policy(f"""
identity:
  public_url: {BASE}
  sessions: {{cookie_secure: false}}
sso:
  saml:
    corp:
      idp_metadata_file: {idp_metadata}
  role_mapping:
    default:
      groups: {{eng: analyst, sec-admins: admin}}
""")
    store = Store(f"sqlite:///{tmp_path / 'saml.db'}")
    store.migrate()
    store.create_workspace("default")
    gateway = Gateway(policy, store)
    await gateway.start()
    app = AdminApp(gateway)
    metadata = await call(app, "GET", "/sso/saml/corp/metadata")
    assert metadata.status == 200 and b"AssertionConsumerService" in metadata.body
    sp_metadata = tmp_path / "sp.xml"
    sp_metadata.write_bytes(metadata.body)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        idp = Server(config=idp_config(tmp_path, idp_key, idp_cert, str(sp_metadata)))
    try:
        yield World(app, gateway, store, idp, tmp_path, idp_key, idp_cert)
    finally:
        await gateway.stop()
        store.close()


async def test_sp_metadata_names_the_acs_and_wants_signed_assertions(world: World) -> None:
    body = (await call(world.app, "GET", "/sso/saml/corp/metadata")).body.decode()
    assert ACS in body and SP_ENTITY in body and 'WantAssertionsSigned="true"' in body


async def test_a_signed_mfa_assertion_signs_in_with_mapped_roles(world: World) -> None:
    request_id = await world.start()
    response = await world.post(world.response(request_id))
    assert response.status == 200, response.body
    result = orjson.loads(response.body)
    assert result["signed_in"] == "ada@example.com" and result["workspaces"] == {"default": "admin"}
    assert "tutela_session=" in response.headers["set-cookie"]
    [event] = [identity_view(r) for r in world.store.audit_events("auth.login")]
    assert event["provider"] == "saml:corp" and event["mfa"] is True


async def test_replay_is_refused(world: World) -> None:
    request_id = await world.start()
    saml_response = world.response(request_id)
    assert (await world.post(saml_response)).status == 200
    again = await world.post(saml_response)
    assert again.status == 403 and b"sign-in refused" in again.body


async def test_replay_cache_refuses_an_assertion_seen_before(world: World) -> None:
    from tutela.identity.saml import SamlError, service_provider
    from tutela.store.identity import IdentityStore

    request_id = await world.start()
    saml_response = world.response(request_id)
    sp = service_provider(world.gateway, "corp", BASE)
    identity = IdentityStore(world.store)
    assertion, _ = sp.accept(saml_response, identity)
    assert assertion.email == "ada@example.com"
    # even if the request id were pending again, the assertion id is remembered
    identity.put_nonce("saml:" + request_id, "saml", "corp",
                       dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5))
    with pytest.raises(SamlError, match="already used"):
        sp.accept(saml_response, identity)


@pytest.mark.parametrize(
    ("case", "kwargs", "reason"),
    [
        ("unsigned", {"sign_assertion": False, "sign_response": False}, ""),
        ("signed response, unsigned assertion", {"sign_assertion": False}, ""),
        ("another audience", {"audience": "https://other.example/sp"}, ""),
        ("another recipient", {"destination": "https://evil.example/acs"}, ""),
        ("no MFA", {"context": PASSWORD}, "multi-factor"),
        ("unsolicited", {"request_id": None}, ""),
        ("unknown request", {"request_id": "id-never-sent"}, ""),
    ],
)
async def test_bad_responses_are_refused_and_audited(
    world: World, case: str, kwargs: dict[str, Any], reason: str
) -> None:
    request_id = await world.start()
    if "request_id" in kwargs:
        request_id = kwargs.pop("request_id")
    if kwargs.get("audience"):
        # the IdP must know the other SP to address it: add it to the IdP's metadata
        other = world.folder / "other.xml"
        other.write_text((world.folder / "sp.xml").read_text().replace(SP_ENTITY, kwargs["audience"]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            conf = idp_config(world.folder, world.key, world.cert,
                              [str(world.folder / "sp.xml"), str(other)])
            kwargs["idp"] = Server(config=conf)
    response = await world.post(world.response(request_id, **kwargs))
    assert response.status == 403, (case, response.body)
    assert b"tutela_session" not in response.headers.get("set-cookie", "").encode()
    failures = world.failures()
    assert failures, case
    if reason:
        assert reason in failures[-1]


async def test_an_expired_assertion_is_refused(world: World) -> None:
    request_id = await world.start()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        stale = Server(config=idp_config(world.folder, world.key, world.cert,
                                         str(world.folder / "sp.xml"), lifetime_minutes=-10))
    response = await world.post(world.response(request_id, idp=stale))
    assert response.status == 403
    assert world.failures()


async def test_a_response_signed_by_another_key_is_refused(world: World) -> None:
    request_id = await world.start()
    key, cert = keypair(world.folder, "rogue")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        rogue = Server(config=idp_config(world.folder, key, cert, str(world.folder / "sp.xml")))
    response = await world.post(world.response(request_id, idp=rogue))
    assert response.status == 403


async def test_signature_wrapping_cannot_smuggle_another_identity(world: World) -> None:
    """XSW: keep the genuinely signed assertion (for ada) but add an unsigned copy naming
    mallory as the owner, placed first so a naive parser would read it."""
    import re

    request_id = await world.start()
    genuine = base64.b64decode(world.response(request_id, sign_response=False)).decode()
    opening = re.search(r"<(\w+):Assertion\b", genuine)
    assert opening is not None
    prefix = opening.group(1)
    close = f"</{prefix}:Assertion>"
    begin, finish = opening.start(), genuine.index(close) + len(close)
    signed = genuine[begin:finish]
    evil = re.sub(r"<(\w+):Signature\b.*?</\1:Signature>", "", signed, flags=re.S)
    evil = re.sub(r'ID="([^"]+)"', r'ID="_evil\1"', evil, count=1)
    evil = evil.replace("ada@example.com", "mallory@example.com")
    assert evil != signed and "Signature" not in evil
    forged_xml = genuine[:begin] + evil + genuine[begin:]
    forged = base64.b64encode(forged_xml.encode()).decode()
    response = await world.post(forged)
    assert response.status == 403, response.body
    assert b"mallory" not in response.body or b"refused" in response.body
    assert world.store.audit_events("user.created") == []
    assert world.failures()


"""SAML sign-in end to end: a real ``tutela serve`` and pysaml2's IdP side, over HTTP."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import urllib.parse
from pathlib import Path

import pytest

from tutela.testing.process import GatewayProcess
from tutela.testing.sso import (
    Browser,
    saml_idp,
    saml_idp_config,
    saml_idp_metadata,
    saml_keypair,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group("e2e-saml"),
    pytest.mark.skipif(shutil.which("xmlsec1") is None, reason="xmlsec1 is not installed"),
]

MFA = "https://refeds.org/profile/mfa"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_saml_sign_in_through_a_real_gateway_and_its_replay(tmp_path: Path) -> None:
    from saml2 import BINDING_HTTP_REDIRECT
    from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NameID

    key, cert = saml_keypair(tmp_path, "idp")
    idp_metadata = tmp_path / "idp.xml"
    idp_metadata.write_text(saml_idp_metadata(saml_idp_config(key, cert, None)))
    port = _free_port()
    admin = f"http://127.0.0.1:{port}"
    policy = f"""
identity:
  public_url: {admin}
  sessions: {{cookie_secure: false}}
sso:
  saml:
    corp: {{idp_metadata_file: {idp_metadata}}}
  role_mapping:
    default: {{groups: {{sec-admins: admin}}}}
"""
    with GatewayProcess(tmp_path / "gw", config_text=policy,
                        extra_args=["--admin-port", str(port)]) as gw:
        browser = Browser()
        metadata = browser.request(admin + "/sso/saml/corp/metadata")
        assert metadata.status == 200
        sp_metadata = tmp_path / "sp.xml"
        sp_metadata.write_bytes(metadata.body)
        idp = saml_idp(saml_idp_config(key, cert, str(sp_metadata)))
        start = browser.request(admin + "/sso/saml/corp/login")
        assert start.status == 302
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(start.location).query))
        request = idp.parse_authn_request(query["SAMLRequest"], BINDING_HTTP_REDIRECT)  # type: ignore[attr-defined]
        xml = idp.create_authn_response(  # type: ignore[attr-defined]
            identity={"email": ["ada@example.com"], "groups": ["sec-admins"]},
            in_response_to=request.message.id,
            destination=f"{admin}/sso/saml/corp/acs",
            sp_entity_id=f"{admin}/sso/saml/corp/metadata",
            name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text="ada@example.com"),
            authn={"class_ref": MFA, "authn_auth": "https://idp.test"},
            sign_assertion=True,
            sign_response=True,
        )
        saml_response = base64.b64encode(str(xml).encode()).decode()
        page = browser.post_form(admin + "/sso/saml/corp/acs", {"SAMLResponse": saml_response})
        assert page.status == 200, page.body
        result = json.loads(page.body)
        assert result["signed_in"] == "ada@example.com"
        assert result["workspaces"] == {"default": "admin"}
        me = json.loads(browser.request(admin + "/admin/v1/me").body)
        assert me["provider"] == "saml:corp" and me["workspaces"] == {"default": "admin"}
        replay = Browser().post_form(admin + "/sso/saml/corp/acs", {"SAMLResponse": saml_response})
        assert replay.status == 403 and b"replayed or unsolicited" in replay.body
        logs = gw.stderr_text()
    assert saml_response not in logs and saml_response[:200] not in logs

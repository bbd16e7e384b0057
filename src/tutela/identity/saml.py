"""SAML 2.0 service provider, on ``pysaml2`` (signatures checked by ``xmlsec1``).

What a response must satisfy before anyone is signed in:
- the assertion is signed by the IdP's certificate from its metadata (the response too,
  with ``want_response_signed``); pysaml2 verifies the signed node by its ID, which is what
  defeats XML signature wrapping, and we accept exactly one assertion;
- it answers a request this deployment sent (``InResponseTo``, single use, shared by all
  replicas through the database); unsolicited responses are refused;
- ``Destination`` and the subject confirmation ``Recipient`` are our ACS URL; the
  ``AudienceRestriction`` names our entity id (and must be present);
- ``NotBefore``/``NotOnOrAfter`` hold within ``clock_skew_seconds``;
- the assertion id was never accepted before (the replay cache);
- with ``require_mfa``, ``AuthnContextClassRef`` is one of ``mfa_contexts``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutela.identity.sign_in import Assertion
from tutela.policy import SamlProvider
from tutela.store.database import utcnow
from tutela.store.identity import IdentityStore

if TYPE_CHECKING:
    from tutela.gateway import Gateway

log = logging.getLogger("tutela.identity")

MAX_RESPONSE = 256 * 1024


class SamlError(Exception):
    """A refusal; the reason is safe to show and audit (never the assertion itself)."""

    def __init__(self, reason: str, actor: str = "unknown") -> None:
        super().__init__(reason)
        self.actor = actor


class _Outstanding(Mapping[str, str]):
    """pysaml2's "outstanding queries", read from the shared database (not consumed here)."""

    def __init__(self, identity: IdentityStore) -> None:
        self.identity = identity

    def __getitem__(self, request_id: str) -> str:
        data = self.identity.peek_nonce("saml:" + str(request_id), "saml")
        if data is None:
            raise KeyError(request_id)
        return data

    def __contains__(self, request_id: object) -> bool:
        try:
            self[str(request_id)]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 1  # never "empty": pysaml2 must consult us


class ServiceProvider:
    def __init__(self, name: str, settings: SamlProvider, base_url: str) -> None:
        from saml2 import BINDING_HTTP_POST
        from saml2.client import Saml2Client
        from saml2.config import SPConfig

        self.name = name
        self.settings = settings
        self.acs_url = f"{base_url}/sso/saml/{name}/acs"
        self.entity_id = settings.sp_entity_id or f"{base_url}/sso/saml/{name}/metadata"
        xmlsec = shutil.which("xmlsec1")
        if xmlsec is None:
            raise SamlError("xmlsec1 is not installed; SAML sign-in cannot verify signatures")
        if not Path(settings.idp_metadata_file).is_file():
            raise SamlError(f"IdP metadata file {settings.idp_metadata_file!r} is missing")
        config: dict[str, Any] = {
            "entityid": self.entity_id,
            "xmlsec_binary": xmlsec,
            "metadata": {"local": [settings.idp_metadata_file]},
            "accepted_time_diff": settings.clock_skew_seconds,
            "allow_unknown_attributes": True,
            "service": {
                "sp": {
                    "endpoints": {
                        "assertion_consumer_service": [(self.acs_url, BINDING_HTTP_POST)]
                    },
                    "want_assertions_signed": True,
                    "want_response_signed": settings.want_response_signed,
                    "allow_unsolicited": False,
                    "authn_requests_signed": bool(settings.sp_key_file),
                    "only_use_keys_in_metadata": True,
                }
            },
        }
        if settings.sp_key_file and settings.sp_cert_file:
            config["key_file"] = settings.sp_key_file
            config["cert_file"] = settings.sp_cert_file
        sp_config = SPConfig()
        sp_config.load(config)
        self.client = Saml2Client(config=sp_config)
        idps = list(self.client.metadata.identity_providers())
        if len(idps) != 1:
            raise SamlError(f"the IdP metadata must describe exactly one IdP (found {len(idps)})")
        self.idp_entity_id: str = idps[0]

    def metadata(self) -> bytes:
        from saml2.metadata import entity_descriptor

        return str(entity_descriptor(self.client.config)).encode("utf-8")

    def login_redirect(self) -> tuple[str, str]:
        """(request id, the IdP URL to send the browser to)."""
        from saml2 import BINDING_HTTP_REDIRECT

        request_id, info = self.client.prepare_for_authenticate(
            entityid=self.idp_entity_id, binding=BINDING_HTTP_REDIRECT
        )
        location = dict(info["headers"])["Location"]
        return str(request_id), str(location)

    def accept(self, saml_response: str, identity: IdentityStore) -> tuple[Assertion, str]:
        """Verify a posted ``SAMLResponse``; returns what it asserts and the data stored
        with the sign-in it answers, or raises SamlError."""
        from saml2 import BINDING_HTTP_POST
        from saml2.response import StatusError, UnsolicitedResponse
        from saml2.sigver import SignatureError
        from saml2.validate import ResponseLifetimeExceed, ToEarly

        if not saml_response or len(saml_response) > MAX_RESPONSE:
            raise SamlError("no SAML response, or one too large")
        try:
            base64.b64decode(saml_response, validate=True)
        except (binascii.Error, ValueError):
            raise SamlError("the SAML response is not base64") from None
        try:
            response = self.client.parse_authn_request_response(
                saml_response, BINDING_HTTP_POST, outstanding=_Outstanding(identity)
            )
        except UnsolicitedResponse:
            raise SamlError(
                "the response answers no pending sign-in (replayed or unsolicited)"
            ) from None
        except (ResponseLifetimeExceed, ToEarly):
            raise SamlError("the assertion is outside its validity window") from None
        except SignatureError:
            raise SamlError("the SAML signature does not verify") from None
        except StatusError as exc:
            raise SamlError(f"the IdP reported an error ({type(exc).__name__})") from None
        except Exception as exc:  # pysaml2 raises many types; every one is a refusal
            log.info("SAML response refused", extra={"error": type(exc).__name__})
            raise SamlError(f"the SAML response was refused ({type(exc).__name__})") from None
        if response is None or response.assertion is None:
            raise SamlError("the SAML response carries no valid assertion")
        assertions = getattr(response.response, "assertion", None) or []
        if len(assertions) != 1 or getattr(response.response, "encrypted_assertion", None):
            raise SamlError("the SAML response must carry exactly one assertion")
        assertion = response.assertion
        if not self._audience_is_us(assertion):
            raise SamlError("the assertion is for another audience")
        request_id = str(response.in_response_to or "")
        pending = identity.take_nonce("saml:" + request_id, "saml") if request_id else None
        if pending is None:
            raise SamlError("the response answers no pending sign-in (replayed or unsolicited)")
        expires = utcnow() + dt.timedelta(hours=24)
        conditions = assertion.conditions
        if conditions is not None and conditions.not_on_or_after:
            import calendar

            from saml2.time_util import str_to_time

            try:
                stamp = calendar.timegm(str_to_time(conditions.not_on_or_after))
                expires = dt.datetime.fromtimestamp(stamp, dt.UTC) + dt.timedelta(
                    seconds=self.settings.clock_skew_seconds
                )
            except (ValueError, TypeError):
                pass
        if not identity.put_nonce(
            f"saml-seen:{self.name}:{assertion.id}", "saml-seen", "", expires
        ):
            raise SamlError("this assertion was already used (replay)")
        ava: dict[str, list[str]] = response.ava or {}
        email = _first(ava.get(self.settings.email_attribute))
        name_id = response.name_id.text if response.name_id is not None else ""
        if not email and name_id and "@" in name_id:
            email = name_id
        if not email:
            raise SamlError("the assertion carries no email attribute")
        contexts = tuple(str(info[0]) for info in response.authn_info() if info and info[0])
        mfa = bool(set(contexts) & set(self.settings.mfa_contexts))
        if self.settings.require_mfa and not mfa:
            raise SamlError(
                "multi-factor authentication is required; the IdP reported "
                f"AuthnContextClassRef {list(contexts)}. Sign in again with MFA.",
                actor=email.lower(),
            )
        assertion_out = Assertion(
            provider=f"saml:{self.name}",
            subject=name_id or email,
            email=email,
            name=_first(ava.get("displayName")) or "",
            groups=tuple(str(g) for g in ava.get(self.settings.groups_attribute, [])),
            amr=contexts,
            mfa=mfa,
        )
        return assertion_out, pending

    def _audience_is_us(self, assertion: Any) -> bool:
        conditions = assertion.conditions
        if conditions is None or not conditions.audience_restriction:
            return False
        return all(
            any(a.text and a.text.strip() == self.entity_id for a in r.audience or [])
            for r in conditions.audience_restriction
        )


def _first(values: list[str] | None) -> str:
    return str(values[0]) if values else ""


def service_provider(gateway: Gateway, name: str, base_url: str) -> ServiceProvider:
    from tutela.admin.http import HttpError

    settings = gateway.policy.sso.saml.get(name)
    if settings is None:
        raise HttpError(404, "not_found", f"no SAML provider named {name!r}")
    cache_key = f"saml:{name}:{base_url}"  # base_url is public_url, or a loopback Host
    cached = gateway.sso_clients.get(cache_key)
    if isinstance(cached, ServiceProvider):
        return cached
    try:
        sp = ServiceProvider(name, settings, base_url)
    except SamlError as exc:
        raise HttpError(503, "not_configured", f"SAML provider {name!r}: {exc}") from None
    gateway.sso_clients[cache_key] = sp
    return sp

"""Helpers for sign-in tests: a cookie-keeping HTTP ``Browser`` that follows no redirect by
itself, and ``NodeOidcProvider``, which runs a real ``oidc-provider`` (npm) from a folder
holding its ``package.json`` and ``provider.mjs``."""

from __future__ import annotations

import http.cookiejar
import os
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType


@dataclass(slots=True)
class Page:
    status: int
    headers: dict[str, str]
    body: bytes
    cookies: list[str] = field(default_factory=list)  # every Set-Cookie value

    @property
    def location(self) -> str:
        return self.headers.get("location", "")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class Browser:
    """Keeps cookies per host like a browser; ``follow`` walks redirects until ``stop``
    (a URL prefix) is reached or a non-redirect answer comes."""

    def __init__(self) -> None:
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect()
        )

    def request(
        self,
        url: str,
        *,
        method: str = "GET",
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Page:
        request = urllib.request.Request(url, data=data, method=method, headers=headers or {})  # noqa: S310
        try:
            response = self.opener.open(request, timeout=15)
        except urllib.error.HTTPError as exc:
            response = exc
        with response:
            body = response.read()
            return Page(
                status=response.status if hasattr(response, "status") else response.code,
                headers={k.lower(): v for k, v in response.headers.items()},
                body=body,
                cookies=response.headers.get_all("set-cookie") or [],
            )

    def follow(self, url: str, *, stop: str = "", limit: int = 20) -> tuple[str, Page]:
        page = self.request(url)
        for _ in range(limit):
            if page.status not in (301, 302, 303, 307, 308):
                break
            url = urllib.parse.urljoin(url, page.location)
            if stop and url.startswith(stop):
                break
            page = self.request(url)
        return url, page

    def post_form(self, url: str, fields: dict[str, str]) -> Page:
        return self.request(
            url,
            method="POST",
            data=urllib.parse.urlencode(fields).encode(),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )


def node_unavailable() -> str | None:
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed: the OIDC tests need node and npm for oidc-provider"
    return None


def npm_install(folder: Path) -> None:
    """``npm ci`` once (pinned by the folder's package-lock.json). A file lock keeps test
    workers from installing into the same folder at once; a finished install leaves a
    marker, so a half-done one is redone."""
    import fcntl

    marker = folder / "node_modules" / ".tutela-installed"
    with (folder / ".npm-install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists():
            return
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--silent"],  # noqa: S607
            cwd=folder,
            check=True,
            timeout=600,
            capture_output=True,
        )
        marker.touch()


class NodeOidcProvider:
    """``with NodeOidcProvider(folder, client_id=..., ...) as idp:`` — ``idp.issuer``."""

    def __init__(self, folder: Path, *, client_id: str, client_secret: str, redirect_uri: str) -> None:
        self.folder = folder
        self.env = {
            **os.environ,
            "CLIENT_ID": client_id,
            "CLIENT_SECRET": client_secret,
            "REDIRECT_URI": redirect_uri,
        }
        self.process: subprocess.Popen[str] | None = None
        self.issuer = ""
        self.output: list[str] = []

    def __enter__(self) -> NodeOidcProvider:
        npm_install(self.folder)
        self.process = subprocess.Popen(
            ["node", "provider.mjs"],  # noqa: S607
            cwd=self.folder,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        ready = threading.Event()

        def read() -> None:
            assert self.process is not None and self.process.stdout is not None
            for line in self.process.stdout:
                self.output.append(line)
                if line.startswith("READY "):
                    self.issuer = line.split()[1]
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        deadline = time.monotonic() + 30
        while not ready.wait(0.05):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError("oidc-provider did not start:\n" + "".join(self.output))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()


# -- SAML: a pysaml2 identity provider (saml2.server) for sign-in tests --------------------

SAML_IDP_ENTITY = "https://idp.test/metadata"
SAML_IDP_SSO = "https://idp.test/sso"


def saml_keypair(folder: Path, name: str) -> tuple[str, str]:
    """A fresh RSA key and self-signed certificate (PEM files); returns their paths."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = folder / f"{name}.key", folder / f"{name}.crt"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(key_path), str(cert_path)


def saml_idp_config(
    key: str, cert: str, sp_metadata: str | list[str] | None, lifetime_minutes: int = 5
) -> object:
    """A pysaml2 ``IdPConfig`` signing with ``key``/``cert`` and knowing those SPs."""
    import warnings

    with warnings.catch_warnings():
        # pysaml2's IdP side imports a cipher mode that cryptography has moved (a notice
        # about pysaml2's encryption helpers, which these tests do not use).
        warnings.simplefilter("ignore")
        from saml2 import BINDING_HTTP_REDIRECT
        from saml2.config import IdPConfig
        from saml2.saml import NAMEID_FORMAT_EMAILADDRESS

    if isinstance(sp_metadata, str):
        sp_metadata = [sp_metadata]
    config = IdPConfig()
    config.load(
        {
            "entityid": SAML_IDP_ENTITY,
            "xmlsec_binary": shutil.which("xmlsec1"),
            "service": {
                "idp": {
                    "endpoints": {
                        "single_sign_on_service": [(SAML_IDP_SSO, BINDING_HTTP_REDIRECT)]
                    },
                    "policy": {
                        "default": {
                            "lifetime": {"minutes": lifetime_minutes},
                            "attribute_restrictions": None,
                        }
                    },
                    "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                }
            },
            "key_file": key,
            "cert_file": cert,
            "metadata": {"local": sp_metadata} if sp_metadata else {},
        }
    )
    return config


def saml_idp_metadata(config: object) -> str:
    from saml2.metadata import entity_descriptor

    return str(entity_descriptor(config))


def saml_idp(config: object) -> object:
    """A ``saml2.server.Server`` (the IdP) for ``config``."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from saml2.server import Server

        return Server(config=config)

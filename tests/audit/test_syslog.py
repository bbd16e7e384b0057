"""Syslog export to a real rsyslog (Debian's package, started here) over TCP and TLS:
every event arrives, in RFC 5424 with octet counting, and parses back to the same event."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import socket
import subprocess
import time
from pathlib import Path

import orjson
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tutela.audit.chain import Signer
from tutela.audit.events import Actor, ApiRequest, Authentication
from tutela.audit.export import build_sink
from tutela.audit.export.base import Exporter
from tutela.policy import ExporterSettings
from tutela.store.database import Store
from tutela.testing.siem import parse_cef, parse_rfc5424

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path(RSYSLOGD).exists(), reason="rsyslogd is not installed (make test installs it)"
    ),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _certificate(directory: Path) -> Path:
    """A self-signed CA certificate for 127.0.0.1 / localhost; returns its path."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (directory / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return directory / "cert.pem"


class Rsyslog:
    def __init__(self, directory: Path, tls: bool) -> None:
        self.directory = directory
        self.port = _free_port()
        self.out = directory / "received.log"
        self.ca = _certificate(directory) if tls else None
        driver = (
            f'global(DefaultNetstreamDriverCAFile="{directory}/cert.pem" '
            f'DefaultNetstreamDriverCertFile="{directory}/cert.pem" '
            f'DefaultNetstreamDriverKeyFile="{directory}/key.pem")\n'
            'module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" '
            'StreamDriver.AuthMode="anon")\n'
            if tls
            else 'module(load="imtcp")\n'
        )
        config = directory / "rsyslog.conf"
        config.write_text(
            f'global(workDirectory="{directory}" maxMessageSize="256k")\n'
            + driver
            + f'input(type="imtcp" port="{self.port}")\n'
            'template(name="raw" type="string" string="%rawmsg%\\n")\n'
            f'action(type="omfile" file="{self.out}" template="raw")\n'
        )
        self.process = subprocess.Popen(
            [RSYSLOGD, "-n", "-f", str(config), "-i", str(directory / "rsyslog.pid")],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.05)
        self.stop()
        check = subprocess.run(
            [RSYSLOGD, "-N1", "-f", str(config)], capture_output=True, text=True, check=False
        )
        pytest.fail(f"rsyslogd did not start: {check.stdout} {check.stderr}")

    def lines(self, expected: int, timeout: float = 10) -> list[bytes]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.out.exists():
                lines = self.out.read_bytes().splitlines()
                if len(lines) >= expected:
                    return lines
            time.sleep(0.05)
        got = len(self.out.read_bytes().splitlines()) if self.out.exists() else 0
        raise AssertionError(f"rsyslog wrote {got} of {expected} lines")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture
def events(sqlite_store: Store) -> Store:
    sqlite_store.append_audit(
        [ApiRequest(request_id=f"r{i}", endpoint="messages", outcome="ok",
                    verdicts=[{"guard": "dlp", "reason": 'quote " bracket ] slash \\ eq = pipe |'}])
         for i in range(60)]
        + [Authentication(activity="login", actor=Actor(kind="user", uid="u1", idp="okta"),
                          src_ip="192.0.2.1", protocol="oidc", mfa=True, workspace_id='w"]\\')]
    )
    seq, head = sqlite_store.chain_head()
    sqlite_store.add_checkpoint(Signer.generate().sign(seq, head, 1_700_000_000_000))
    return sqlite_store


def _deliver(store: Store, settings: ExporterSettings) -> None:
    async def run() -> None:
        exporter = Exporter(build_sink("syslog", settings), store)
        while await exporter.step():
            pass
        await exporter.close()

    asyncio.run(run())


@pytest.mark.parametrize("transport", ["tcp", "tls"])
def test_rfc5424_to_real_rsyslog(events: Store, tmp_path: Path, transport: str) -> None:
    rsyslog = Rsyslog(tmp_path, tls=transport == "tls")
    try:
        settings = ExporterSettings(
            type="syslog", host="127.0.0.1", port=rsyslog.port, transport=transport,  # type: ignore[arg-type]
            ca_file=str(rsyslog.ca) if rsyslog.ca else "", batch_size=25,
        )
        _deliver(events, settings)
        expected = {row["uid"]: row for row in events.search_audit(limit=1000)}
        lines = rsyslog.lines(len(expected) + 1)
    finally:
        rsyslog.stop()
    seen = {}
    for line in lines:
        header, params, msg = parse_rfc5424(line)
        event = orjson.loads(msg)
        seen[params["uid"]] = (header, params, event)
    checkpoint = [u for u in seen if u.startswith("chk_")]
    assert len(checkpoint) == 1
    for uid, row in expected.items():
        header, params, event = seen[uid]
        assert event == row["event"]
        assert params["seq"] == str(row["seq"]) and header[5] == row["event_type"]
        assert header[0].startswith("<") and header[0].endswith(">1")
    login = next(v for v in seen.values() if v[2]["class_uid"] == 3002)
    assert login[1]["workspace"] == 'w"]\\'  # SD-PARAM escapes survive a real parser


def test_cef_to_real_rsyslog(events: Store, tmp_path: Path) -> None:
    rsyslog = Rsyslog(tmp_path, tls=False)
    try:
        settings = ExporterSettings(type="syslog", host="127.0.0.1", port=rsyslog.port,
                                    transport="tcp", format="cef")
        _deliver(events, settings)
        expected = {row["uid"]: row for row in events.search_audit(limit=1000)}
        lines = rsyslog.lines(len(expected) + 1)
    finally:
        rsyslog.stop()
    parsed = {}
    for line in lines:
        _, _, msg = parse_rfc5424(line)
        header, extensions = parse_cef(msg)
        assert header[:3] == ["CEF:0", "tutela", "tutela"]
        parsed[extensions["externalId"]] = (header, extensions)
    for uid, row in expected.items():
        header, extensions = parsed[uid]
        assert orjson.loads(extensions["cs6"]) == row["event"]
        assert header[4] == str(row["event"]["type_uid"]) and header[5] == row["event_type"]
        assert extensions["cn1"] == str(row["seq"])

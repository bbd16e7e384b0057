"""Tamper evidence: the hash chain over audit events and its signed checkpoints.

Each stored event is its OCSF JSON in canonical form (keys sorted, no whitespace, UTF-8:
RFC 8785 for the values tutela emits, which are strings, integers, booleans and floats
rounded to 3 places; a test holds it byte-equal to the ``rfc8785`` reference). Its hash is
``SHA-256(prev_hash || canonical_json)`` where the event carries its own sequence number
in ``metadata.sequence``, so editing, deleting or reordering a record breaks the chain at
that record. A checkpoint is an Ed25519 signature over (sequence, chain head, time, key
id), written every N events or T seconds (also when idle) to a table apart from the
events and sent to every exporter, so cutting off the tail or rewriting the chain after a
checkpoint is caught too. A retention purge leaves an ``audit.purged`` event naming the
last purged record and its hash: verification resumes from that anchor.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from tutela.errors import ConfigError

if TYPE_CHECKING:
    from tutela.store.database import Store

log = logging.getLogger("tutela.audit")

GENESIS = "0" * 64
_LATE_UTF8 = re.compile(rb"[\xee-\xf4]")  # lead bytes of U+E000 and above
_CHECKPOINT_TAG = b"tutela-audit-checkpoint/v1"


def canonical(event: dict[str, Any]) -> bytes:
    """Canonical JSON bytes of an event (see module docstring for the RFC 8785 scope).

    RFC 8785 orders keys by UTF-16 code units; orjson orders by code point. The two agree
    unless a key holds a character at or above U+E000, so only then are keys re-sorted."""
    data = orjson.dumps(event, option=orjson.OPT_SORT_KEYS)
    if not data.isascii() and _LATE_UTF8.search(data) and _late_keys(event):  # rare
        return orjson.dumps(_utf16_sorted(event))
    return data


def _late_keys(value: Any) -> bool:
    if isinstance(value, dict):
        return any(
            (max(key, default="") >= "\ue000") or _late_keys(item) for key, item in value.items()
        )
    if isinstance(value, list):
        return any(_late_keys(item) for item in value)
    return False


def _utf16_sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: _utf16_sorted(value[key])
            for key in sorted(value, key=lambda k: k.encode("utf-16-be"))
        }
    if isinstance(value, list):
        return [_utf16_sorted(item) for item in value]
    return value


def link(prev_hash: str, data: bytes) -> str:
    """The chain hash of a record: SHA-256 over the predecessor's hash and this record."""
    return hashlib.sha256(bytes.fromhex(prev_hash) + data).hexdigest()


def key_id_of(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def encode_public(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def decode_public(text: str) -> Ed25519PublicKey:
    """A public key as base64 of its 32 raw bytes, or as PEM."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode())
            if not isinstance(key, Ed25519PublicKey):
                raise ValueError("not an Ed25519 key")
            return key
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))
    except Exception as exc:
        raise ConfigError(f"not an Ed25519 public key: {exc}") from None


def checkpoint_message(seq: int, head_hash: str, ts_ms: int, key_id: str) -> bytes:
    return b"\n".join(
        [
            _CHECKPOINT_TAG,
            str(seq).encode(),
            head_hash.encode(),
            str(ts_ms).encode(),
            key_id.encode(),
        ]
    )


class Signer:
    """The Ed25519 key that signs checkpoints."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public = private.public_key()
        self.key_id = key_id_of(self.public)

    @classmethod
    def generate(cls) -> Signer:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed_b64: str) -> Signer:
        try:
            seed = base64.b64decode(seed_b64.strip(), validate=True)
            return cls(Ed25519PrivateKey.from_private_bytes(seed))
        except Exception:
            raise ConfigError(
                "the audit signing key must be base64 of a 32-byte Ed25519 seed"
            ) from None

    @classmethod
    def load(cls, *, env: str, path: Path) -> Signer:
        """From the environment variable ``env`` if set, else from ``path``, created with
        mode 0600 on first use."""
        seed = os.environ.get(env)
        if seed:
            return cls.from_seed(seed)
        if path.exists():
            return cls.from_seed(path.read_text())
        signer = cls.generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(signer.seed_b64() + "\n")
        log.warning(
            "generated a new audit signing key; back it up and publish its public key",
            extra={"path": str(path), "key_id": signer.key_id},
        )
        return signer

    def seed_b64(self) -> str:
        raw = self._private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return base64.b64encode(raw).decode()

    def sign(self, seq: int, head_hash: str, ts_ms: int) -> dict[str, Any]:
        signature = self._private.sign(checkpoint_message(seq, head_hash, ts_ms, self.key_id))
        return {
            "seq": seq,
            "head_hash": head_hash,
            "ts_ms": ts_ms,
            "key_id": self.key_id,
            "signature": base64.b64encode(signature).decode(),
        }


@dataclass(frozen=True, slots=True)
class Problem:
    """The first thing found wrong, naming the record (or checkpoint) and what is wrong."""

    kind: str  # altered | missing | reordered | truncated | rechained | checkpoint_*
    seq: int | None
    detail: str
    checkpoint: int | None = None

    def __str__(self) -> str:
        where = f"record {self.seq}" if self.seq is not None else ""
        if self.checkpoint is not None:
            where = f"checkpoint {self.checkpoint}" + (f" (record {self.seq})" if where else "")
        return f"{self.kind}: {where}: {self.detail}"


@dataclass(slots=True)
class Report:
    records: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    checkpoints: int = 0
    legacy: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


_COLUMNS_IN_EVENT = ("uid", "event_type", "class_uid", "workspace_id", "actor", "outcome")


def _columns_agree(row: dict[str, Any], event: dict[str, Any]) -> str | None:
    """The indexed columns must say what the signed event says (they drive search)."""
    metadata = event.get("metadata", {})
    expected: dict[str, Any] = {
        "uid": metadata.get("uid"),
        "event_type": metadata.get("event_code"),
        "class_uid": event.get("class_uid"),
        "workspace_id": metadata.get("tenant_uid"),
        "actor": event.get("actor", {}).get("user", {}).get("uid"),
    }
    tutela = event.get("unmapped", {}).get("tutela", {})
    if event.get("class_uid") == 6003:
        expected["outcome"] = tutela.get("outcome")
    else:
        expected["outcome"] = "success" if event.get("status_id") == 1 else "failure"
    for name in _COLUMNS_IN_EVENT:
        if row.get(name) != expected[name]:
            return f"column {name} disagrees with the hashed event"
    ts = row.get("ts")
    if isinstance(ts, dt.datetime) and int(ts.timestamp() * 1000) != event.get("time"):
        return "column ts disagrees with the hashed event"
    return None


def verify_rows(
    rows: Iterable[dict[str, Any]],
    checkpoints: Iterable[dict[str, Any]],
    trusted: dict[str, Ed25519PublicKey],
    *,
    from_seq: int | None = None,
    to_seq: int | None = None,
    anchor: tuple[int, str] | None = None,
) -> Report:
    """Walk the chain in stored order and check every checkpoint against it.

    ``rows`` come ordered by ``seq``; ``anchor`` is (seq, hash) of the record just before
    the first one, from a purge event or a previous verified range. The first problem
    is reported with the record it concerns; walking stops there, since every later hash
    depends on it.
    """
    report = Report()
    expected_seq = anchor[0] + 1 if anchor else None
    prev_hash = anchor[1] if anchor else None
    heads: dict[int, str] = {}
    for row in rows:
        seq = int(row["seq"])
        if row.get("hash") is None:  # written before the chain existed (migration 0002)
            report.legacy += 1
            continue
        if from_seq is not None and seq < from_seq and prev_hash is None:
            prev_hash, expected_seq = row["hash"], seq + 1
            continue
        if to_seq is not None and seq > to_seq:
            break
        if report.first_seq is None:
            report.first_seq = seq
        data: str = row["data"]
        try:
            event = orjson.loads(data)
            claimed = int(event["metadata"]["sequence"])
        except Exception:
            report.problems.append(Problem("altered", seq, "record is not a valid event"))
            return report
        if expected_seq is not None and seq > expected_seq:
            report.problems.append(
                Problem("missing", expected_seq, f"records {expected_seq}..{seq - 1} are gone")
            )
            return report
        if claimed != seq:
            report.problems.append(
                Problem("reordered", seq, f"the record stored at {seq} was written as {claimed}")
            )
            return report
        if prev_hash is None:
            prev_hash = row["prev_hash"]  # start of the verified range: trust its link
        if row["prev_hash"] != prev_hash:
            report.problems.append(
                Problem("altered", seq, "its link to the previous record was changed")
            )
            return report
        computed = link(prev_hash, data.encode())
        if computed != row["hash"]:
            report.problems.append(Problem("altered", seq, "its content does not match its hash"))
            return report
        mismatch = _columns_agree(row, event)
        if mismatch:
            report.problems.append(Problem("altered", seq, mismatch))
            return report
        heads[seq] = computed
        prev_hash, expected_seq = computed, seq + 1
        report.records += 1
        report.last_seq = seq
    _check_checkpoints(report, checkpoints, trusted, heads, from_seq, to_seq)
    return report


def _check_checkpoints(
    report: Report,
    checkpoints: Iterable[dict[str, Any]],
    trusted: dict[str, Ed25519PublicKey],
    heads: dict[int, str],
    from_seq: int | None,
    to_seq: int | None,
) -> None:
    last = report.last_seq or 0
    for cp in checkpoints:
        number, seq = int(cp["id"]), int(cp["seq"])
        if (from_seq is not None and seq < from_seq) or (to_seq is not None and seq > to_seq):
            continue
        report.checkpoints += 1
        public = trusted.get(cp["key_id"])
        if public is None:
            report.problems.append(
                Problem(
                    "checkpoint_untrusted_key",
                    None,
                    f"signed by key {cp['key_id']}, which is not a trusted audit key",
                    checkpoint=number,
                )
            )
            return
        try:
            public.verify(
                base64.b64decode(cp["signature"]),
                checkpoint_message(seq, cp["head_hash"], int(cp["ts_ms"]), cp["key_id"]),
            )
        except (InvalidSignature, ValueError):
            report.problems.append(
                Problem("checkpoint_bad_signature", None, "its signature does not verify", number)
            )
            return
        if seq == 0:
            continue
        if seq > last and to_seq is None:
            report.problems.append(
                Problem(
                    "truncated",
                    last + 1,
                    f"the log ends at record {last} but a signed checkpoint covers up to {seq}",
                    checkpoint=number,
                )
            )
            return
        head = heads.get(seq)
        if head is not None and head != cp["head_hash"]:
            report.problems.append(
                Problem(
                    "rechained",
                    seq,
                    "the chain was rewritten: its head differs from the signed checkpoint",
                    checkpoint=number,
                )
            )
            return


def trusted_keys(signer: Signer | None, extra: Iterable[str] = ()) -> dict[str, Ed25519PublicKey]:
    keys: dict[str, Ed25519PublicKey] = {}
    if signer is not None:
        keys[signer.key_id] = signer.public
    for text in extra:
        public = decode_public(text)
        keys[key_id_of(public)] = public
    return keys


def chain_rows(
    prev_hash: str, start_seq: int, events: Iterable[dict[str, Any]]
) -> Iterator[tuple[int, str, bytes, str]]:
    """Number and link rendered events: yields (seq, prev_hash, data, hash)."""
    seq = start_seq
    for event in events:
        seq += 1
        event["metadata"]["sequence"] = seq
        data = canonical(event)
        digest = link(prev_hash, data)
        yield seq, prev_hash, data, digest
        prev_hash = digest


def verify_store(
    store: Store,
    trusted: dict[str, Ed25519PublicKey],
    *,
    from_seq: int | None = None,
    to_seq: int | None = None,
    progress: Callable[[int], object] | None = None,
) -> Report:
    """Verify a store's chain (or the range ``from_seq``..``to_seq``) and checkpoints.

    The chain starts after any legacy records and, after a retention purge, at the
    anchor the newest ``audit.purged`` event names (that event is itself chained).
    """
    anchor: tuple[int, str] | None = None
    if from_seq is None:
        purges = store.search_audit(event_type="audit.purged", limit=1)
        if purges:
            tutela = purges[0]["event"]["unmapped"]["tutela"]
            anchor = (int(tutela["through_seq"]), str(tutela["through_hash"]))
        else:
            anchor = (store.legacy_max_seq(), GENESIS)
    start = anchor[0] + 1 if anchor else max(0, (from_seq or 1) - 1)
    rows: Iterable[dict[str, Any]] = store.audit_rows(start, to_seq)
    if progress is not None:
        rows = _counted(rows, progress)
    return verify_rows(
        rows,
        store.checkpoints(),
        trusted,
        from_seq=from_seq,
        to_seq=to_seq,
        anchor=anchor,
    )


def _counted(
    rows: Iterable[dict[str, Any]], progress: Callable[[int], object]
) -> Iterator[dict[str, Any]]:
    done = 0
    for row in rows:
        yield row
        done += 1
        if done % 1000 == 0:
            progress(1000)
    progress(done % 1000)

"""Optional content logging: prompts and responses, encrypted, per workspace.

Envelope encryption with ``cryptography``'s AES-256-GCM. Each workspace has versioned data
keys; each data key is stored only wrapped (AES-256-GCM) under a master key from the
environment (``TUTELA_CONTENT_MASTER_KEY``: ``base64`` or ``v1:base64,v2:base64``; the
highest version wraps new data keys, older ones still unwrap). Every ciphertext binds
its workspace, request id and key version as associated data, so a row moved to another
request or workspace fails to decrypt. The request's audit event carries the SHA-256 of
the ciphertext, so the hash chain covers the content without holding it; destroying a
workspace's data keys shreds its content while the chain still verifies.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import threading
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tutela.errors import ConfigError
from tutela.store.database import Store


def parse_master_keys(text: str) -> dict[int, bytes]:
    keys: dict[int, bytes] = {}
    for number, part in enumerate(p.strip() for p in text.split(",") if p.strip()):
        version_text, _, encoded = part.rpartition(":")
        version = int(version_text.removeprefix("v")) if version_text else number + 1
        try:
            key = base64.b64decode(encoded, validate=True)
        except ValueError:
            key = b""
        if len(key) != 32:
            raise ConfigError(
                "the content master key must be base64 of 32 bytes (or v1:<b64>,v2:<b64>)"
            )
        keys[version] = key
    return keys


@dataclass(frozen=True, slots=True)
class Sealed:
    key_version: int
    nonce: str
    ciphertext: str

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.ciphertext.encode()).hexdigest()


class ContentVault:
    """Seals and opens content rows. Data keys are cached unwrapped in memory only."""

    def __init__(self, store: Store, master_keys: dict[int, bytes]) -> None:
        if not master_keys:
            raise ConfigError("content logging needs a master key in the environment")
        self.store = store
        self.master = master_keys
        self._keys: dict[tuple[str, int], bytes] = {}
        self._current: dict[str, int] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, store: Store, env: str) -> ContentVault:
        value = os.environ.get(env, "")
        if not value:
            raise ConfigError(
                f"content logging is on for a workspace but {env} is not set; "
                "refusing to start rather than log content unencrypted or not at all"
            )
        return cls(store, parse_master_keys(value))

    @staticmethod
    def _key_aad(workspace_id: str, version: int) -> bytes:
        return f"tutela-content-key|{workspace_id}|{version}".encode()

    @staticmethod
    def _aad(workspace_id: str, request_id: str, version: int) -> bytes:
        return f"tutela-content|{workspace_id}|{request_id}|{version}".encode()

    def _unwrap(self, workspace_id: str, row: dict[str, Any]) -> bytes:
        master = self.master.get(int(row["master_version"]))
        if master is None:
            raise ConfigError(f"master key v{row['master_version']} is not in the environment")
        raw = base64.b64decode(row["wrapped"])
        return AESGCM(master).decrypt(
            raw[:12], raw[12:], self._key_aad(workspace_id, int(row["version"]))
        )

    def data_key(self, workspace_id: str, version: int | None = None) -> tuple[int, bytes]:
        with self._lock:
            if version is None:
                version = self._current.get(workspace_id)
            if version is not None and (workspace_id, version) in self._keys:
                return version, self._keys[(workspace_id, version)]
            rows = self.store.content_keys(workspace_id)
            if version is None and rows:
                version = max(int(r["version"]) for r in rows)
            if version is None:  # first use: make, wrap and store version 1
                master_version = max(self.master)
                key = AESGCM.generate_key(bit_length=256)
                nonce = os.urandom(12)
                wrapped = nonce + AESGCM(self.master[master_version]).encrypt(
                    nonce, key, self._key_aad(workspace_id, 1)
                )
                self.store.add_content_key(
                    workspace_id, 1, master_version, base64.b64encode(wrapped).decode()
                )
                version, rows = 1, self.store.content_keys(workspace_id)
            row = next((r for r in rows if int(r["version"]) == version), None)
            if row is None:
                raise ConfigError(f"no content key v{version} for workspace {workspace_id}")
            key = self._unwrap(workspace_id, row)
            self._keys[(workspace_id, version)] = key
            self._current.setdefault(workspace_id, version)
            return version, key

    def seal(self, workspace_id: str, request_id: str, plaintext: bytes) -> Sealed:
        version, key = self.data_key(workspace_id)
        nonce = os.urandom(12)
        ciphertext = AESGCM(key).encrypt(
            nonce, plaintext, self._aad(workspace_id, request_id, version)
        )
        return Sealed(version, nonce.hex(), base64.b64encode(ciphertext).decode())

    def open(self, workspace_id: str, request_id: str, row: dict[str, Any]) -> bytes:
        version = int(row["key_version"])
        _, key = self.data_key(workspace_id, version)
        return AESGCM(key).decrypt(
            bytes.fromhex(row["nonce"]),
            base64.b64decode(row["ciphertext"]),
            self._aad(workspace_id, request_id, version),
        )

    def content_row(
        self, workspace_id: str, request_id: str, plaintext: bytes
    ) -> tuple[dict[str, Any], str]:
        sealed = self.seal(workspace_id, request_id, plaintext)
        return (
            {
                "request_id": request_id,
                "workspace_id": workspace_id,
                "ts": dt.datetime.now(dt.UTC),
                "key_version": sealed.key_version,
                "nonce": sealed.nonce,
                "ciphertext": sealed.ciphertext,
            },
            sealed.digest,
        )

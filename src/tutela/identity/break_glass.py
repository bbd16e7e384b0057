"""The break-glass local admin: for first start and for when the identity provider is down.

``enable`` makes (or resets) a local organisation owner with a random password, stored as
an argon2id hash (``argon2-cffi``), and a TOTP seed (``pyotp``); both are shown once. The
seed is stored only encrypted (AES-256-GCM) under a key derived from the password with
argon2id, so the database alone yields neither factor. A
sign-in needs the password *and* a current TOTP code; each code works once. Policy
``identity.break_glass.enabled: false`` refuses every break-glass sign-in, which is what
to set once SSO works.
"""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import os
from dataclasses import dataclass

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tutela.identity.roles import OWNER
from tutela.store.database import utcnow
from tutela.store.identity import IdentityStore

_HASHER = PasswordHasher()
ISSUER = "tutela"


class BreakGlassRefused(Exception):
    """Wrong email, password or code (one message for all, so nothing is revealed)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BreakGlassCredentials:
    email: str
    password: str
    totp_uri: str

    def __repr__(self) -> str:
        return f"BreakGlassCredentials(email={self.email!r}, password='***', totp_uri='***')"


def enable(identity: IdentityStore, email: str) -> BreakGlassCredentials:
    """Create or reset the local owner ``email``; the caller shows the result once."""
    user, _ = identity.upsert_user(email=email, idp="break_glass")
    password = base64.urlsafe_b64encode(os.urandom(18)).decode("ascii")
    seed = pyotp.random_base32()
    identity.set_local_credentials(user.id, _HASHER.hash(password), _seal(seed, password))
    identity.set_org_role(user.id, OWNER)
    uri = pyotp.TOTP(seed).provisioning_uri(name=user.email, issuer_name=ISSUER)
    return BreakGlassCredentials(email=user.email, password=password, totp_uri=uri)


def disable(identity: IdentityStore, email: str) -> bool:
    user = identity.get_user_by_email(email)
    if user is None or user.password_hash is None:
        return False
    identity.set_local_credentials(user.id, None, None)
    identity.revoke_user_sessions(user.id)
    return True


def verify(identity: IdentityStore, email: str, password: str, code: str) -> None:
    """Return when the password and the TOTP code are right; else BreakGlassRefused."""
    refused = BreakGlassRefused("wrong email, password or one-time code")
    user = identity.get_user_by_email(email) if email else None
    stored = user.password_hash if user is not None else None
    try:
        # verify against a dummy hash for unknown users too, so timing says nothing
        _HASHER.verify(stored or _DUMMY, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        raise refused from None
    if user is None or stored is None or not user.totp_secret or user.disabled_at is not None:
        raise refused
    seed = _open(user.totp_secret, password)
    if seed is None:
        raise refused
    totp = pyotp.TOTP(seed)
    now = utcnow()
    step = int(now.timestamp()) // totp.interval
    matched = None
    for offset in (-1, 0, 1):  # one step of clock drift either way
        if hmac.compare_digest(totp.at(now, counter_offset=offset), code.strip()):
            matched = step + offset
    if matched is None:
        raise refused
    # each code works once: remember its time step until it could no longer verify
    fresh = identity.put_nonce(
        f"totp:{user.id}:{matched}", "totp", "", now + dt.timedelta(seconds=totp.interval * 3)
    )
    if not fresh:
        raise refused


_DUMMY = _HASHER.hash("tutela-break-glass-dummy")
_SEALED = "v1:"


def _seed_key(password: str, salt: bytes) -> bytes:
    return hash_secret_raw(
        password.encode(),
        salt,
        time_cost=3,
        memory_cost=65536,
        parallelism=1,
        hash_len=32,
        type=Type.ID,
    )


def _seal(seed: str, password: str) -> str:
    salt, nonce = os.urandom(16), os.urandom(12)
    sealed = AESGCM(_seed_key(password, salt)).encrypt(nonce, seed.encode(), b"tutela-totp")
    return _SEALED + base64.b64encode(salt + nonce + sealed).decode()


def _open(stored: str, password: str) -> str | None:
    """The TOTP seed, or None when the password does not open it."""
    if not stored.startswith(_SEALED):
        return None  # an unsealed seed from before sealing: re-enable break-glass
    raw = base64.b64decode(stored.removeprefix(_SEALED))
    try:
        seed = AESGCM(_seed_key(password, raw[:16])).decrypt(raw[16:28], raw[28:], b"tutela-totp")
    except InvalidTag:
        return None
    return seed.decode()

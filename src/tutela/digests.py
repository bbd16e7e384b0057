"""Cache keys for texts the gateway has already analysed.

Both content guards remember what they found in long texts (a conversation's history comes
back with every turn) under a digest of the text: SHA-256 after a random per-process
prefix. SHA-256 is hardware-accelerated on the machines tutela runs on (about 1.7 GB/s
here, twice BLAKE2b), and the secret prefix means an entry cannot be matched to a guessed
text from outside the process. Digests never leave the process.
"""

from __future__ import annotations

import hashlib
import os


class KeyedDigest:
    """``digest(text)``: 32 bytes that stand for ``text`` within this process."""

    __slots__ = ("_prefixed",)

    def __init__(self) -> None:
        self._prefixed = hashlib.sha256(os.urandom(32))

    def __call__(self, text: str) -> bytes:
        digest = self._prefixed.copy()
        digest.update(text.encode("utf-8", "surrogatepass"))
        return digest.digest()

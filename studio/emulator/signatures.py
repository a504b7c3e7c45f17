"""Thought signatures that are HMAC-bound to the part they sign.

Layout: b"EMU1" | nonce (16) | HMAC-SHA256(key, kind | sha256(payload) | nonce | pad) (32) | pad.
A wrong prefix or a short value is "corrupted"; a MAC mismatch is "invalid". Binding to the payload
means a re-encoded image or an edited text fails, which is exactly what a client must never send.
"""

from __future__ import annotations

import enum
import hashlib
import hmac

from .wire import Base64Error, b64decode_any

MAGIC = b"EMU1"
NONCE_BYTES = 16
MAC_BYTES = 32
HEADER_BYTES = len(MAGIC) + NONCE_BYTES + MAC_BYTES

# Documented escape hatches; compared as the raw wire string, before any decoding.
DUMMY_SIGNATURES = frozenset({"context_engineering_is_the_way_to_go", "skip_thought_signature_validator"})


class Verdict(enum.Enum):
    VALID = "valid"
    CORRUPTED = "corrupted"
    INVALID = "invalid"


class Signer:
    def __init__(self, key: bytes, pad_bytes: int = 0) -> None:
        self._key = key
        self._pad_bytes = pad_bytes

    def _mac(self, kind: str, payload: bytes, nonce: bytes, pad: bytes) -> bytes:
        message = kind.encode() + hashlib.sha256(payload).digest() + nonce + pad
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def sign(self, kind: str, payload: bytes, nonce_source: bytes) -> bytes:
        """`nonce_source` makes the nonce deterministic for a deterministic response."""
        nonce = hashlib.sha256(b"nonce" + nonce_source).digest()[:NONCE_BYTES]
        pad = _pad(nonce, self._pad_bytes)
        return MAGIC + nonce + self._mac(kind, payload, nonce, pad) + pad

    def verify(self, wire_value: str, kind: str, payload: bytes) -> Verdict:
        if wire_value in DUMMY_SIGNATURES:
            return Verdict.VALID
        try:
            raw = b64decode_any(wire_value)
        except Base64Error:
            return Verdict.CORRUPTED
        if len(raw) < HEADER_BYTES or not raw.startswith(MAGIC):
            return Verdict.CORRUPTED
        nonce = raw[len(MAGIC) : len(MAGIC) + NONCE_BYTES]
        mac = raw[len(MAGIC) + NONCE_BYTES : HEADER_BYTES]
        pad = raw[HEADER_BYTES:]
        expected = self._mac(kind, payload, nonce, pad)
        return Verdict.VALID if hmac.compare_digest(mac, expected) else Verdict.INVALID


def _pad(nonce: bytes, size: int) -> bytes:
    if size <= 0:
        return b""
    block = hashlib.sha256(b"pad" + nonce).digest()
    return (block * (size // len(block) + 1))[:size]

"""Keys, signed envelopes and tokens: how controller and agents authenticate every message.

Every message is a UTF-8 JSON envelope ``{"v", "kind", "agent", "subject", "seq", "ts", "body"}``;
its Ed25519 signature over the exact payload bytes travels in the NATS header ``Es-Sig`` (base64).
See ``docs/operate.md``.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from edgescale.errors import ControlPlaneError

__all__ = [
    "PROTOCOL_VERSION",
    "SIG_HEADER",
    "AuthError",
    "Envelope",
    "KeyPair",
    "check_token",
    "new_token",
    "next_seq",
    "open_envelope",
    "seal",
]

PROTOCOL_VERSION = 1
SIG_HEADER = "Es-Sig"


class AuthError(ControlPlaneError):
    """A message or request failed authentication (bad token, signature, subject or sequence)."""


def new_token(nbytes: int = 24) -> str:
    """A random URL-safe secret."""
    return secrets.token_urlsafe(nbytes)


def check_token(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a presented token with the expected one."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


_last_seq = 0


def next_seq() -> int:
    """Strictly increasing sequence number: wall-clock nanoseconds, bumped when the clock repeats.

    Increasing across process restarts as long as the clock does not go back.
    """
    global _last_seq
    _last_seq = max(_last_seq + 1, time.time_ns())
    return _last_seq


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def _unb64(s: str) -> bytes:
    return base64.b64decode(s.encode(), validate=True)


class KeyPair:
    """An Ed25519 key pair (or only a public key, for verifying).

    Examples
    --------
    >>> k = KeyPair.generate()
    >>> sig = k.sign(b"hello")
    >>> KeyPair.from_public(k.public_b64).verify(b"hello", sig)
    True
    >>> KeyPair.from_public(k.public_b64).verify(b"hellO", sig)
    False
    """

    def __init__(self, private: Ed25519PrivateKey | None, public: Ed25519PublicKey) -> None:
        self._private = private
        self._public = public
        raw = public.public_bytes_raw()
        self.public_b64 = _b64(raw)

    @classmethod
    def generate(cls) -> KeyPair:
        """A fresh key pair."""
        k = Ed25519PrivateKey.generate()
        return cls(k, k.public_key())

    @classmethod
    def from_private(cls, b64: str) -> KeyPair:
        """From the base64 raw 32-byte private key."""
        k = Ed25519PrivateKey.from_private_bytes(_unb64(b64))
        return cls(k, k.public_key())

    @classmethod
    def from_public(cls, b64: str) -> KeyPair:
        """A verify-only key from the base64 raw public key."""
        try:
            return cls(None, Ed25519PublicKey.from_public_bytes(_unb64(b64)))
        except ValueError as e:
            raise AuthError(f"public key: not a base64 Ed25519 key (got {b64[:16]!r}...)") from e

    @property
    def private_b64(self) -> str:
        """Base64 raw private key (secret)."""
        if self._private is None:
            raise ControlPlaneError("key: this is a public key only")
        return _b64(self._private.private_bytes_raw())

    def sign(self, data: bytes) -> bytes:
        """Ed25519 signature of *data*."""
        if self._private is None:
            raise ControlPlaneError("key: cannot sign with a public key only")
        return self._private.sign(data)

    def verify(self, data: bytes, sig: bytes) -> bool:
        """Whether *sig* is a valid signature of *data*."""
        try:
            self._public.verify(sig, data)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Envelope:
    """A decoded, authenticated message."""

    kind: str
    agent: str
    subject: str
    seq: int
    ts: float
    body: dict[str, Any]


def seal(
    key: KeyPair, kind: str, agent: str, subject: str, body: dict[str, Any]
) -> tuple[bytes, dict[str, str]]:
    """Payload and headers of a signed message from *agent* on *subject*.

    Examples
    --------
    >>> k = KeyPair.generate()
    >>> data, hdr = seal(k, "hb", "a-1", "es.agent.a-1.hb", {"running": 2})
    >>> open_envelope(data, hdr, k, subject="es.agent.a-1.hb", agent="a-1").body
    {'running': 2}
    """
    env = {
        "v": PROTOCOL_VERSION,
        "kind": kind,
        "agent": agent,
        "subject": subject,
        "seq": next_seq(),
        "ts": time.time(),
        "body": body,
    }
    data = json.dumps(env, separators=(",", ":")).encode()
    return data, {SIG_HEADER: _b64(key.sign(data))}


def open_envelope(
    data: bytes,
    headers: dict[str, str] | None,
    key: KeyPair,
    *,
    subject: str,
    agent: str | None,
    after_seq: int | None = None,
) -> Envelope:
    """Verify and decode a message received on *subject*.

    Parameters
    ----------
    key : KeyPair
        The sender's public key.
    agent : str or None
        The agent id the subject names (``None``: any, for controller messages).
    after_seq : int, optional
        Reject messages whose ``seq`` is not larger (replays).

    Raises
    ------
    AuthError
        Missing or bad signature, another subject or agent than claimed, an unknown version, a replay.
    """
    sig = (headers or {}).get(SIG_HEADER)
    if not sig:
        raise AuthError(f"{subject}: unsigned message")
    try:
        ok = key.verify(data, _unb64(sig))
    except ValueError:
        ok = False
    if not ok:
        raise AuthError(f"{subject}: bad signature")
    try:
        env = json.loads(data)
    except ValueError as e:
        raise AuthError(f"{subject}: payload is not JSON") from e
    if not isinstance(env, dict) or env.get("v") != PROTOCOL_VERSION:
        raise AuthError(
            f"{subject}: unknown protocol version (got {env.get('v') if isinstance(env, dict) else env!r})"
        )
    if env.get("subject") != subject:
        raise AuthError(f"{subject}: signed for another subject (got {env.get('subject')!r})")
    if agent is not None and env.get("agent") != agent:
        raise AuthError(f"{subject}: signed by another agent (got {env.get('agent')!r})")
    seq = env.get("seq")
    if not isinstance(seq, int) or (after_seq is not None and seq <= after_seq):
        raise AuthError(f"{subject}: replayed or out-of-order message (seq {seq}, last {after_seq})")
    body = env.get("body")
    if not isinstance(body, dict):
        raise AuthError(f"{subject}: body must be an object")
    return Envelope(
        str(env.get("kind")), str(env.get("agent")), subject, seq, float(env.get("ts", 0.0)), body
    )

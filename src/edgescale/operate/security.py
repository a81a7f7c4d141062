"""Keys, signed envelopes and tokens: how controller and agents authenticate every message.

Every message is a UTF-8 JSON envelope ``{"v", "kind", "agent", "subject", "seq", "ts", "body"}``;
its HMAC-SHA256 under the key the agent shares with the controller (X25519 + HKDF, see
:class:`KeyPair`) travels in the NATS header ``Es-Mac`` (base64). See ``docs/operate.md``.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from edgescale.errors import ControlPlaneError

__all__ = [
    "PROTOCOL_VERSION",
    "SIG_HEADER",
    "AuthError",
    "Envelope",
    "KeyPair",
    "check_token",
    "mac",
    "new_token",
    "next_seq",
    "open_envelope",
    "seal",
]

PROTOCOL_VERSION = 1
SIG_HEADER = "Es-Mac"


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
    """An X25519 key pair (or only a public key): agents and the controller each hold one.

    Two parties derive the same 32-byte message key from their own private key and the other's
    public key (static-static Diffie-Hellman, then HKDF-SHA256): only they can compute it, so a MAC
    with it authenticates the sender, at the cost of an HMAC (microseconds) per message.

    Examples
    --------
    >>> a, c = KeyPair.generate(), KeyPair.generate()
    >>> a.shared_key(KeyPair.from_public(c.public_b64)) == c.shared_key(KeyPair.from_public(a.public_b64))
    True
    >>> b = KeyPair.generate()
    >>> b.shared_key(c) == a.shared_key(c)
    False
    """

    def __init__(self, private: X25519PrivateKey | None, public: X25519PublicKey) -> None:
        self._private = private
        self._public = public
        self.public_b64 = _b64(public.public_bytes_raw())

    @classmethod
    def generate(cls) -> KeyPair:
        """A fresh key pair."""
        k = X25519PrivateKey.generate()
        return cls(k, k.public_key())

    @classmethod
    def from_private(cls, b64: str) -> KeyPair:
        """From the base64 raw 32-byte private key."""
        try:
            k = X25519PrivateKey.from_private_bytes(_unb64(b64))
        except ValueError as e:
            raise AuthError("private key: not a base64 X25519 key") from e
        return cls(k, k.public_key())

    @classmethod
    def from_public(cls, b64: str) -> KeyPair:
        """A public key only, from base64."""
        try:
            return cls(None, X25519PublicKey.from_public_bytes(_unb64(b64)))
        except ValueError as e:
            raise AuthError(f"public key: not a base64 X25519 key (got {b64[:16]!r}...)") from e

    @property
    def private_b64(self) -> str:
        """Base64 raw private key (secret)."""
        if self._private is None:
            raise ControlPlaneError("key: this is a public key only")
        return _b64(self._private.private_bytes_raw())

    def shared_key(self, peer: KeyPair) -> bytes:
        """The message key shared with *peer*: HKDF-SHA256 of the X25519 secret."""
        if self._private is None:
            raise ControlPlaneError("key: a public key alone cannot derive a shared key")
        secret = self._private.exchange(peer._public)
        return HKDF(algorithm=SHA256(), length=32, salt=None, info=b"edgescale-operate-v1").derive(secret)


def mac(key: bytes, data: bytes) -> str:
    """Base64 HMAC-SHA256 of *data*."""
    return _b64(hmac.digest(key, data, "sha256"))


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
    key: bytes, kind: str, agent: str, subject: str, body: dict[str, Any], *, encrypt: bool = False
) -> tuple[bytes, dict[str, str]]:
    """Payload and headers of an authenticated message from *agent* on *subject* (*key*: the shared key).

    With *encrypt* the body travels as ``{"enc": ...}``: AES-256-GCM under the same key, the subject as
    associated data, so only the two key holders can read it (assignments carry commands and env).

    Examples
    --------
    >>> k = bytes(32)
    >>> data, hdr = seal(k, "hb", "a-1", "es.agent.a-1.hb", {"running": 2})
    >>> open_envelope(data, hdr, k, subject="es.agent.a-1.hb", agent="a-1").body
    {'running': 2}
    >>> open_envelope(data, hdr, bytes([1]) * 32, subject="es.agent.a-1.hb", agent="a-1")
    Traceback (most recent call last):
    ...
    edgescale.operate.security.AuthError: es.agent.a-1.hb: bad MAC
    """
    if encrypt:
        nonce = secrets.token_bytes(12)
        ct = AESGCM(key).encrypt(nonce, json.dumps(body).encode(), subject.encode())
        body = {"enc": _b64(nonce + ct)}
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
    return data, {SIG_HEADER: mac(key, data)}


def open_envelope(
    data: bytes,
    headers: dict[str, str] | None,
    key: bytes,
    *,
    subject: str,
    agent: str | None,
    after_seq: int | None = None,
) -> Envelope:
    """Verify and decode a message received on *subject*.

    Parameters
    ----------
    key : bytes
        The key shared with the sender.
    agent : str or None
        The agent id the subject names (``None``: any, for controller messages).
    after_seq : int, optional
        Reject messages whose ``seq`` is not larger (replays).

    Raises
    ------
    AuthError
        Missing or bad MAC, another subject or agent than claimed, an unknown version, a replay.
    """
    given = (headers or {}).get(SIG_HEADER)
    if not given:
        raise AuthError(f"{subject}: unsigned message")
    if not hmac.compare_digest(given, mac(key, data)):
        raise AuthError(f"{subject}: bad MAC")
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
    if isinstance(body, dict) and set(body) == {"enc"}:
        try:
            raw = _unb64(str(body["enc"]))
            body = json.loads(AESGCM(key).decrypt(raw[:12], raw[12:], subject.encode()))
        except (ValueError, InvalidTag) as e:
            raise AuthError(f"{subject}: cannot decrypt the body") from e
    if not isinstance(body, dict):
        raise AuthError(f"{subject}: body must be an object")
    return Envelope(
        str(env.get("kind")), str(env.get("agent")), subject, seq, float(env.get("ts", 0.0)), body
    )

"""Ed25519 COSE_Sign1 (RFC 9052) signing and strict verification for GreenLane documents."""

from __future__ import annotations

import base64
import hashlib
import io
import re
from collections.abc import Mapping
from typing import NamedTuple

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

ALG_EDDSA = -8
COSE_SIGN1_TAG = 18
KID_LEN = 8
SIG_LEN = 64
MAX_PASS_SIZE = 4096  # bytes of COSE; a QR code cannot carry much more anyway
_MAX_DEPTH = 16


class VerificationError(Exception):
    """Base class: the document must be rejected; `reason` is a stable code."""

    reason = "invalid"


class Malformed(VerificationError):
    reason = "malformed"


class UnknownKey(VerificationError):
    reason = "unknown_key"


class BadSignature(VerificationError):
    reason = "bad_signature"


class _RejectAllTags(dict):
    """semantic_decoders mapping that makes cbor2 refuse every tag.

    cbor2 otherwise runs built-in decoders (datetime, regex, MIME, fractions,
    value sharing...) on untrusted input; none of them belong in our documents.
    """

    def __contains__(self, tag):
        return True

    def __getitem__(self, tag):
        def reject(decoder):
            raise ValueError(f"CBOR tag {tag} not allowed")

        return reject

    def get(self, tag, default=None):
        return self[tag]


_NO_TAGS = _RejectAllTags()


def loads_strict(data: bytes, *, max_size: int = MAX_PASS_SIZE):
    """Decode one CBOR item: no tags, no indefinite lengths, no duplicate keys,
    no trailing bytes. Raises Malformed (and only Malformed) on any problem."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise Malformed("expected bytes")
    data = bytes(data)
    if not data or len(data) > max_size:
        raise Malformed("empty or too large")
    # Broad except on purpose: besides its decode errors, cbor2 can raise
    # RecursionError, OverflowError, MemoryError, UnicodeError...
    try:
        fp = io.BytesIO(data)
        obj = cbor2.CBORDecoder(
            fp, semantic_decoders=_NO_TAGS, max_depth=_MAX_DEPTH,
            allow_indefinite=False, allow_duplicate_keys=False,
        ).decode()
    except Exception as exc:
        raise Malformed("invalid CBOR") from exc
    if fp.tell() != len(data):
        raise Malformed("trailing bytes after CBOR item")
    return obj


def key_id(public_key: Ed25519PublicKey) -> bytes:
    """First 8 bytes of SHA-256 over the raw 32-byte public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).digest()[:KID_LEN]


def _protected_header(kid: bytes) -> bytes:
    return cbor2.dumps({1: ALG_EDDSA, 4: kid}, canonical=True)


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    """The RFC 9052 Sig_structure for COSE_Sign1 with empty external AAD."""
    return cbor2.dumps(["Signature1", protected, b"", payload])


class Signer:
    """Signs payloads as untagged COSE_Sign1 with one Ed25519 key."""

    def __init__(self, private_key: Ed25519PrivateKey):
        if not isinstance(private_key, Ed25519PrivateKey):
            raise TypeError("Ed25519PrivateKey required")
        self._key = private_key
        self.public_key = private_key.public_key()
        self.kid = key_id(self.public_key)
        self._protected = _protected_header(self.kid)

    def sign(self, payload: bytes) -> bytes:
        if not isinstance(payload, bytes):
            raise TypeError("payload must be bytes")
        signature = self._key.sign(sig_structure(self._protected, payload))
        return cbor2.dumps([self._protected, {}, payload, signature])

    def __repr__(self) -> str:
        return f"Signer(kid={self.kid.hex()})"


# The one byte form of a valid document, laid out by hand (RFC 8949 deterministic encoding):
# 0x84 (array of 4), 0x4d + the 13-byte protected header a2 01 27 04 48 <kid> ({1: -8, 4: kid}),
# 0xa0 (empty map), the payload as a byte string with the shortest length header, 0x58 0x40 + signature.
_PROTECTED_PREFIX = bytes.fromhex("a201270448")
_LAYOUT_HEAD = b"\x84\x4d" + _PROTECTED_PREFIX
_SIGNATURE_HEAD = b"\x58\x40"
# The Sig_structure's fixed start, up to the kid: the array head, "Signature1", the protected header's byte
# string head and its fixed prefix.
_SIG_STRUCTURE_HEAD = b"\x84" + cbor2.dumps("Signature1") + b"\x4d" + _PROTECTED_PREFIX


class Sign1(NamedTuple):
    """A parsed COSE_Sign1 (a named tuple: built once per scan on the hot path, where a frozen dataclass's
    field-by-field __init__ cost more than the slicing that finds the fields)."""
    protected_bytes: bytes
    kid: bytes
    alg: int
    payload: bytes
    signature: bytes
    to_be_signed: bytes | None = None  # the Sig_structure, when the parser already had its pieces

    def sig_structure(self) -> bytes:
        return self.to_be_signed or sig_structure(self.protected_bytes, self.payload)


def _split_canonical(body: bytes, max_size: int) -> Sign1 | None:
    """The fast path of decode_sign1: a document in exactly the byte form decode_sign1 accepts, parsed
    by slicing. Anything else (None) goes through the general parser, which gives the precise error.
    Everything accepted here is accepted there, with the same result (tests/unit/test_signing.py)."""
    size = len(body)
    if size > max_size or size < 83 or not body.startswith(_LAYOUT_HEAD) or body[15] != 0xA0:
        return None
    head = body[16]
    if 0x40 <= head <= 0x57:
        length, start = head - 0x40, 17
    elif head == 0x58:
        length, start = body[17], 18
        if length < 24:
            return None
    elif head == 0x59:
        length, start = int.from_bytes(body[17:19], "big"), 19
        if length < 256:
            return None
    else:
        return None
    end = start + length
    if size != end + 66 or body[end:end + 2] != _SIGNATURE_HEAD:
        return None
    kid = body[7:15]
    # Sig_structure = ["Signature1", protected, h'', payload]: its pieces are already encoded in the body.
    to_be_signed = b"".join((_SIG_STRUCTURE_HEAD, kid, b"\x40", body[16:end]))
    return Sign1(body[2:15], kid, ALG_EDDSA, body[start:end], body[end + 2:], to_be_signed)


def decode_sign1(cose: bytes, *, max_size: int = MAX_PASS_SIZE) -> Sign1:
    """Parse a COSE_Sign1 (untagged or tag 18); raises only Malformed.

    Only the deterministic encoding is accepted (shortest lengths, definite
    lengths, no other tags), so every valid document has exactly one byte form.
    """
    if not isinstance(cose, (bytes, bytearray, memoryview)):
        raise Malformed("expected bytes")
    cose = bytes(cose)
    body = cose[1:] if cose[:1] == b"\xd2" else cose  # 0xd2 = tag 18, one byte
    if (fast := _split_canonical(body, max_size)) is not None:
        return fast
    msg = loads_strict(body, max_size=max_size)
    if not isinstance(msg, list) or len(msg) != 4:
        raise Malformed("COSE_Sign1 must be an array of 4")
    protected, unprotected, payload, signature = msg
    if not (isinstance(protected, bytes) and isinstance(payload, bytes)
            and isinstance(signature, bytes)):
        raise Malformed("protected, payload and signature must be byte strings")
    if unprotected != {} or not isinstance(unprotected, dict):
        raise Malformed("unprotected header must be an empty map")
    if len(signature) != SIG_LEN:
        raise Malformed("Ed25519 signature must be 64 bytes")
    if cbor2.dumps(msg) != body:
        raise Malformed("non-deterministic COSE encoding")
    header = loads_strict(protected, max_size=max_size)
    if not isinstance(header, dict) or set(header) != {1, 4}:
        raise Malformed("protected header must hold exactly alg (1) and kid (4)")
    alg, kid = header[1], header[4]
    if type(alg) is not int or alg != ALG_EDDSA:
        raise Malformed("alg must be EdDSA (-8)")
    if not isinstance(kid, bytes) or len(kid) != KID_LEN:
        raise Malformed("kid must be 8 bytes")
    if _protected_header(kid) != protected:
        raise Malformed("non-deterministic protected header")
    return Sign1(protected, kid, alg, payload, signature)


def verify(cose: bytes, keys: Mapping[bytes, Ed25519PublicKey], *,
           max_size: int = MAX_PASS_SIZE) -> tuple[bytes, bytes]:
    """Check structure, key and signature; return (kid, payload).

    Callers must not look at the payload of a document until this returned:
    nothing in it is trustworthy before the signature has been checked.
    """
    return verify_decoded(decode_sign1(cose, max_size=max_size), keys)


def verify_decoded(msg: Sign1, keys: Mapping[bytes, Ed25519PublicKey]) -> tuple[bytes, bytes]:
    """verify() for a message already parsed with decode_sign1 (saves a second parse on hot paths)."""
    key = keys.get(msg.kid)
    if key is None:
        raise UnknownKey(msg.kid.hex())
    try:
        key.verify(msg.signature, msg.sig_structure())
    except InvalidSignature:
        raise BadSignature(msg.kid.hex()) from None
    return msg.kid, msg.payload


def encrypt_private_key(key: Ed25519PrivateKey, passphrase: bytes) -> bytes:
    """PKCS#8 PEM encrypted with the best scheme cryptography offers."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    )


def decrypt_private_key(pem: bytes, passphrase: bytes) -> Ed25519PrivateKey:
    """Inverse of encrypt_private_key; ValueError on a wrong passphrase or bad PEM."""
    try:
        key = serialization.load_pem_private_key(pem, password=passphrase)
    except (ValueError, TypeError) as exc:
        raise ValueError("cannot decrypt private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 private key")
    return key


def b64url(b: bytes) -> str:
    """Base64url without padding (RFC 7515 / JWK style)."""
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


_B64URL_RE = re.compile(r"[A-Za-z0-9_-]*")


def b64url_decode(s: str | bytes) -> bytes:
    """Strict inverse of b64url: rejects padding, stray characters, loose bits."""
    if isinstance(s, bytes):
        try:
            s = s.decode("ascii")
        except UnicodeDecodeError:
            raise ValueError("invalid base64url") from None
    if not isinstance(s, str) or not _B64URL_RE.fullmatch(s) or len(s) % 4 == 1:
        raise ValueError("invalid base64url")
    out = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    if b64url(out) != s:  # non-zero unused bits would give two spellings
        raise ValueError("non-canonical base64url")
    return out

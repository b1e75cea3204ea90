"""The signed trust list (docs/pass-format.md section 6): the public keys with their status, an issue time and an
expiry, in a COSE_Sign1 signed by one of the keys it lists. Pure: no Flask, no database (offline verifiers
import it).

Which signature to believe: the list is signed by its longest-standing key that is not revoked, so a device
that learnt the keys from an earlier list recognises the signer across rotations. A device that holds no
earlier list (first use) can only check that the list is signed by a key it lists: it must fetch that first
list over HTTPS from its own GreenLane server (or compare the kids out of band), as before."""
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from core.signing import Malformed, UnknownKey, decode_sign1, key_id, loads_strict, verify_decoded

DEFAULT_LIFETIME = 7 * 86400  # seconds from issued_at to expires_at (GREENLANE_TRUST_LIST_LIFETIME_HOURS)
MAX_TRUST_LIST_SIZE = 1 << 20
STATUSES = ("active", "retired", "revoked")


@dataclass(frozen=True)
class TrustEntry:
    kid: bytes
    x: bytes  # the raw 32-byte Ed25519 public key
    status: str  # active, retired or revoked
    not_before: int
    not_after: int | None = None


@dataclass(frozen=True)
class TrustList:
    issued_at: int
    expires_at: int
    entries: tuple[TrustEntry, ...]
    signer: bytes = b""  # the kid that signed it


def encode_trust_list(entries: Iterable[TrustEntry], *, issued_at: int, expires_at: int) -> bytes:
    """CBOR map {1: issued_at, 2: expires_at, 3: [{1: kid, 2: x, 3: status, 4: not_before, 5: not_after}]}
    (key 5 only once the key stopped signing); sign it with Signer."""
    if expires_at <= issued_at:
        raise ValueError("expires_at must be after issued_at")
    keys = []
    for e in entries:
        key = {1: e.kid, 2: e.x, 3: e.status, 4: e.not_before}
        if e.not_after is not None:
            key[5] = e.not_after
        keys.append(key)
    return cbor2.dumps({1: issued_at, 2: expires_at, 3: keys}, canonical=True)


def decode_trust_list(payload: bytes) -> TrustList:
    """Parse a trust list payload (its signature not yet checked: see verify_trust_list); raises Malformed."""
    m = loads_strict(payload, max_size=MAX_TRUST_LIST_SIZE)
    if not isinstance(m, dict) or set(m) != {1, 2, 3} or not isinstance(m[3], list):
        raise Malformed("trust list must be a map with keys 1-3")
    if not (_uint(m[1]) and _uint(m[2])) or m[2] <= m[1]:
        raise Malformed("bad issued_at or expires_at")
    entries = []
    for k in m[3]:
        if not isinstance(k, dict) or not {1, 2, 3, 4} <= set(k) <= {1, 2, 3, 4, 5}:
            raise Malformed("trust list entry must be a map with keys 1-4 (and 5)")
        if not (isinstance(k[1], bytes) and len(k[1]) == 8 and isinstance(k[2], bytes) and len(k[2]) == 32):
            raise Malformed("bad kid or public key")
        if k[3] not in STATUSES or not _uint(k[4]) or (5 in k and not _uint(k[5])):
            raise Malformed("bad status or time")
        if key_id(Ed25519PublicKey.from_public_bytes(k[2])) != k[1]:
            raise Malformed("kid does not match the public key")
        entries.append(TrustEntry(k[1], k[2], k[3], k[4], k.get(5)))
    if len({e.kid for e in entries}) != len(entries):
        raise Malformed("a kid is listed twice")
    return TrustList(m[1], m[2], tuple(entries))


def verify_trust_list(cose: bytes, *, anchors: Mapping[bytes, Ed25519PublicKey] | None = None) -> TrustList:
    """Verify a signed trust list and decode it. The signer must be listed in it and not revoked, and, when
    the device already trusts keys (`anchors`: the usable keys of the last list it accepted), be one of
    those. Raises VerificationError (UnknownKey, BadSignature, Malformed)."""
    message = decode_sign1(cose, max_size=MAX_TRUST_LIST_SIZE)
    if anchors is not None:  # the usual case: check the signature before reading anything signed
        verify_decoded(message, {message.kid: anchors[message.kid]} if message.kid in anchors else {})
    listed = decode_trust_list(message.payload)  # first use: the strict, size-bounded parse comes first
    own = {e.kid: Ed25519PublicKey.from_public_bytes(e.x) for e in listed.entries if e.status != "revoked"}
    if message.kid not in own:
        raise UnknownKey("the trust list is not signed by a usable key it lists")
    if anchors is None:
        verify_decoded(message, {message.kid: own[message.kid]})
    return TrustList(listed.issued_at, listed.expires_at, listed.entries, message.kid)


def _uint(v) -> bool:
    return type(v) is int and 0 <= v < 2**64

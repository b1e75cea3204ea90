"""Signed status list: 2 bits per pass serial, zlib-compressed, with its entry count, in a CBOR map."""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from core.signing import Malformed, loads_strict, verify

VALID, SUSPENDED, REVOKED, RESERVED = 0, 1, 2, 3  # 3 is never issued: it fills the unused slots
BITS_PER_ENTRY = 2
MAX_STATUS_LIST_SIZE = 8 << 20  # bytes of COSE accepted from the network
MAX_BITS_BYTES = 16 << 20  # uncompressed: 64M serials; guards against zlib bombs
DEFAULT_LIFETIME = 24 * 3600  # seconds from issued_at to expires_at (GREENLANE_STATUS_LIST_LIFETIME_HOURS)

# Lookup tables moving a 2-bit value to its slot in a byte (slot 0 = top bits).
_SHIFT = [bytes((v << s) if v < 4 else 0 for v in range(256)) for s in (6, 4, 2, 0)]


def _pack_dense(seq: Sequence[int], size: int) -> bytes:
    """Pack a full list of statuses at C speed (bytes.translate + big ints)."""
    try:
        raw = bytes(seq)
    except (ValueError, TypeError):
        raise ValueError("statuses must be 0, 1 or 2") from None
    if raw.translate(None, b"\x00\x01\x02"):
        raise ValueError("statuses must be 0, 1 or 2")
    nbytes = (size + 3) // 4
    raw = raw.ljust(size, b"\x00").ljust(nbytes * 4, bytes([RESERVED]))
    acc = 0
    for slot in range(4):
        acc |= int.from_bytes(raw[slot::4].translate(_SHIFT[slot]), "big")
    return acc.to_bytes(nbytes, "big")


def _padding_mask(count: int) -> int:
    """The bits of the last byte that lie past entry count-1 (0 when the last byte is full)."""
    return 0xFF >> (2 * (count % 4)) if count % 4 else 0


def pack_status_bits(entries: Mapping[int, int] | Sequence[int], size: int) -> bytes:
    """Uncompressed bit string: entry n is bits 2n, 2n+1 from the MSB of byte 0.

    A Mapping lists only the non-valid serials (sparse); a Sequence gives the
    status of serials 0..len-1. Serials not mentioned are valid (0). The unused
    slots of the last byte hold the reserved value 3, which reads as not valid.
    """
    if type(size) is not int or size < 0:
        raise ValueError("size must be a non-negative integer")
    if not isinstance(entries, Mapping):
        if len(entries) > size:
            raise ValueError("more statuses than size")
        return _pack_dense(entries, size)
    buf = bytearray((size + 3) // 4)
    for serial, status in entries.items():
        if type(serial) is not int or not 0 <= serial < size:
            raise ValueError(f"serial {serial!r} out of range")
        if status not in (VALID, SUSPENDED, REVOKED):
            raise ValueError(f"bad status {status!r} for serial {serial}")
        if status:  # default-zero buffer: only touch non-valid entries
            buf[serial >> 2] |= status << (6 - 2 * (serial & 3))
    if buf:
        buf[-1] |= _padding_mask(size)
    return bytes(buf)


def encode_status_bits(entries: Mapping[int, int] | Sequence[int], size: int) -> bytes:
    """zlib (RFC 1950) compressed 2-bits-per-entry string of `size` entries."""
    return zlib.compress(pack_status_bits(entries, size), 9)


def status_at(bits_uncompressed: bytes, serial: int) -> int:
    """Status of one serial; IndexError outside the bit string."""
    if serial < 0:  # Python would silently index from the end
        raise IndexError(serial)
    return (bits_uncompressed[serial >> 2] >> (6 - 2 * (serial & 3))) & 3


def build_status_payload(version: int, issued_at: int, statuses: Mapping[int, int] | Sequence[int], size: int,
                         *, expires_at: int | None = None) -> bytes:
    """CBOR map {1: version, 2: issued_at, 3: 2, 4: zlib bits, 5: size, 6: expires_at}; sign it with Signer."""
    return payload_from_bits(version, issued_at, pack_status_bits(statuses, size), count=size, expires_at=expires_at)


def payload_from_bits(version: int, issued_at: int, bits: bytes, *, count: int | None = None,
                      expires_at: int | None = None) -> bytes:
    """The same payload from an already packed (uncompressed) bit string of `count` entries
    (default: every slot of `bits`), good until `expires_at` (default: DEFAULT_LIFETIME after issued_at).
    Raises ValueError when `bits` cannot hold exactly that many entries or the list would expire at once."""
    count = len(bits) * 4 if count is None else count
    if type(count) is not int or count < 0 or len(bits) != (count + 3) // 4:
        raise ValueError(f"{len(bits)} bytes do not hold exactly {count!r} entries")
    expires_at = issued_at + DEFAULT_LIFETIME if expires_at is None else expires_at
    if expires_at <= issued_at:
        raise ValueError("expires_at must be after issued_at")
    return cbor2.dumps({1: version, 2: issued_at, 3: BITS_PER_ENTRY, 4: zlib.compress(bits, 9), 5: count,
                        6: expires_at}, canonical=True)


@dataclass(frozen=True)
class StatusList:
    version: int
    issued_at: int
    bits: bytes  # uncompressed
    count: int | None = None  # entries covered (payload key 5); None: every slot of `bits`
    expires_at: int | None = None  # payload key 6: past it, an offline verifier refuses (stale_status_list)

    @property
    def size(self) -> int:
        """Entries covered: serials 0..size-1. The slots after them in the last byte are padding."""
        return len(self.bits) * 4 if self.count is None else self.count

    def status(self, serial: int) -> int | None:
        """0 valid, 1 suspended, 2 revoked (3 reserved: treat as not valid).

        None means the serial is at or beyond the list's count: it was issued
        after this list was built, its status is unknown and the caller must
        reject the pass (possibly after fetching a newer list).
        """
        if type(serial) is not int or not 0 <= serial < self.size:
            return None
        return status_at(self.bits, serial)


def _uint(v) -> bool:
    return type(v) is int and 0 <= v < 2**64


def inflate(data: bytes, limit: int) -> bytes:
    """zlib (RFC 1950) data inflated to at most `limit` bytes (a guard against zlib bombs); raises Malformed
    on bad data, on more than `limit` bytes, on a truncated stream and on bytes after its end."""
    d = zlib.decompressobj()
    try:
        out = d.decompress(data, limit)
    except zlib.error as exc:
        raise Malformed("bad zlib data") from exc
    if d.unconsumed_tail or not d.eof or d.unused_data:
        raise Malformed("compressed data too large, truncated or followed by junk")
    return out


def decode_status_payload(payload: bytes, *, max_bits_bytes: int = MAX_BITS_BYTES) -> StatusList:
    """Parse a verified status list payload; raises Malformed.

    A list without its entry count (key 5, added in issue 13) is refused: a device cannot tell its
    padding from valid entries, and the server always sends the count. A list without its expiry (key 6,
    issue 12) is refused too: an old list would otherwise be good forever."""
    m = loads_strict(payload, max_size=MAX_STATUS_LIST_SIZE)
    if not isinstance(m, dict) or set(m) != {1, 2, 3, 4, 5, 6}:
        raise Malformed("status list must be a map with keys 1-6")
    if not (_uint(m[1]) and _uint(m[2]) and _uint(m[5])) or m[3] != BITS_PER_ENTRY or type(m[3]) is not int:
        raise Malformed("bad version, issued_at, bits per entry or count")
    if not _uint(m[6]) or m[6] <= m[2]:
        raise Malformed("expires_at must be an epoch time after issued_at")
    if not isinstance(m[4], bytes):
        raise Malformed("bit string must be a byte string")
    bits = inflate(m[4], max_bits_bytes)
    count = m[5]
    if len(bits) != (count + 3) // 4:
        raise Malformed(f"a bit string of {len(bits)} bytes cannot hold exactly {count} entries")
    mask = _padding_mask(count)
    if mask and bits[-1] & mask != mask:
        raise Malformed("the unused slots after the last entry must hold the reserved value 3")
    return StatusList(m[1], m[2], bits, count, m[6])


def verify_status_list(cose: bytes, keys: Mapping[bytes, Ed25519PublicKey], *,
                       max_size: int = MAX_STATUS_LIST_SIZE) -> tuple[bytes, StatusList]:
    """Verify the signature, then decode; returns (kid, StatusList)."""
    kid, payload = verify(cose, keys, max_size=max_size)
    return kid, decode_status_payload(payload)

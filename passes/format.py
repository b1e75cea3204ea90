"""GreenLane pass payload (CBOR claims) and QR text ("GL1:" + base45 COSE_Sign1)."""

from __future__ import annotations

import functools
import struct
import sys
from array import array
from collections.abc import Mapping
from dataclasses import dataclass

import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from core.signing import MAX_PASS_SIZE, Malformed, Signer, loads_strict, verify

QR_PREFIX = "GL1:"
# base45 turns 2 bytes into 3 characters.
MAX_QR_TEXT = len(QR_PREFIX) + (MAX_PASS_SIZE * 3 + 1) // 2

CATEGORY_CODES: dict[str, int] = {
    "other": 0,
    "grain_oil": 1,
    "vegetables": 2,
    "meat": 3,
    "medicine": 4,
    "express_delivery": 5,
    "food_delivery": 6,
    "utilities": 7,
    "cross_border_freight": 8,
}
CATEGORY_NAMES: dict[int, str] = {v: k for k, v in CATEGORY_CODES.items()}

# Payload map keys.
K_PASS_ID, K_SERIAL, K_PLATE, K_SCOPE, K_CATEGORY = 1, 2, 3, 4, 5
K_VALID_FROM, K_VALID_UNTIL, K_ROUTE, K_HK_PLATE = 6, 7, 8, 9
_REQUIRED = {1, 2, 3, 4, 5, 6, 7}
_KNOWN = _REQUIRED | {K_ROUTE, K_HK_PLATE}
_UINT_MAX = 2**64 - 1


def _is_uint(v) -> bool:
    return type(v) is int and 0 <= v <= _UINT_MAX  # type() so bools are refused


def _is_text(v) -> bool:
    return isinstance(v, str) and v != ""


@dataclass(frozen=True)
class PassClaims:
    """What a pass asserts; validated on construction (ValueError)."""

    pass_id: str
    serial: int
    plate: str
    scope: tuple[int, ...]
    category: str
    valid_from: int
    valid_until: int
    route: tuple[int, int] | None = None
    hk_plate: str | None = None

    def __post_init__(self):
        # Lists are accepted for convenience but stored as tuples (hashable, frozen).
        if isinstance(self.scope, list):
            object.__setattr__(self, "scope", tuple(self.scope))
        if isinstance(self.route, list):
            object.__setattr__(self, "route", tuple(self.route))
        if not _is_text(self.pass_id) or not _is_text(self.plate):
            raise ValueError("pass_id and plate must be non-empty text")
        if not all(_is_uint(v) for v in (self.serial, self.valid_from, self.valid_until)):
            raise ValueError("serial and validity must be unsigned integers")
        if self.valid_until <= self.valid_from:  # window is [valid_from, valid_until)
            raise ValueError("valid_until must be after valid_from")
        if (not isinstance(self.scope, tuple) or not self.scope
                or not all(_is_uint(a) for a in self.scope)):
            raise ValueError("scope must be a non-empty tuple of area codes")
        if self.category not in CATEGORY_CODES:
            raise ValueError(f"unknown category {self.category!r}")
        if self.route is not None and not (
                isinstance(self.route, tuple) and len(self.route) == 2
                and all(_is_uint(s) for s in self.route)):
            raise ValueError("route must be (crossing_site_id, yard_site_id)")
        if self.hk_plate is not None and not _is_text(self.hk_plate):
            raise ValueError("hk_plate must be non-empty text")


def _to_map(c: PassClaims) -> dict:
    m = {
        K_PASS_ID: c.pass_id,
        K_SERIAL: c.serial,
        K_PLATE: c.plate,
        K_SCOPE: list(c.scope),
        K_CATEGORY: CATEGORY_CODES[c.category],
        K_VALID_FROM: c.valid_from,
        K_VALID_UNTIL: c.valid_until,
    }
    if c.route is not None:
        m[K_ROUTE] = list(c.route)
    if c.hk_plate is not None:
        m[K_HK_PLATE] = c.hk_plate
    return m


def encode_claims(c: PassClaims) -> bytes:
    """Canonical CBOR map with integer keys (see docs/pass-format.md)."""
    return cbor2.dumps(_to_map(c), canonical=True)


def decode_claims(payload: bytes) -> PassClaims:
    """Parse a verified payload; raises Malformed on any shape problem.

    Unknown keys are rejected rather than ignored: a key added later could be a
    restriction, and a reader that skipped it would grant more than intended.
    """
    if (fast := _read_canonical_claims(payload)) is not None:
        return fast
    m = loads_strict(payload)
    if not isinstance(m, dict) or not _REQUIRED <= set(m) <= _KNOWN:
        raise Malformed("payload must be a map with keys 1-7 and optionally 8, 9")
    scope, route, code = m[K_SCOPE], m.get(K_ROUTE), m[K_CATEGORY]
    if not isinstance(scope, list) or (route is not None and not isinstance(route, list)):
        raise Malformed("scope and route must be arrays")
    if not _is_uint(code) or code not in CATEGORY_NAMES:
        raise Malformed("unknown category code")
    if (K_ROUTE in m and route is None) or (K_HK_PLATE in m and m[K_HK_PLATE] is None):
        raise Malformed("optional keys are omitted, never null")
    try:
        claims = PassClaims(
            pass_id=m[K_PASS_ID], serial=m[K_SERIAL], plate=m[K_PLATE],
            scope=tuple(scope), category=CATEGORY_NAMES[code],
            valid_from=m[K_VALID_FROM], valid_until=m[K_VALID_UNTIL],
            route=tuple(route) if route is not None else None,
            hk_plate=m.get(K_HK_PLATE),
        )
    except (ValueError, TypeError) as exc:
        raise Malformed(str(exc)) from exc
    # One byte form per pass: anything but our canonical encoding is foreign. The decoded map holds exactly
    # what encode_claims(claims) would write (its values were validated above), so it is re-encoded directly.
    if cbor2.dumps(m, canonical=True) != bytes(payload):
        raise Malformed("payload is not canonical CBOR")
    return claims


# The fast path of decode_claims reads the one canonical byte form directly: a map of 7 to 9 entries (0xa7..0xa9)
# with keys 1..9 in ascending order, each value with its shortest head. Anything it does not recognise
# (None) goes through the general path, which decides and gives the precise error.
# head byte -> (unpack the bytes after it, how many, the least value that needs them): the shortest forms.
# struct reads the big-endian integer in place (a slice and int.from_bytes cost twice as much).
_UINT_FORMS = {0x18 + i: (struct.Struct(">" + code).unpack_from, 1 << i, least)
               for i, (code, least) in enumerate((("B", 24), ("H", 0x100), ("I", 0x10000), ("Q", 0x100000000)))}


def _read_uint(p: bytes, pos: int) -> tuple[int, int]:
    """(value, next position) of a shortest-form unsigned integer at p[pos]; ValueError otherwise (KeyError: not an
    unsigned integer head, struct.error: truncated)."""
    head = p[pos]
    if head < 0x18:
        return head, pos + 1
    unpack, size, least = _UINT_FORMS[head]
    value, = unpack(p, pos + 1)
    if value < least:
        raise ValueError("not a shortest unsigned integer")
    return value, pos + 1 + size


def _read_text(p: bytes, pos: int) -> tuple[str, int]:
    """(text, next position) of a non-empty shortest-form UTF-8 text string at p[pos]; ValueError otherwise."""
    head = p[pos]
    if 0x61 <= head <= 0x77:
        length, pos = head - 0x60, pos + 1
    elif head == 0x78 and p[pos + 1] >= 24:
        length, pos = p[pos + 1], pos + 2
    else:
        raise ValueError("not a short non-empty text string")
    if pos + length > len(p):
        raise ValueError("truncated text string")
    return p[pos:pos + length].decode("utf-8"), pos + length  # strict: UnicodeDecodeError is a ValueError


# count -> (unpack count 4-byte integers each after its head, the heads): area codes all take 4 bytes.
_UINT32_ARRAYS = {n: (struct.Struct(">" + "xI" * n).unpack_from, b"\x1a" * n) for n in range(1, 24)}


def _read_uints(p: bytes, pos: int) -> tuple[tuple[int, ...], int]:
    """(values, next position) of a non-empty array (at most 23 items) of unsigned integers; ValueError otherwise.
    An array of 4-byte integers only (every scope of area codes) is read in one unpack."""
    head = p[pos]
    if not 0x81 <= head <= 0x97:
        raise ValueError("not a short non-empty array")
    count, pos = head - 0x80, pos + 1
    unpack, heads = _UINT32_ARRAYS[count]
    if p[pos:pos + 5 * count:5] == heads:
        values = unpack(p, pos)
        if min(values) < 0x10000:
            raise ValueError("not a shortest unsigned integer")
        return values, pos + 5 * count
    values = []
    for _ in range(count):
        value, pos = _read_uint(p, pos)
        values.append(value)
    return tuple(values), pos


def _read_canonical_claims(payload: bytes) -> PassClaims | None:
    """decode_claims for a payload in exactly the canonical form, or None. It accepts only what the general path
    accepts, with the same claims (tests/unit/test_fast_paths.py compares both on every one-byte change)."""
    p = bytes(payload)
    if not p or not 0xA7 <= p[0] <= 0xA9:
        return None
    try:
        if p[1] != K_PASS_ID:
            return None
        pass_id, pos = _read_text(p, 2)
        if p[pos] != K_SERIAL:
            return None
        serial, pos = _read_uint(p, pos + 1)
        if p[pos] != K_PLATE:
            return None
        plate, pos = _read_text(p, pos + 1)
        if p[pos] != K_SCOPE:
            return None
        scope, pos = _read_uints(p, pos + 1)
        if p[pos] != K_CATEGORY or p[pos + 1] not in CATEGORY_NAMES:
            return None
        category = CATEGORY_NAMES[p[pos + 1]]
        if p[pos + 2] != K_VALID_FROM:
            return None
        valid_from, pos = _read_uint(p, pos + 3)
        if p[pos] != K_VALID_UNTIL:
            return None
        valid_until, pos = _read_uint(p, pos + 1)
        route = hk_plate = None
        extra = p[0] - 0xA7  # entries after key 7: route and/or hk_plate, in that order
        if extra and p[pos] == K_ROUTE:
            if p[pos + 1] != 0x82:  # a route is exactly two site ids
                return None
            route, pos = _read_uints(p, pos + 1)
            extra -= 1
        if extra == 1 and p[pos] == K_HK_PLATE:
            hk_plate, pos = _read_text(p, pos + 1)
            extra -= 1
    except (IndexError, KeyError, ValueError, struct.error):
        return None
    if extra or pos != len(p) or valid_until <= valid_from:
        return None
    # Built without __post_init__: the reader has made each of its checks (non-empty texts, unsigned integers,
    # a non-empty scope, a known category, a two-site route, valid_until after valid_from), and that validation
    # was a third of this function's time.
    claims = object.__new__(PassClaims)
    claims.__dict__.update(pass_id=pass_id, serial=serial, plate=plate, scope=scope, category=category,
                           valid_from=valid_from, valid_until=valid_until, route=route, hk_plate=hk_plate)
    return claims


def to_qr_text(cose: bytes) -> str:
    """QR text for a COSE_Sign1: "GL1:" + base45 (RFC 9285)."""
    return QR_PREFIX + b45encode(cose)


@functools.cache
def _b45_pairs() -> tuple[str, ...]:
    # The three digits of every two-byte value, built once per process on first use (65,536 short strings).
    a = _B45_ALPHABET
    return tuple(a[v % 45] + a[v // 45 % 45] + a[v // 2025] for v in range(65536))


def b45encode(data: bytes) -> str:
    """RFC 9285 base45 encoding (the base45 package's pure-Python encoder was a fifth of an approval):
    each big-endian two-byte value is looked up in a table; a last odd byte gives two digits."""
    whole = len(data) - len(data) % 2
    shorts = array("H", data[:whole])
    if not _BIG_ENDIAN_HOST:
        shorts.byteswap()
    text = "".join(map(_b45_pairs().__getitem__, shorts))
    if whole != len(data):
        text += _B45_ALPHABET[data[-1] % 45] + _B45_ALPHABET[data[-1] // 45]
    return text


def from_qr_text(text: str | bytes) -> bytes:
    """COSE bytes from scanned text; raises only Malformed.

    Surrounding whitespace (scanner CR/LF) is stripped; this is safe because a
    valid base45 string never ends in a space (its last digit is at most 32).
    """
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("ascii")
        except UnicodeDecodeError:
            raise Malformed("QR text must be ASCII") from None
    if not isinstance(text, str):
        raise Malformed("QR text must be a string")
    text = text.strip()
    if len(text) > MAX_QR_TEXT:
        raise Malformed("QR text too long")
    if not text.startswith(QR_PREFIX):
        raise Malformed("missing GL1: prefix")
    return b45decode(text[len(QR_PREFIX):])


_B45_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_B45_VALUES = bytearray(b"\xff" * 256)  # byte -> digit value; 0xff for every byte not in the alphabet
for _digit, _char in enumerate(_B45_ALPHABET):
    _B45_VALUES[ord(_char)] = _digit
_B45_VALUES = bytes(_B45_VALUES)
_BIG_ENDIAN_HOST = sys.byteorder == "big"


def _slot_masks(size: int) -> tuple[int, int, int]:
    """Masks of the high, middle and low byte of every 3-byte slot of a big-endian integer of `size` bytes."""
    ones = int.from_bytes(b"\x00\x00\x01" * (size // 3), "big")
    return ones * 0xFF0000, ones * 0xFF00, ones * 0xFF


# Long enough for any QR text; `&` with a shorter integer reads only that integer's length.
_B45_MASKS = _slot_masks(MAX_QR_TEXT)


def b45decode(text: str) -> bytes:
    """RFC 9285 base45 decoding; raises Malformed. Written out because the base45 package's decoder took
    half of the offline verification time.

    No Python loop: the digits come from bytes.translate and are read as one big integer, three bytes (a, b, c)
    per triple; masks pick each slot's a, b and c, and a + 45b + 2025c is computed for every slot at once (the
    largest, 91124, stays within its 24-bit slot). The two low bytes of every slot are the output; a triple
    above 0xFFFF shows as a non-zero high byte."""
    try:
        values = text.encode("ascii").translate(_B45_VALUES)
    except UnicodeEncodeError:
        raise Malformed("invalid base45 character") from None
    if 0xFF in values:  # an int: a bytes operand would first be tried as an int, an exception raised and cleared
        raise Malformed("invalid base45 character")
    rest = len(values) % 3
    if rest == 1:
        raise Malformed("invalid base45 length")
    whole = len(values) - rest
    high, middle, low = _B45_MASKS if whole <= MAX_QR_TEXT else _slot_masks(whole)
    digits = int.from_bytes(values[:whole], "big")
    total = ((digits & high) >> 16) + 45 * ((digits & middle) >> 8) + 2025 * (digits & low)
    if total & high:
        raise Malformed("invalid base45 triple")
    out = bytearray(total.to_bytes(whole, "big"))
    del out[0::3]
    if rest == 2:
        v = values[whole] + values[whole + 1] * 45
        if v > 0xFF:
            raise Malformed("invalid base45 pair")
        out.append(v)
    return bytes(out)


def issue_qr_text(signer: Signer, claims: PassClaims) -> str:
    """Sign the claims and return the text to put in the QR code."""
    return to_qr_text(signer.sign(encode_claims(claims)))


def read_qr_text(text: str, keys: Mapping[bytes, Ed25519PublicKey]) -> tuple[bytes, PassClaims]:
    """Verify then decode; returns (kid, claims) or raises VerificationError.

    Does not check the validity window, the scope or the status list: callers do.
    """
    kid, payload = verify(from_qr_text(text), keys)
    return kid, decode_claims(payload)

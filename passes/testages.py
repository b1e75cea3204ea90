"""The signed test ages list: per pass serial, how old the freshest negative health test of the pass's drivers
was when the list was issued, so an offline device applies each risk zone's own maximum test age (issue 11)
without seeing any health data. Pure: no Flask, no database (the offline verifier imports it).

One big-endian uint16 per serial, zlib-compressed: the age in whole minutes, rounded up (an offline device
never finds a test younger than it is; it may refuse up to a minute before the server would), or NO_AGE.
NO_AGE marks a serial the status list already stops (suspended, revoked), a pass no longer valid, or one
whose drivers have no negative latest result: the status list speaks for those."""
from __future__ import annotations

import sys
import zlib
from array import array
from collections.abc import Mapping
from dataclasses import dataclass

import cbor2

from core.signing import Malformed, loads_strict
from passes.statuslist import inflate

NO_AGE = 0xFFFF
MAX_AGE_MINUTES = 0xFFFE  # 45 days; older tests are written as this (no zone allows them)
MAX_TEST_AGES_SIZE = 8 << 20  # bytes of COSE accepted from the network
MAX_AGES_BYTES = 32 << 20  # uncompressed: 16M serials; guards against zlib bombs


def ages_minutes(issued_at: int, freshest: Mapping[int, int]) -> dict[int, int]:
    """{serial: minutes} from {serial: epoch seconds of the freshest negative sample (<= issued_at)}."""
    return {serial: min(MAX_AGE_MINUTES, -(-(issued_at - sampled) // 60)) for serial, sampled in freshest.items()}


def pack_ages(ages: Mapping[int, int], count: int) -> bytes:
    """count big-endian uint16, NO_AGE where `ages` ({serial: minutes}) says nothing."""
    buf = array("H", [NO_AGE]) * count
    for serial, minutes in ages.items():
        if type(serial) is not int or not 0 <= serial < count or not 0 <= minutes <= MAX_AGE_MINUTES:
            raise ValueError(f"serial {serial} or age {minutes} out of range")
        buf[serial] = minutes
    if sys.byteorder == "little":
        buf.byteswap()
    return buf.tobytes()


def build_test_ages_payload(version: int, issued_at: int, expires_at: int, ages: Mapping[int, int],
                            count: int) -> bytes:
    """CBOR map {1: version (the status list's), 2: issued_at, 3: expires_at, 4: zlib ages, 5: count}."""
    if expires_at <= issued_at:
        raise ValueError("expires_at must be after issued_at")
    return cbor2.dumps({1: version, 2: issued_at, 3: expires_at, 4: zlib.compress(pack_ages(ages, count), 9),
                        5: count}, canonical=True)


@dataclass(frozen=True)
class AgesList:
    version: int
    issued_at: int
    expires_at: int
    count: int
    ages: bytes  # uncompressed, 2 bytes per serial

    def age_at(self, serial: int, at: int) -> int | None:
        """Upper bound of the freshest negative test's age at `at`, in seconds; None: NO_AGE.
        Raises IndexError for a serial the list does not cover (issued after it: status unknown)."""
        if type(serial) is not int or not 0 <= serial < self.count:
            raise IndexError(serial)
        minutes = int.from_bytes(self.ages[2 * serial:2 * serial + 2], "big")
        return None if minutes == NO_AGE else max(0, at - self.issued_at) + 60 * minutes


def _uint(v) -> bool:
    return type(v) is int and 0 <= v < 2**64


def decode_test_ages_payload(payload: bytes) -> AgesList:
    """Parse a verified test ages payload; raises Malformed."""
    m = loads_strict(payload, max_size=MAX_TEST_AGES_SIZE)
    if not isinstance(m, dict) or set(m) != {1, 2, 3, 4, 5} or not isinstance(m[4], bytes):
        raise Malformed("test ages list must be a map with keys 1-5")
    if not all(_uint(m[k]) for k in (1, 2, 3, 5)) or m[3] <= m[2]:
        raise Malformed("bad version, issued_at, expires_at or count")
    ages = inflate(m[4], MAX_AGES_BYTES)
    if len(ages) != 2 * m[5]:
        raise Malformed("the ages must be 2 bytes per serial")
    return AgesList(m[1], m[2], m[3], m[5], ages)

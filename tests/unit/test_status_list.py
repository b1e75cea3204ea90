"""Unit tests for passes.statuslist: bit layout, payload, signing, speed."""

import random
import time
import zlib

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from core.signing import BadSignature, Malformed, Signer
from passes.statuslist import (
    REVOKED, SUSPENDED, VALID, build_status_payload, decode_status_payload,
    encode_status_bits, pack_status_bits, status_at, verify_status_list,
)

TEST_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))  # published test key
SIGNER = Signer(TEST_KEY)
KEYS = {SIGNER.kid: TEST_KEY.public_key()}


def test_bit_positions_match_the_spec_by_hand():
    # Entry n = bits 2n, 2n+1 from the MSB of byte 0.
    statuses = {0: 2, 1: 1, 3: 2, 4: 1, 9: 2}
    expected = bytes([
        0b10_01_00_10,  # entries 0-3: revoked, suspended, valid, revoked
        0b01_00_00_00,  # entries 4-7: suspended, then valid
        0b00_10_00_11,  # entries 8-10: entry 9 revoked; slot 11 is padding (reserved 3)
    ])
    assert pack_status_bits(statuses, 11) == expected
    assert zlib.decompress(encode_status_bits(statuses, 11)) == expected
    assert [status_at(expected, n) for n in range(12)] == [2, 1, 0, 2, 1, 0, 0, 0, 0, 2, 0, 3]


def test_doc_example():
    assert pack_status_bits({1: SUSPENDED, 6: REVOKED}, 8) == bytes.fromhex("1008")
    payload = build_status_payload(3, 1767196800, {1: 1, 6: 2}, 8)
    assert payload.hex() == "a60103021a695548800302044a78da13e00000002a00190508061a69569a00"
    # Seven serials: the last slot of byte 1 is padding, so it holds the reserved value 3.
    assert pack_status_bits({1: SUSPENDED, 6: REVOKED}, 7) == bytes.fromhex("100b")
    assert build_status_payload(3, 1767196800, {1: 1, 6: 2}, 7).hex() == (
        "a60103021a695548800302044a78da13e00600002d001c0507061a69569a00")


def test_sequence_and_mapping_agree():
    seq = [0, 1, 2, 0, 0, 2, 1]
    sparse = {i: v for i, v in enumerate(seq) if v}
    assert pack_status_bits(seq, 10) == pack_status_bits(sparse, 10)
    assert pack_status_bits(bytes(seq), 10) == pack_status_bits(sparse, 10)
    assert pack_status_bits([], 0) == b"" == pack_status_bits({}, 0)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([VALID, SUSPENDED, REVOKED]), max_size=300), st.integers(0, 9))
def test_property_pack_then_read(seq, extra):
    size = len(seq) + extra
    bits = pack_status_bits(seq, size)
    assert bits == pack_status_bits({i: v for i, v in enumerate(seq)}, size)
    assert len(bits) == (size + 3) // 4
    assert [status_at(bits, i) for i in range(size)] == seq + [0] * extra
    assert [status_at(bits, i) for i in range(size, len(bits) * 4)] == [3] * (-size % 4)


@pytest.mark.parametrize("entries,size", [
    ({5: 1}, 5), ({-1: 1}, 5), ({0: 3}, 5), ({0: -1}, 5), ({"0": 1}, 5),
    ([0, 3], 5), ([0, 1, 2], 2), ([256], 5), ({}, -1),
])
def test_invalid_entries(entries, size):
    with pytest.raises(ValueError):
        encode_status_bits(entries, size)


def test_status_beyond_the_end_is_unknown():
    sl = decode_status_payload(build_status_payload(1, 100, {2: REVOKED}, 5))
    assert (sl.version, sl.issued_at, sl.size) == (1, 100, 5)  # the count, not the 8 slots of 2 bytes
    assert [sl.status(n) for n in range(8)] == [0, 0, 2, 0, 0, None, None, None]
    assert sl.status(8) is None and sl.status(-1) is None and sl.status(10**9) is None
    with pytest.raises(IndexError):
        status_at(sl.bits, -1)


def test_one_million_serials_one_percent_revoked_is_fast():
    size = 1_000_000
    rng = random.Random(42)
    revoked = {s: REVOKED for s in rng.sample(range(size), size // 100)}
    t0 = time.perf_counter()
    payload = build_status_payload(1, 1767196800, revoked, size)
    elapsed = time.perf_counter() - t0
    compressed = cbor2.loads(payload)[4]
    print(f"\nstatus list 1e6 serials, 1% revoked: built in {elapsed * 1000:.0f} ms, "
          f"{len(compressed)} B compressed, payload {len(payload)} B")
    assert elapsed < 0.5
    sl = decode_status_payload(payload)
    assert sl.size == size and all(sl.status(s) == REVOKED for s in list(revoked)[:1000])
    assert sum(sl.status(s) == REVOKED for s in range(0, size, 97)) < size // 97 // 50
    t0 = time.perf_counter()
    dense = [0] * size
    for s in revoked:
        dense[s] = REVOKED
    assert pack_status_bits(dense, size) == sl.bits
    assert time.perf_counter() - t0 < 0.5


def test_signed_status_list_round_trip_needs_a_larger_limit():
    rng = random.Random(7)
    suspended = {s: SUSPENDED for s in rng.sample(range(10**5), 10**4)}
    payload = build_status_payload(2, 1767196800, suspended, 10**5)
    cose = SIGNER.sign(payload)
    assert len(cose) > 4096  # bigger than a pass may be
    kid, sl = verify_status_list(cose, KEYS)
    assert kid == SIGNER.kid and sl.version == 2 and sl.size == 10**5
    with pytest.raises(Malformed):
        verify_status_list(cose, KEYS, max_size=4096)
    with pytest.raises(BadSignature):
        verify_status_list(cose[:-1] + bytes([cose[-1] ^ 1]), KEYS)


def status_map(**changes):
    m = {1: 1, 2: 100, 3: 2, 4: zlib.compress(b"\x00"), 5: 4, 6: 100 + 86400}
    m.update({int(k[1:]): v for k, v in changes.items()})
    m = {k: v for k, v in m.items() if v is not None}
    return cbor2.dumps(m)


@pytest.mark.parametrize("payload", [
    status_map(k3=1), status_map(k3=2.0), status_map(k1=-1), status_map(k4=b"not zlib"),
    status_map(k4=zlib.compress(b"\x00")[:-2]), status_map(k4=zlib.compress(b"\x00") + b"x"),
    status_map(k7=0), status_map(k4="text"),
    status_map(k6=None), status_map(k6=100), status_map(k6=99), status_map(k6=-1), status_map(k6=1.5e9), cbor2.dumps([1, 2, 3, 4]), b"\xa0", b"",
])
def test_malformed_status_payloads(payload):
    with pytest.raises(Malformed):
        decode_status_payload(payload)


def test_zlib_bomb_is_bounded():
    bomb = status_map(k4=zlib.compress(bytes(1 << 20)), k5=4 << 20)
    assert decode_status_payload(bomb).size == 4 << 20
    with pytest.raises(Malformed):
        decode_status_payload(bomb, max_bits_bytes=1 << 19)

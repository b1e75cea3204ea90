"""Issue 13 item 6: a status list carries its entry count (CBOR key 5) and pads unused slots with the
reserved value 3, so a serial issued after the list was built reads as unknown, never as valid."""
import zlib

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core.signing import Malformed, Signer
from passes.format import PassClaims
from passes.statuslist import (
    REVOKED, SUSPENDED, build_status_payload, decode_status_payload, pack_status_bits, payload_from_bits,
)
from passes.verifier import KeyInfo, load_status_list, status_from_list

TEST_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))  # published test key
SIGNER = Signer(TEST_KEY)
TRUST = {SIGNER.kid: KeyInfo(TEST_KEY.public_key(), "active")}


def claims(serial: int) -> PassClaims:
    return PassClaims(pass_id="7K3M9QXA", serial=serial, plate="粤B12345", scope=(440304001,), category="vegetables",
                      valid_from=1767196800, valid_until=1767456000)


def test_a_list_for_serials_0_to_4_reads_serial_5_as_unknown():
    payload = build_status_payload(3, 1767196800, {1: SUSPENDED, 3: REVOKED}, 5)
    status_list = decode_status_payload(payload)
    assert status_list.size == 5
    assert [status_list.status(n) for n in range(8)] == [0, 1, 0, 2, 0, None, None, None]
    lookup = status_from_list(status_list)
    assert [lookup(claims(n)) for n in (0, 3, 4, 5, 6, 7)] == [0, REVOKED, 0, None, None, None]


def test_the_payload_carries_the_count_and_pads_unused_slots_with_3():
    m = cbor2.loads(build_status_payload(3, 1767196800, {1: SUSPENDED}, 5))
    assert set(m) == {1, 2, 3, 4, 5, 6} and m[5] == 5 and m[6] == 1767196800 + 86400
    # Entries 0-3, then entry 4 valid and the three unused slots of the last byte reserved (3).
    assert zlib.decompress(m[4]) == bytes([0b00_01_00_00, 0b00_11_11_11])


def test_padding_is_3_for_dense_and_sparse_input_alike():
    assert pack_status_bits([0, 1, 2, 0, 0], 5) == pack_status_bits({1: 1, 2: 2}, 5) == bytes([0b00_01_10_00, 0x3F])
    assert pack_status_bits([], 1) == bytes([0x3F])
    assert pack_status_bits({}, 4) == b"\x00"  # a full byte needs no padding


def test_the_offline_loader_reads_a_signed_list_with_its_count():
    status_list = load_status_list(SIGNER.sign(build_status_payload(1, 100, {}, 5)), TRUST)
    assert status_from_list(status_list)(claims(4)) == 0
    assert status_from_list(status_list)(claims(5)) is None


def test_payload_from_bits_takes_the_count_or_counts_every_slot():
    bits = pack_status_bits({2: REVOKED}, 6)
    assert decode_status_payload(payload_from_bits(1, 100, bits, count=6)).size == 6
    assert decode_status_payload(payload_from_bits(1, 100, b"\x00\x00")).size == 8
    with pytest.raises(ValueError):
        payload_from_bits(1, 100, bits, count=9)  # 2 bytes hold at most 8 entries


def _map(**changes) -> bytes:
    m = {1: 1, 2: 100, 3: 2, 4: zlib.compress(bytes([0b00_11_11_11])), 5: 1, 6: 200}
    for key, value in changes.items():
        if value is None:
            m.pop(int(key[1:]))
        else:
            m[int(key[1:])] = value
    return cbor2.dumps(m)


def test_the_reference_map_is_well_formed():
    assert decode_status_payload(_map()).size == 1


@pytest.mark.parametrize("payload", [
    _map(k5=None),  # an old list without its count: refused, the server always sends key 5
    _map(k5=-1), _map(k5="1"), _map(k5=1.0),
    _map(k5=5),  # more entries than the bit string holds
    _map(k5=0),  # a whole byte more than the count needs
    _map(k4=zlib.compress(b"\x00")),  # unused slots padded with 0 (valid) instead of 3
    _map(k4=zlib.compress(bytes([0b00_11_01_11]))),
    _map(k7=0),
    _map(k6=None),  # a list without its expiry: good forever, refused (issue 12)
])
def test_a_list_without_a_consistent_count_or_padding_is_malformed(payload):
    with pytest.raises(Malformed):
        decode_status_payload(payload)

"""Unit tests for core.signing: COSE_Sign1 signing, strict decoding, key handling."""

import hashlib

import cbor2
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from core.signing import (
    BadSignature, Malformed, Signer, UnknownKey, VerificationError, b64url,
    b64url_decode, decode_sign1, decrypt_private_key, encrypt_private_key, key_id,
    loads_strict, sig_structure, verify,
)

TEST_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))  # published test key
SIGNER = Signer(TEST_KEY)
KEYS = {SIGNER.kid: TEST_KEY.public_key()}
PAYLOAD = cbor2.dumps({1: "7K3M9QXA", 2: 7}, canonical=True)


def raw_pub(key):
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def forge(protected_map, unprotected=None, payload=PAYLOAD, key=TEST_KEY, sig=None):
    """A COSE_Sign1 with a chosen header, validly signed, to test structure checks."""
    protected = cbor2.dumps(protected_map)
    if sig is None:
        sig = key.sign(sig_structure(protected, payload))
    return cbor2.dumps([protected, {} if unprotected is None else unprotected, payload, sig])


def test_key_id_is_sha256_prefix_of_raw_public_key():
    expected = hashlib.sha256(raw_pub(TEST_KEY.public_key())).digest()[:8]
    assert key_id(TEST_KEY.public_key()) == expected == SIGNER.kid
    assert SIGNER.kid.hex() == "56475aa75463474c"


def test_round_trip_and_exact_layout():
    cose = SIGNER.sign(PAYLOAD)
    assert verify(cose, KEYS) == (SIGNER.kid, PAYLOAD)
    assert cose[0] == 0x84  # untagged array of 4
    protected, unprotected, payload, sig = cbor2.loads(cose)
    assert protected == bytes.fromhex("a201270448") + SIGNER.kid
    assert unprotected == {} and payload == PAYLOAD and len(sig) == 64
    assert SIGNER.sign(PAYLOAD) == cose  # Ed25519 is deterministic


def test_third_party_check_with_cbor2_and_cryptography_only():
    protected, _, payload, sig = cbor2.loads(SIGNER.sign(PAYLOAD))
    to_be_signed = cbor2.dumps(["Signature1", protected, b"", payload])
    TEST_KEY.public_key().verify(sig, to_be_signed)  # raises if wrong


def test_tag_18_is_accepted_other_tags_are_not():
    cose = SIGNER.sign(PAYLOAD)
    assert verify(b"\xd2" + cose, KEYS) == (SIGNER.kid, PAYLOAD)
    assert verify(cbor2.dumps(cbor2.CBORTag(18, cbor2.loads(cose))), KEYS)[1] == PAYLOAD
    for prefix in (b"\xd8\x12", b"\xd8\x62", b"\xc1", b"\xd2\xd2"):
        with pytest.raises(Malformed):
            decode_sign1(prefix + cose)


def test_unknown_key_and_bad_signature():
    cose = SIGNER.sign(PAYLOAD)
    other = Ed25519PrivateKey.generate().public_key()
    with pytest.raises(UnknownKey) as e:
        verify(cose, {key_id(other): other})
    assert e.value.reason == "unknown_key"
    # Right kid, wrong key: the signature cannot match.
    with pytest.raises(BadSignature) as e:
        verify(cose, {SIGNER.kid: other})
    assert e.value.reason == "bad_signature"
    tampered = forge({1: -8, 4: SIGNER.kid}, payload=PAYLOAD,
                     sig=TEST_KEY.sign(b"something else"))
    with pytest.raises(BadSignature):
        verify(tampered, KEYS)


def test_reason_codes():
    assert issubclass(Malformed, VerificationError)
    assert (Malformed.reason, UnknownKey.reason, BadSignature.reason) == (
        "malformed", "unknown_key", "bad_signature")


KID = SIGNER.kid
MALFORMED_CASES = {
    "not cbor": b"\xff\x00",
    "empty": b"",
    "array of 3": cbor2.dumps([b"", {}, PAYLOAD]),
    "map not array": cbor2.dumps({1: 2}),
    "protected not bstr": cbor2.dumps([{1: -8}, {}, PAYLOAD, bytes(64)]),
    "payload nil (detached)": cbor2.dumps([cbor2.dumps({1: -8, 4: KID}), {}, None, bytes(64)]),
    "payload text": cbor2.dumps([cbor2.dumps({1: -8, 4: KID}), {}, "x", bytes(64)]),
    "short signature": forge({1: -8, 4: KID}, sig=bytes(63)),
    "alg ES256": forge({1: -7, 4: KID}),
    "alg as text": forge({1: "EdDSA", 4: KID}),
    "missing kid": forge({1: -8}),
    "short kid": forge({1: -8, 4: KID[:7]}),
    "kid as text": forge({1: -8, 4: KID.hex()}),
    "crit header": forge({1: -8, 2: [4], 4: KID}),
    "extra protected header": forge({1: -8, 3: 0, 4: KID}),
    "kid in unprotected": forge({1: -8, 4: KID}, unprotected={4: KID}),
    "non-canonical protected": forge({4: KID, 1: -8}),
    "trailing byte": SIGNER.sign(PAYLOAD) + b"\x00",
    "truncated": SIGNER.sign(PAYLOAD)[:-1],
    "indefinite array": b"\x9f" + SIGNER.sign(PAYLOAD)[1:] + b"\xff",
    "non-minimal signature length": SIGNER.sign(PAYLOAD)[:-66] + b"\x59\x00\x40"
    + SIGNER.sign(PAYLOAD)[-64:],
}


@pytest.mark.parametrize("name", sorted(MALFORMED_CASES))
def test_malformed_inputs(name):
    with pytest.raises(Malformed):
        verify(MALFORMED_CASES[name], KEYS)


def test_strict_cbor_refuses_every_tag_and_indefinite_lengths():
    assert loads_strict(cbor2.dumps({1: [b"x", "y"]})) == {1: [b"x", "y"]}
    for tagged in (cbor2.CBORTag(1, 0), cbor2.CBORTag(2, b"\x01"), cbor2.CBORTag(30, [1, 2]),
                   cbor2.CBORTag(35, "a+"), cbor2.CBORTag(28, b"x"), cbor2.CBORTag(9999, 1)):
        with pytest.raises(Malformed):
            loads_strict(cbor2.dumps([tagged]))
    for bad in (b"\x9f\xff", b"\x5f\x41\x00\xff", b"\xa2\x01\x01\x01\x02", b"\x01\x01"):
        with pytest.raises(Malformed):
            loads_strict(bad)


def test_size_limit_is_a_parameter():
    cose = SIGNER.sign(bytes(5000))
    with pytest.raises(Malformed):
        verify(cose, KEYS)
    assert verify(cose, KEYS, max_size=10_000)[1] == bytes(5000)


def test_every_single_bit_flip_of_a_real_document_is_rejected():
    cose = SIGNER.sign(PAYLOAD)
    for i in range(len(cose) * 8):
        flipped = bytearray(cose)
        flipped[i // 8] ^= 0x80 >> (i % 8)
        with pytest.raises(VerificationError):
            verify(bytes(flipped), KEYS)


@settings(max_examples=300, deadline=None)
@given(payload=st.binary(max_size=300), data=st.data(), tagged=st.booleans())
def test_property_bit_flip_never_verifies(payload, data, tagged):
    cose = (b"\xd2" if tagged else b"") + SIGNER.sign(payload)
    bit = data.draw(st.integers(0, len(cose) * 8 - 1))
    flipped = bytearray(cose)
    flipped[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(VerificationError):
        verify(bytes(flipped), KEYS)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=5000))
def test_random_bytes_raise_only_malformed(blob):
    for candidate in (blob, b"\x84" + blob, b"\xd2\x84" + blob):
        with pytest.raises(Malformed):
            decode_sign1(candidate)


cbor_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**64, 2**64) | st.binary(max_size=70)
    | st.text(max_size=10) | st.floats(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(
        st.integers(-10, 10) | st.text(max_size=3), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(cbor_values, min_size=0, max_size=5))
def test_well_formed_cbor_of_wrong_shape_is_malformed(items):
    with pytest.raises(Malformed):
        decode_sign1(cbor2.dumps(items))


def test_signer_repr_hides_key_material():
    secret = TEST_KEY.private_bytes(serialization.Encoding.Raw,
                                    serialization.PrivateFormat.Raw,
                                    serialization.NoEncryption())
    text = repr(SIGNER) + str(SIGNER)
    assert SIGNER.kid.hex() in text
    for leak in (secret.hex(), b64url(secret), "PRIVATE"):
        assert leak not in text
    with pytest.raises(TypeError):
        Signer(TEST_KEY.public_key())


def test_encrypted_private_key_round_trip():
    pem = encrypt_private_key(TEST_KEY, b"correct horse")
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    key = decrypt_private_key(pem, b"correct horse")
    assert raw_pub(key.public_key()) == raw_pub(TEST_KEY.public_key())
    with pytest.raises(ValueError):
        decrypt_private_key(pem, b"wrong horse")
    with pytest.raises(ValueError):
        decrypt_private_key(b"not a pem", b"correct horse")


def test_b64url():
    x = raw_pub(TEST_KEY.public_key())
    assert b64url(x) == "A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg"
    assert b64url_decode(b64url(x)) == x and b64url_decode(b64url(KID)) == KID
    assert b64url(b"\xfb\xff") == "-_8"
    for bad in ("A6E=", "A+/", "A", "AB!", "AB", "é"):  # "AB" has loose bits
        with pytest.raises(ValueError):
            b64url_decode(bad)

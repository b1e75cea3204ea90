"""Unit tests for passes.format: claims CBOR, QR text, and the published doc example."""

import contextlib
import io
import pathlib
import re

import base45
import cbor2
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from core.signing import Malformed, Signer, UnknownKey, VerificationError
from passes.format import (
    CATEGORY_CODES, PassClaims, decode_claims, encode_claims, from_qr_text,
    issue_qr_text, read_qr_text, to_qr_text,
)
from passes.format import b45decode
from passes.qr import qr_version
from passes.rules import ID_ALPHABET, ID_LENGTH, new_pass_id

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "pass-format.md"
TEST_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))  # published test key
SIGNER = Signer(TEST_KEY)
KEYS = {SIGNER.kid: TEST_KEY.public_key()}
WEEK = 7 * 86400
# Typical pass: an 8-char Crockford base32 id (as new_pass_id makes), one plate,
# three 9-digit Shenzhen street codes, one week. This is docs/pass-format.md's example.
TYPICAL = PassClaims(
    pass_id="7K3M9QXA", serial=123456, plate="粤B12345D",
    scope=(440304010, 440304011, 440305003), category="vegetables",
    valid_from=1767196800, valid_until=1767196800 + WEEK,
)
# Edge values (serial 0, epoch 0) with both optional keys.
CROSS_BORDER = PassClaims(
    pass_id="7K3M9QXB", serial=0, plate="粤Z1234港",
    scope=(440304,), category="cross_border_freight", valid_from=0, valid_until=1,
    route=(3, 17), hk_plate="AB1234",
)
# The size example of docs/pass-format.md: the typical pass as a cross-border one.
CROSS_BORDER_TYPICAL = PassClaims(**{
    **TYPICAL.__dict__, "plate": "粤Z1234港", "category": "cross_border_freight",
    "route": (3, 17), "hk_plate": "AB1234",
})


def test_category_codes_are_the_documented_mapping():
    assert CATEGORY_CODES == {
        "other": 0, "grain_oil": 1, "vegetables": 2, "meat": 3, "medicine": 4,
        "express_delivery": 5, "food_delivery": 6, "utilities": 7,
        "cross_border_freight": 8,
    }


@pytest.mark.parametrize("claims", [TYPICAL, CROSS_BORDER, CROSS_BORDER_TYPICAL])
def test_claims_round_trip(claims):
    payload = encode_claims(claims)
    assert decode_claims(payload) == claims
    assert payload == cbor2.dumps(cbor2.loads(payload), canonical=True)


def test_payload_uses_integer_keys_exactly():
    assert cbor2.loads(encode_claims(TYPICAL)) == {
        1: "7K3M9QXA", 2: 123456, 3: "粤B12345D",
        4: [440304010, 440304011, 440305003], 5: 2, 6: 1767196800, 7: 1767196800 + WEEK,
    }
    assert cbor2.loads(encode_claims(CROSS_BORDER))[8] == [3, 17]
    assert cbor2.loads(encode_claims(CROSS_BORDER))[9] == "AB1234"


def test_qr_text_round_trip_and_read():
    text = issue_qr_text(SIGNER, TYPICAL)
    assert text.startswith("GL1:") and re.fullmatch(r"GL1:[0-9A-Z $%*+\-./:]+", text)
    assert read_qr_text(text, KEYS) == (SIGNER.kid, TYPICAL)
    assert read_qr_text(" \r\n" + text + "\r\n", KEYS)[1] == TYPICAL
    tagged = to_qr_text(b"\xd2" + from_qr_text(text))
    assert read_qr_text(tagged, KEYS)[1] == TYPICAL
    with pytest.raises(UnknownKey):
        read_qr_text(text, {})


def measure(claims):
    cose = SIGNER.sign(encode_claims(claims))
    text = to_qr_text(cose)
    return len(encode_claims(claims)), len(cose), len(text), qr_version(text)


def test_typical_pass_id_has_the_issued_format():
    assert len(TYPICAL.pass_id) == ID_LENGTH == 8
    assert set(TYPICAL.pass_id) <= set(ID_ALPHABET)


def test_typical_pass_size_and_qr_version():
    payload, cose, chars, (version, modules) = measure(TYPICAL)
    print(f"\ntypical pass: payload {payload} B, COSE {cose} B, "
          f"QR text {chars} chars, QR version {version} ({modules}x{modules}) at M")
    assert version <= 8
    # Measured values quoted in docs/pass-format.md section 9.
    assert (payload, cose, chars, version, modules) == (60, 144, 220, 8, 49)


def test_typical_pass_fits_version_8_whatever_id_is_issued():
    for _ in range(20):
        claims = PassClaims(**{**TYPICAL.__dict__, "pass_id": new_pass_id()})
        assert measure(claims)[3] == (8, 49)


def test_one_more_payload_byte_needs_version_9():
    # The typical pass fills v8-M exactly (144-byte COSE, 220 of 221 chars):
    # a plate ending in a 3-byte character is one byte more. Documented in section 9.
    assert measure(PassClaims(**{**TYPICAL.__dict__, "plate": "粤B1234学"})) == (
        61, 145, 222, (9, 53))


def test_cross_border_pass_needs_version_9():
    payload, cose, chars, (version, modules) = measure(CROSS_BORDER_TYPICAL)
    print(f"\ncross-border pass: payload {payload} B, COSE {cose} B, "
          f"QR text {chars} chars, QR version {version} ({modules}x{modules}) at M")
    assert (payload, cose, chars, version, modules) == (73, 157, 240, 9, 53)


def test_third_party_verification_with_cbor2_and_cryptography_only():
    text = issue_qr_text(SIGNER, TYPICAL)
    protected, unprotected, payload, sig = cbor2.loads(base45.b45decode(text[4:]))
    assert cbor2.loads(protected) == {1: -8, 4: SIGNER.kid} and unprotected == {}
    TEST_KEY.public_key().verify(sig, cbor2.dumps(["Signature1", protected, b"", payload]))
    assert cbor2.loads(payload)[3] == "粤B12345D"


def good_map(**changes):
    m = cbor2.loads(encode_claims(TYPICAL))
    for k, v in changes.items():
        if v is ...:
            del m[int(k[1:])]
        else:
            m[int(k[1:])] = v
    return m


BAD_MAPS = {
    "unknown category": good_map(k5=9),
    "category as text": good_map(k5="vegetables"),
    "negative serial": good_map(k2=-1),
    "serial as bool": good_map(k2=True),
    "serial as float": good_map(k2=1.0),
    "negative area": good_map(k4=[-440304]),
    "empty scope": good_map(k4=[]),
    "scope not array": good_map(k4=440304),
    "plate as bytes": good_map(k3=b"B12345"),
    "empty pass id": good_map(k1=""),
    "missing plate": good_map(k3=...),
    "missing valid until": good_map(k7=...),
    "until before from": good_map(k7=1767196800 - 1),
    "unknown key": good_map(k10=1),
    "text key": {**good_map(), "1": "x"},
    "null route": good_map(k8=None),
    "route of 3": good_map(k8=[1, 2, 3]),
    "null hk plate": good_map(k9=None),
    "array not map": [1, 2, 3],
}


@pytest.mark.parametrize("name", sorted(BAD_MAPS))
def test_decode_claims_rejects_bad_shapes(name):
    with pytest.raises(Malformed):
        decode_claims(cbor2.dumps(BAD_MAPS[name], canonical=True))


def test_decode_claims_rejects_non_canonical_and_junk():
    m = good_map()
    items = (cbor2.dumps(k) + cbor2.dumps(m[k]) for k in (7, 6, 5, 4, 3, 2, 1))
    reordered = b"\xa7" + b"".join(items)
    assert cbor2.loads(reordered) == m
    for bad in (reordered, encode_claims(TYPICAL) + b"\x00", cbor2.dumps(cbor2.CBORTag(1, m)), b""):
        with pytest.raises(Malformed):
            decode_claims(bad)


def test_claims_validation_on_construction():
    base = TYPICAL.__dict__
    for change in ({"category": "weapons"}, {"serial": -1}, {"scope": ()},
                   {"valid_until": base["valid_from"]}, {"route": (1,)}, {"plate": ""}):
        with pytest.raises(ValueError):
            PassClaims(**{**base, **change})
    assert PassClaims(**{**base, "scope": [440304]}).scope == (440304,)


@pytest.mark.parametrize("text", [
    "gl1:" + issue_qr_text(SIGNER, TYPICAL)[4:], "GL2:AAA", "HC1:AAA", "",
    "GL1:GGW", "GL1:G", "GL1:abc", "GL1:" + "0" * 7000, "GL1:é", b"GL1:\xff", 12,
])
def test_from_qr_text_rejects(text):
    with pytest.raises(Malformed):
        from_qr_text(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300) | st.binary(max_size=300)
       | st.text("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:", max_size=400).map(
           lambda s: "GL1:" + s))
def test_arbitrary_qr_text_raises_only_verification_errors(text):
    try:
        cose = from_qr_text(text)
    except Malformed:
        return
    with pytest.raises(VerificationError):
        read_qr_text(text, KEYS)
    assert isinstance(cose, bytes)


claims_strategy = st.builds(
    PassClaims,
    pass_id=st.text(min_size=1, max_size=40), serial=st.integers(0, 2**64 - 1),
    plate=st.text(min_size=1, max_size=12),
    scope=st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=6).map(tuple),
    category=st.sampled_from(sorted(CATEGORY_CODES)),
    valid_from=st.integers(0, 2**40), valid_until=st.integers(2**40 + 1, 2**64 - 1),
    route=st.none() | st.tuples(st.integers(0, 2**32), st.integers(0, 2**32)),
    hk_plate=st.none() | st.text(min_size=1, max_size=8),
)


@settings(max_examples=200, deadline=None)
@given(claims_strategy)
def test_property_issue_then_read(claims):
    assert read_qr_text(issue_qr_text(SIGNER, claims), KEYS) == (SIGNER.kid, claims)


def doc_snippet() -> str:
    text = DOC.read_text(encoding="utf-8")
    m = re.search(r"<!-- snippet: verify -->\s*```python\n(.*?)```", text, re.S)
    assert m, "verify snippet missing from docs/pass-format.md"
    return m.group(1)


def run_snippet(src: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(src, str(DOC), "exec"), {"__name__": "doc_snippet"})
    return out.getvalue()


def test_doc_example_is_what_the_code_produces():
    text = issue_qr_text(SIGNER, TYPICAL)
    assert f'QR_TEXT = "{text}"' in doc_snippet()
    doc = DOC.read_text(encoding="utf-8")
    assert text in doc.split("<!-- snippet: verify -->")[0]
    assert TEST_KEY.public_key().public_bytes_raw().hex() in doc
    assert "TEST key" in doc


def test_doc_snippet_verifies_and_rejects_tampering():
    src = doc_snippet()
    assert len(src.strip().splitlines()) <= 30
    assert re.findall(r"^(?:import|from) (\S+)", src, re.M) == [
        "base64", "hashlib", "base45", "cbor2", "cryptography.hazmat.primitives.asymmetric.ed25519"]
    printed = run_snippet(src)
    assert printed.strip() == str(cbor2.loads(encode_claims(TYPICAL)))
    text = issue_qr_text(SIGNER, TYPICAL)
    tampered = text.replace("GL1:TWGS", "GL1:TWGT", 1)  # changes a byte of the header
    tampered_sig = text[:-5] + ("1" if text[-5] != "1" else "2") + text[-4:]
    for bad in (tampered, tampered_sig):
        with pytest.raises((InvalidSignature, KeyError, ValueError, AssertionError)):
            run_snippet(src.replace(text, bad))
    with pytest.raises(InvalidSignature):
        run_snippet(src.replace(text, tampered_sig))


@given(st.binary(max_size=300))
@settings(derandomize=True, database=None, max_examples=300)
def test_our_base45_decoder_agrees_with_the_base45_package(data):
    assert b45decode(base45.b45encode(data).decode()) == data


@pytest.mark.parametrize("bad", ["A", "GGW", "ZZZ", "abc", "::", "é"])
def test_our_base45_decoder_refuses_what_rfc_9285_forbids(bad):
    with pytest.raises(Malformed):
        b45decode(bad)

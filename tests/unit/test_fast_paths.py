"""The offline verifier's fast paths decide exactly as the general code they bypass: the sliced COSE_Sign1
parser (core.signing._split_canonical) against the generic strict CBOR parser, and the loop-free base45
decoder against the RFC 9285 definition written out plainly, and the claims reader against strict CBOR
decoding with its canonical re-encoding. Differential tests over real documents, every single-byte change of
one, non-canonical re-encodings, and seeded random strings; and the scope rules memoised on the policy object
against the rules themselves, with a new policy object for every change."""
import dataclasses
import random

import base45
import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core import signing
from core.areas import read_reference_areas
from core.signing import Malformed, Signer, decode_sign1, sig_structure
from passes import format as pass_format
from passes import verifier
from passes.format import PassClaims, b45decode, b45encode, decode_claims, encode_claims, issue_qr_text
from passes.policy import Policy, RiskLevel, decode_bundle, encode_bundle
from passes.verifier import KeyInfo, check_pass, scope_reasons

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
SIGNER = Signer(Ed25519PrivateKey.from_private_bytes(bytes(range(32))))


def _reference_b45decode(text: str) -> bytes:
    values = [ALPHABET.index(c) if c in ALPHABET else None for c in text]
    if None in values or len(values) % 3 == 1:
        raise Malformed("bad")
    out = bytearray()
    for i in range(0, len(values) - len(values) % 3, 3):
        v = values[i] + 45 * values[i + 1] + 2025 * values[i + 2]
        if v > 0xFFFF:
            raise Malformed("bad")
        out += v.to_bytes(2, "big")
    if len(values) % 3 == 2:
        v = values[-2] + 45 * values[-1]
        if v > 0xFF:
            raise Malformed("bad")
        out.append(v)
    return bytes(out)


def _outcome(decode, arg):
    try:
        return decode(arg)
    except Malformed:
        return "malformed"


def _general(document: bytes, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(signing, "_split_canonical", lambda body, max_size: None)
        return _outcome(decode_sign1, document)


def _fields(result):
    if isinstance(result, str):
        return result
    return (result.protected_bytes, result.kid, result.alg, result.payload, result.signature, result.sig_structure())


@pytest.mark.parametrize("size", [0, 1, 23, 24, 255, 256, 1000])
def test_the_sliced_parser_agrees_with_the_general_one_on_every_one_byte_change(size, monkeypatch):
    document = SIGNER.sign(bytes(range(256)) * 4 if size == 1000 else bytes(size))
    assert signing._split_canonical(document, signing.MAX_PASS_SIZE) is not None  # the fast path is taken
    variants = [document, b"\xd2" + document, document[:-1], document + b"\x00", document[1:]]
    for i in range(len(document)):
        for value in (document[i] ^ 0x01, document[i] ^ 0x80, 0x00, 0xFF):
            variants.append(document[:i] + bytes((value,)) + document[i + 1:])
    for variant in variants:
        fast, general = _fields(_outcome(decode_sign1, variant)), _fields(_general(variant, monkeypatch))
        assert fast == general, variant.hex()


def test_the_sliced_parser_takes_no_non_canonical_form(monkeypatch):
    protected, payload = cbor2.dumps({1: -8, 4: SIGNER.kid}, canonical=True), b"\x01" * 30
    signature = SIGNER._key.sign(sig_structure(protected, payload))
    # A one-byte length written in two bytes, and the payload length in the long form: foreign byte forms.
    long_payload = b"\x84" + cbor2.dumps(protected) + b"\xa0" + b"\x59\x00\x1e" + payload + cbor2.dumps(signature)
    long_protected = b"\x84\x58\x0d" + protected + b"\xa0" + cbor2.dumps(payload) + cbor2.dumps(signature)
    for document in (long_payload, long_protected):
        assert signing._split_canonical(document, signing.MAX_PASS_SIZE) is None
        assert _outcome(decode_sign1, document) == "malformed" == _general(document, monkeypatch)


def test_the_sliced_parser_builds_the_same_sig_structure_as_cbor2():
    for size in (0, 23, 24, 255, 256, 3000):
        document = SIGNER.sign(b"\x07" * size)
        message = decode_sign1(document)
        assert message.to_be_signed == sig_structure(message.protected_bytes, message.payload)
        SIGNER.public_key.verify(message.signature, message.to_be_signed)


def test_base45_round_trips_every_length():
    rng = random.Random(45)
    for size in range(0, 600):
        data = bytes(rng.randrange(256) for _ in range(size))
        assert b45decode(base45.b45encode(data).decode()) == data


def test_base45_agrees_with_the_plain_definition_on_random_strings():
    rng = random.Random(9285)
    letters = ALPHABET + "a~é\n"
    for _ in range(50_000):
        text = "".join(rng.choice(letters if rng.random() < 0.05 else ALPHABET) for _ in range(rng.randrange(13)))
        assert _outcome(b45decode, text) == _outcome(_reference_b45decode, text), text


@pytest.mark.parametrize("text", ["GGW", ":::", "A", "::", "ZZZ", "AB\u00e9", "00:"])
def test_base45_refuses_overflowing_groups_bad_lengths_and_foreign_characters(text):
    with pytest.raises(Malformed):
        b45decode(text)


@pytest.mark.parametrize("size", [100, 161, 4096, 4100, 9000])
def test_base45_agrees_with_the_plain_definition_on_long_texts_with_one_bad_digit(size):
    # Every slot of the one big integer, up to the masks' end (a pass's largest text) and past it.
    rng = random.Random(size)
    text = b45encode(bytes(rng.randrange(256) for _ in range(size)))
    variants = [text, text[:-1], text + "0"]
    for i in rng.sample(range(len(text)), 60) + [0, len(text) - 1]:
        variants += [text[:i] + digit + text[i + 1:] for digit in (":", "0", "Z", "a")]
    for variant in variants:
        assert _outcome(b45decode, variant) == _outcome(_reference_b45decode, variant)


def test_the_table_encoder_writes_what_the_base45_package_writes():
    rng = random.Random(4545)
    for size in list(range(0, 300)) + [4096]:
        data = bytes(rng.randrange(256) for _ in range(size))
        assert b45encode(data) == base45.b45encode(data).decode("ascii")
    assert b45encode(b"\xff\xff\xff") == base45.b45encode(b"\xff\xff\xff").decode()  # the largest digits


# ---- the claims reader (passes.format._read_canonical_claims) against loads_strict + canonical re-encoding ----

CLAIMS = [
    PassClaims(pass_id="7K3M9QXA", serial=123456, plate="粤B12345D", scope=(440304001, 440304002, 440305003),
               category="vegetables", valid_from=1773475200, valid_until=1773475200 + 7 * 86400),
    PassClaims(pass_id="7K3M9QXB", serial=2**40, plate="粤Z1234港", scope=(440304001,), category="cross_border_freight",
               valid_from=0, valid_until=2**64 - 1, route=(3, 70000), hk_plate="FV1234"),
    PassClaims(pass_id="X" * 30, serial=23, plate="A" * 24, scope=tuple(range(20, 43)), category="other",
               valid_from=255, valid_until=256, hk_plate="H"),
    PassClaims(pass_id="P", serial=0, plate="粤B1", scope=(24, 65535, 65536, 2**32 - 1, 2**32), category="meat",
               valid_from=24, valid_until=25, route=(0, 23)),
    # Only 4-byte integers in the scope (read in one unpack), the least and the largest among them.
    PassClaims(pass_id="Q", serial=65536, plate="B", scope=(65536, 2**32 - 1, 440304001), category="medicine",
               valid_from=2**32, valid_until=2**32 + 1),
]


def _general_claims(payload: bytes, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(pass_format, "_read_canonical_claims", lambda payload: None)
        return _outcome(decode_claims, payload)


@pytest.mark.parametrize("claims", CLAIMS, ids=range(len(CLAIMS)))
def test_the_claims_reader_agrees_with_the_general_path_on_every_one_byte_change(claims, monkeypatch):
    payload = encode_claims(claims)
    assert pass_format._read_canonical_claims(payload) == claims  # the fast path is taken, with the same claims
    variants = [payload, payload[:-1], payload + b"\x00", payload[1:], b"\xd8\x18" + payload]
    variants += [payload[:i] for i in range(len(payload))]
    for i in range(len(payload)):
        for value in {payload[i] ^ 0x01, payload[i] ^ 0x80, payload[i] + 1 & 0xFF, payload[i] - 1 & 0xFF, 0x00,
                      0x18, 0x19, 0x1A, 0x1B, 0x20, 0x60, 0x78, 0x80, 0x98, 0xA0, 0xF6, 0xFF}:
            variants.append(payload[:i] + bytes((value,)) + payload[i + 1:])
    for variant in variants:
        assert _outcome(decode_claims, variant) == _general_claims(variant, monkeypatch), variant.hex()


def test_the_claims_reader_takes_no_non_canonical_form(monkeypatch):
    m = {1: "7K3M9QXA", 2: 123456, 3: "粤B12345D", 4: [440304001], 5: 2, 6: 1773475200, 7: 1773475201}
    foreign = [
        cbor2.dumps(dict(reversed(m.items()))),  # keys out of order
        cbor2.dumps(m).replace(b"\x05\x02", b"\x05\x18\x02"),  # a small integer written long
        cbor2.dumps(m).replace(b"\x02\x1a\x00\x01\xe2\x40", b"\x02\x1b" + (123456).to_bytes(8, "big")),
        cbor2.dumps(m).replace(b"\x68" + b"7K3M9QXA", b"\x78\x08" + b"7K3M9QXA"),  # a short text written long
        cbor2.dumps({**m, 8: None}), cbor2.dumps({**m, 9: ""}), cbor2.dumps({**m, 8: [1, 2, 3]}),
        cbor2.dumps({**m, 10: 1}), cbor2.dumps({**m, 4: []}), cbor2.dumps({**m, 7: 1773475200}),
        cbor2.dumps(m)[:-5] + b"\xfb" + cbor2.dumps(1773475201.0)[1:],  # a float where an integer belongs
    ]
    for payload in foreign:
        assert pass_format._read_canonical_claims(payload) is None, payload.hex()
        assert _outcome(decode_claims, payload) == "malformed" == _general_claims(payload, monkeypatch)


def test_the_claims_reader_refuses_invalid_utf8_like_the_general_path(monkeypatch):
    payload = encode_claims(CLAIMS[0])
    at = payload.index("粤".encode())
    for bad in (b"\xed\xa0\x80", b"\xc0\xaf\x41", b"\xff\xfe\x41"):  # a surrogate, an overlong form, no UTF-8
        variant = payload[:at] + bad + payload[at + 3:]
        assert pass_format._read_canonical_claims(variant) is None
        assert _outcome(decode_claims, variant) == "malformed" == _general_claims(variant, monkeypatch)


@pytest.mark.parametrize("claims", CLAIMS, ids=range(len(CLAIMS)))
def test_claims_from_the_reader_are_ordinary_frozen_claims(claims):
    read = pass_format._read_canonical_claims(encode_claims(claims))
    assert read == claims and hash(read) == hash(claims) and repr(read) == repr(claims)
    assert dataclasses.replace(read) == claims
    with pytest.raises(dataclasses.FrozenInstanceError):
        read.serial = 1


# ---- the scope rules memoised on the policy object (passes.verifier._memoised_scope_reasons) ----------------

AREAS = read_reference_areas()
PARENTS = {r.code: (r.parent_code if r.parent_code != "440000" else None) for r in AREAS}
CITY, FUTIAN, NANYUAN, YUANLING = "440300", "440304", "440304001", "440304002"


def _scopes() -> list[tuple[int, ...]]:
    codes = sorted(PARENTS)
    rng = random.Random(11)
    return [(int(c),) for c in codes] + [tuple(int(c) for c in rng.sample(codes, 3)) for _ in range(60)] + [(440399,)]


@pytest.mark.parametrize("sealed", [(), (FUTIAN,), (NANYUAN, CITY)], ids=["none", "district", "street+city"])
def test_the_memoised_scope_rules_agree_with_scope_reasons_for_every_site_and_scope(sealed):
    policy = Policy(parents=PARENTS, risk={code: RiskLevel.SEALED for code in sealed})
    for site in sorted(PARENTS) + ["440399001"]:
        for scope in _scopes():
            expected = tuple(scope_reasons([str(code) for code in scope], site, policy))
            assert verifier._memoised_scope_reasons(scope, site, policy) == expected  # computed
            assert verifier._memoised_scope_reasons(scope, site, policy) == expected  # from the memo


def _check(policy: Policy, scope: tuple[int, ...], site: str) -> tuple[str, ...]:
    claims = PassClaims(pass_id="MEMOPASS", serial=7, plate="粤B12345", scope=scope, category="vegetables",
                        valid_from=1773475200, valid_until=1773475200 + 86400)
    return check_pass(issue_qr_text(SIGNER, claims), keys={SIGNER.kid: KeyInfo(SIGNER.public_key, "active")},
                      pass_status=lambda _claims: 0, site_area=site, policy=policy, at=1773475200).reasons


def test_a_new_policy_version_is_a_new_object_whose_memo_starts_empty():
    before = Policy(parents=PARENTS, version=1)
    assert _check(before, (int(FUTIAN),), NANYUAN) == () and before.memo  # the answer is memoised
    sealed = dataclasses.replace(before, risk={NANYUAN: RiskLevel.SEALED}, version=2)
    assert sealed.memo == {}
    assert _check(sealed, (int(FUTIAN),), NANYUAN) == ("sealed_zone",)
    assert _check(before, (int(FUTIAN),), NANYUAN) == ()  # the old object keeps its own answers
    # A device syncing a bundle gets a new object too, and so does the online policy cache on a version change.
    decoded = decode_bundle(encode_bundle(dataclasses.replace(sealed, issued_at=1773475200)))
    assert decoded.memo == {} and _check(decoded, (int(FUTIAN),), NANYUAN) == ("sealed_zone",)


def test_a_policy_cannot_be_changed_under_its_memo():
    risk, parents = {YUANLING: RiskLevel.SEALED}, dict(PARENTS)
    policy = Policy(parents=parents, risk=risk)
    assert _check(policy, (int(FUTIAN),), NANYUAN) == ()
    risk[NANYUAN] = RiskLevel.SEALED  # the caller's dicts were copied: the policy does not change with them
    parents[NANYUAN] = None
    assert policy.risk.get(NANYUAN) is None and policy.parents[NANYUAN] == FUTIAN
    for mapping in (policy.parents, policy.risk, policy.max_test_age_hours, policy.routes):
        with pytest.raises(TypeError):
            mapping[NANYUAN] = None
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.risk = {}
    assert _check(policy, (int(FUTIAN),), NANYUAN) == ()


def test_the_memo_starts_again_past_its_limit_and_keeps_answering_right(monkeypatch):
    monkeypatch.setattr(verifier, "MEMO_LIMIT", 5)
    policy = Policy(parents=PARENTS, risk={FUTIAN: RiskLevel.SEALED})
    for scope in _scopes():
        for site in (NANYUAN, YUANLING, CITY):
            expected = tuple(scope_reasons([str(code) for code in scope], site, policy))
            assert verifier._memoised_scope_reasons(scope, site, policy) == expected
            assert len(policy.memo) <= 5

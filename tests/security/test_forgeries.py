"""An attacker's review, pass forgery: a real issued pass reworked the ways COSE/CBOR parsers are known to be
fooled. Each variant is rejected by the online scan and by the offline command line, with the same reason."""
import json

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core import keys
from core.accounts import SYSTEM
from core.signing import ALG_EDDSA
from passes import verifier
from passes.format import from_qr_text, to_qr_text
from tests.integration import test_verifier_parity as parity

NANYUAN = parity.NANYUAN
scene = parity.scene  # the verifier-parity scene: a firm, a tested driver, officers, a sealed street

ES256 = -7


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    return cbor2.dumps(["Signature1", protected, b"", payload])


def _parts(qr: str):
    protected, unprotected, payload, signature = cbor2.loads(from_qr_text(qr))
    return protected, unprotected, payload, signature, cbor2.loads(protected)[4]


def _signed(scene, protected: bytes, payload: bytes) -> bytes:
    """A genuine signature by the issuer's active key over whatever bytes the attacker chose (the worst
    case: a signing oracle, or a bug elsewhere that signs attacker-shaped data)."""
    signer = keys.active_signer(scene.session, scene.ring, actor=SYSTEM, now=scene.now)
    return signer._key.sign(_sig_structure(protected, payload))  # noqa: SLF001 -- the test plays the oracle


def _forge(scene, qr: str, variant: str) -> str:
    protected, unprotected, payload, signature, kid = _parts(qr)
    if variant == "alg_changed_to_es256":
        forged_protected = cbor2.dumps({1: ES256, 4: kid}, canonical=True)
        return to_qr_text(cbor2.dumps([forged_protected, {}, payload, signature]))
    if variant == "alg_none_resigned":
        forged_protected = cbor2.dumps({1: 0, 4: kid}, canonical=True)
        return to_qr_text(cbor2.dumps([forged_protected, {}, payload, _signed(scene, forged_protected, payload)]))
    if variant == "kid_in_unprotected_header":
        forged_protected = cbor2.dumps({1: ALG_EDDSA}, canonical=True)
        return to_qr_text(cbor2.dumps([forged_protected, {4: kid}, payload,
                                       _signed(scene, forged_protected, payload)]))
    if variant == "duplicate_map_key_in_protected_header":
        # {1: -8, 4: kid, 4: kid}: a map of three entries naming kid twice.
        forged_protected = b"\xa3\x01\x27\x04\x48" + kid + b"\x04\x48" + kid
        return to_qr_text(cbor2.dumps([forged_protected, {}, payload, _signed(scene, forged_protected, payload)]))
    if variant == "indefinite_length_payload":
        body = cbor2.dumps([protected, {}, payload, signature])
        definite = cbor2.dumps(payload)
        indefinite = b"\x5f" + cbor2.dumps(payload[:5]) + cbor2.dumps(payload[5:]) + b"\xff"
        return to_qr_text(body.replace(definite, indefinite, 1))
    if variant == "indefinite_length_array":
        body = cbor2.dumps([protected, {}, payload, signature])
        return to_qr_text(b"\x9f" + body[1:] + b"\xff")
    if variant == "trailing_bytes":
        return to_qr_text(from_qr_text(qr) + b"\x00")
    if variant == "other_tag_cose_sign":
        return to_qr_text(b"\xd8\x62" + from_qr_text(qr))  # tag 98 (COSE_Sign) around our Sign1
    if variant == "self_describe_tag":
        return to_qr_text(b"\xd9\xd9\xf7" + from_qr_text(qr))  # tag 55799
    if variant == "valid_signature_over_non_canonical_payload":
        claims = cbor2.loads(payload)
        # Same claims, keys in reverse order: not the deterministic encoding.
        shuffled = b"".join(cbor2.dumps(k) + cbor2.dumps(claims[k]) for k in sorted(claims, reverse=True))
        loose = bytes([0xa0 + len(claims)]) + shuffled
        assert cbor2.loads(loose) == claims and loose != payload
        return to_qr_text(cbor2.dumps([protected, {}, loose, _signed(scene, protected, loose)]))
    if variant == "long_form_integer_in_header":
        forged_protected = b"\xa2\x01\x38\x07\x04\x48" + kid  # -8 written as 0x38 0x07 (two bytes)
        return to_qr_text(cbor2.dumps([forged_protected, {}, payload, _signed(scene, forged_protected, payload)]))
    if variant == "signature_by_a_stranger_with_our_kid":
        stranger = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
        return to_qr_text(cbor2.dumps([protected, {}, payload, stranger.sign(_sig_structure(protected, payload))]))
    raise AssertionError(variant)


VARIANTS = ["alg_changed_to_es256", "alg_none_resigned", "kid_in_unprotected_header",
            "duplicate_map_key_in_protected_header", "indefinite_length_payload", "indefinite_length_array",
            "trailing_bytes", "other_tag_cose_sign", "self_describe_tag", "valid_signature_over_non_canonical_payload",
            "long_form_integer_in_header", "signature_by_a_stranger_with_our_kid"]


def _cli(scene, tmp_path, qr, capsys) -> tuple[int, dict]:
    for name, document in zip(("trust", "status", "policy", "ages"), scene.files(scene.now)):
        (tmp_path / f"{name}.cose").write_bytes(document)
    capsys.readouterr()
    code = verifier.main(["--trust-list", str(tmp_path / "trust.cose"), "--status-list", str(tmp_path / "status.cose"),
                          "--policy", str(tmp_path / "policy.cose"), "--test-ages", str(tmp_path / "ages.cose"),
                          "--area", NANYUAN, "--at", scene.now.isoformat(), "--state", str(tmp_path / "state.json"),
                          qr])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_forged_pass_is_rejected_online_and_offline_for_the_same_reason(scene, tmp_path, capsys, variant):
    genuine = scene.issue(0).qr
    assert scene.online(genuine, site=NANYUAN, at=scene.now)["verdict"] == "accept"
    forged = _forge(scene, genuine, variant)
    assert forged != genuine
    online = scene.online(forged, site=NANYUAN, at=scene.now)
    code, offline = _cli(scene, tmp_path, forged, capsys)
    assert online["verdict"] == offline["verdict"] == "reject"
    assert code == 1 and online["reasons"] == offline["reasons"]
    assert online["reasons"] in (["malformed"], ["bad_signature"]), online["reasons"]
    assert online.get("pass") is None  # nothing about the pass is shown for a forgery

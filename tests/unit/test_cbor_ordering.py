"""Which deterministic CBOR GreenLane emits (issue 13, item 15; docs/pass-format.md section 13).

cbor2's `canonical=True` sorts map keys length-first (RFC 7049 section 3.9); RFC 8949 section 4.2.1 sorts them
by their encoded bytes. With unsigned integer keys only, both orders are the same, so a pass, the protected
header, the status list and the policy bundle are byte-identical under either rule. The small encoder below
is written from the RFCs, independent of cbor2, and implements both orders."""
from pathlib import Path

import cbor2

from core.areas import AreaTree, read_reference_areas
from core.signing import _protected_header as protected_header  # the header every document carries
from passes.format import PassClaims, encode_claims
from passes.policy import Policy, RiskLevel, encode_bundle
from passes.statuslist import payload_from_bits

ROOT = Path(__file__).resolve().parents[2]
TYPICAL = PassClaims(pass_id="7K3M9QXA", serial=123456, plate="粤B12345D", scope=(440304010, 440304011, 440305003),
                     category="vegetables", valid_from=1767196800, valid_until=1767196800 + 7 * 86400)
CROSS_BORDER = PassClaims(pass_id="7K3M9QXB", serial=70000, plate="粤Z1234港", scope=(440304001, 440305),
                          category="cross_border_freight", valid_from=1767196800, valid_until=1767200000,
                          route=(3, 17), hk_plate="AB1234")


def _head(major: int, n: int) -> bytes:
    if n < 24:
        return bytes([major << 5 | n])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * size):
            return bytes([major << 5 | info]) + n.to_bytes(size, "big")
    raise ValueError("too large")


def encode(value, *, rule: str) -> bytes:
    """Deterministic CBOR: shortest heads, definite lengths, map keys in `rule` order ("7049" or "8949")."""
    if value is False or value is True:
        return b"\xf5" if value else b"\xf4"
    if isinstance(value, int):
        return _head(0, value) if value >= 0 else _head(1, -1 - value)
    if isinstance(value, bytes):
        return _head(2, len(value)) + value
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return _head(3, len(raw)) + raw
    if isinstance(value, (list, tuple)):
        return _head(4, len(value)) + b"".join(encode(v, rule=rule) for v in value)
    if isinstance(value, dict):
        items = [(encode(k, rule=rule), encode(v, rule=rule)) for k, v in value.items()]
        order = (lambda kv: (len(kv[0]), kv[0])) if rule == "7049" else (lambda kv: kv[0])
        return _head(5, len(items)) + b"".join(k + v for k, v in sorted(items, key=order))
    raise TypeError(type(value))


def _policy_bundle() -> bytes:
    tree = AreaTree(read_reference_areas())
    risk = {"440304001": RiskLevel.SEALED, "440305": RiskLevel.CONTROLLED}
    return encode_bundle(Policy(parents=tree.parents, risk=risk, routes={(3, 17): (8, 9)}, version=42,
                                issued_at=1767196800))


def _documents() -> dict[str, bytes]:
    bits = bytes([0b00010000, 0b00001011])
    return {"typical pass": encode_claims(TYPICAL), "cross-border pass": encode_claims(CROSS_BORDER),
            "protected header": protected_header(bytes.fromhex("56475aa75463474c")),
            "status list": payload_from_bits(3, 1767196800, bits, count=7),
            "policy bundle": _policy_bundle()}


def test_every_document_is_the_same_bytes_under_rfc_7049_and_rfc_8949_key_order():
    for name, emitted in _documents().items():
        decoded = cbor2.loads(emitted)
        assert encode(decoded, rule="7049") == emitted, name
        assert encode(decoded, rule="8949") == emitted, name


def test_the_policy_bundle_is_large_enough_to_exercise_long_keys():
    bundle = cbor2.loads(_policy_bundle())
    assert len(bundle[5]) > 80 and max(bundle[5]) > 1 << 16  # 9-digit area codes: 5-byte keys
    assert all(isinstance(k, int) and k >= 0 for m in (bundle, bundle[3], bundle[4], bundle[5]) for k in m)


def test_the_two_rules_differ_once_a_negative_key_appears():
    # Why the choice matters for a future key type: -1 encodes as 20 (1 byte), 24 as 18 18 (2 bytes).
    assert encode({24: 0, -1: 0}, rule="7049") == bytes.fromhex("a2" "2000" "181800")
    assert encode({24: 0, -1: 0}, rule="8949") == bytes.fromhex("a2" "181800" "2000")
    assert cbor2.dumps({24: 0, -1: 0}, canonical=True) == encode({24: 0, -1: 0}, rule="7049")


def test_the_openapi_pointer_to_the_policy_bundle_section_exists():
    doc = (ROOT / "docs" / "pass-format.md").read_text(encoding="utf-8")
    assert "\n## 10. Policy bundle\n" in doc  # GitHub anchor #10-policy-bundle, used in the OpenAPI text
    assert "docs/pass-format.md#10-policy-bundle" in (ROOT / "checkpoints" / "routes.py").read_text(
        encoding="utf-8")

"""Shared helpers for the pass API tests: a small white list with tokens, pass payloads relative to the
real clock, and a third-party verifier that uses nothing of the project (only cbor2, cryptography, base64)."""
import base64
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from core.accounts import Role
from tests.api.helpers import API
from tests.factories import bearer, make_firm, make_person, make_token, make_vehicle, record_negative_test

DRIVER_NAME, DRIVER_ID_NUMBER, DRIVER_PHONE = "李师傅", "440304200001010009", "13900139000"
PLATES = ["粤B12345", "粤B23456", "粤B34567", "粤B45678"]
FIRM_NAME = "深圳市海吉星蔬菜配送有限公司"
VEGETABLES_CODE = 2  # docs/pass-format.md, section 4


@dataclass
class World:
    """One approved Futian firm with a driver and four vehicles, and an account of every kind."""

    firm_id: int
    driver_id: int
    vehicle_ids: list[int]
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, who: str) -> dict:
        return bearer(self.tokens[who])


def build_world(session, areas, cipher, now) -> World:
    firm, firm_token = make_firm(session, areas, now)
    driver = make_person(session, areas, cipher, now, firm_id=firm.id)
    record_negative_test(session, cipher, clock())  # without a fresh test the status list stops the pass
    vehicles = [make_vehicle(session, areas, now, firm_id=firm.id, plate=p) for p in PLATES]
    world = World(firm.id, driver.id, [v.id for v in vehicles], {"firm": firm_token})
    for who, area in [("city", "440300"), ("futian", "440304"), ("nanshan", "440305"), ("nanyuan", "440304001")]:
        world.tokens[who] = make_token(session, areas, now, Role.REGULATOR, area_code=area, name=f"监管 {who}")
    world.tokens["admin"] = make_token(session, areas, now, Role.ADMIN, name="管理员")
    world.tokens["auditor"] = make_token(session, areas, now, Role.AUDITOR, name="审计")
    world.tokens["officer"] = make_token(session, areas, now, Role.OFFICER, site_id=1, name="检查员")
    return world


def clock() -> datetime:
    """Whole seconds of the real clock: the API compares windows with utcnow()."""
    return datetime.now(timezone.utc).replace(microsecond=0)


def pass_json(world: World, *, vehicle: int = 0, scope=("440304001",), start_hours: float = -1,
              days: float = 3, **overrides) -> dict:
    start = clock() + timedelta(hours=start_hours)
    data = dict(vehicle_id=world.vehicle_ids[vehicle], driver_ids=[world.driver_id], category="vegetables",
                scope=list(scope), valid_from=start.isoformat(),
                valid_until=(start + timedelta(days=days)).isoformat(),
                purpose="蔬菜配送 vegetable delivery")
    return {**data, **overrides}


def apply(client, world: World, **kwargs) -> dict:
    response = client.post(f"{API}/passes", json=pass_json(world, **kwargs), headers=world.headers("firm"))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def approve(client, world: World, pass_id: str, who: str = "city") -> dict:
    response = client.post(f"{API}/passes/{pass_id}/approve", headers=world.headers(who))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def issued(client, world: World, who: str = "city", **kwargs) -> dict:
    return approve(client, world, apply(client, world, **kwargs)["id"], who)


def change(client, world: World, pass_id: str, action: str, who: str = "futian", reason: str = "检查 check"):
    return client.post(f"{API}/passes/{pass_id}/{action}", json={"reason": reason}, headers=world.headers(who))


def get_pass(client, world: World, pass_id: str, who: str = "firm") -> dict:
    response = client.get(f"{API}/passes/{pass_id}", headers=world.headers(who))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


# ---- a third party's view: only cbor2, cryptography and base64 -------------------------------------

def b64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def trust_list(client) -> list[dict]:
    response = client.get(f"{API}/trust-list")
    assert response.status_code == 200
    return response.get_json()["keys"]


def usable_keys(keys: list[dict]) -> dict[bytes, Ed25519PublicKey]:
    """kid → public key of every key that is not revoked (what a checkpoint would load)."""
    return {b64u(k["kid"]): Ed25519PublicKey.from_public_bytes(b64u(k["x"])) for k in keys
            if k["status"] != "revoked" and (k["kty"], k["crv"]) == ("OKP", "Ed25519")}


def verify_cose(cose: bytes, keys: dict[bytes, Ed25519PublicKey]) -> tuple[bytes, bytes]:
    """COSE_Sign1 check written from RFC 9052 and docs/pass-format.md; returns (kid, payload) or raises."""
    message = cbor2.loads(cose)
    if isinstance(message, cbor2.CBORTag):
        assert message.tag == 18
        message = message.value
    assert isinstance(message, list) and len(message) == 4
    protected, unprotected, payload, signature = message
    # The unprotected header is not signed, so the format fixes it to an empty map.
    assert unprotected == {} and isinstance(unprotected, dict)
    header = cbor2.loads(protected)
    assert header == {1: -8, 4: header[4]}
    keys[header[4]].verify(signature, cbor2.dumps(["Signature1", protected, b"", payload]))
    return header[4], payload


def decode_status_list(cose: bytes, keys) -> tuple[dict, bytes]:
    _, payload = verify_cose(cose, keys)
    claims = cbor2.loads(payload)
    return claims, zlib.decompress(claims[4])


def entry(bits: bytes, serial: int) -> int:
    """Bits 2n and 2n+1 counted from the most significant bit of byte 0."""
    position = 2 * serial
    return (bits[position // 8] >> (6 - position % 8)) & 0b11

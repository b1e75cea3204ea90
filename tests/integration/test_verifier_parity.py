"""Online and offline verification give the same verdicts: real passes in a real database, checked by
checkpoints.services.record_scan and by passes.verifier (the library and `python -m passes.verifier`) fed
with the trust list, the signed status list and the signed policy bundle."""
import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from core import keys
from core.accounts import SYSTEM, Actor, Role, create_account
from core.signing import Signer, VerificationError
from checkpoints.models import SiteKind
from checkpoints.sites import create_site
from checkpoints import services as checkpoints
from checkpoints.status_list import signed_status_list, signed_test_ages
from passes import issuance, services, verifier
from passes.format import PassClaims, from_qr_text, issue_qr_text, to_qr_text
from checkpoints.health import record_tests
from checkpoints.models import Scan, TestResult as Result
from passes.policy import RiskLevel
from passes.statuslist import verify_status_list
from tests.factories import RESIDENT_IDS, make_firm, make_person, make_vehicle, pass_data, record_negative_test
from whitelist import services as whitelist_services
from whitelist.models import IdType

ROOT = Path(__file__).resolve().parents[2]
CITY = Actor(None, "city regulator", Role.REGULATOR, area_code="440300")
NANYUAN, YUANLING, NANTOU, FUTIAN = "440304001", "440304002", "440305001", "440304"
# Online-only reasons: they need the health-test table or the scan history, which no device holds.
ONLINE_ONLY = {"test_missing", "test_stale", "test_positive", "clone_suspected"}


@dataclass
class Scene:
    """Passes of one driver (fresh negative test), an officer at a normal street and one at a sealed street."""

    session: object
    areas: object
    ring: object
    now: datetime
    firm_id: int
    driver_id: int
    vehicle_ids: list
    officers: dict  # site area code -> officer Actor

    def issue(self, vehicle: int, *, driver_ids=None, **overrides):
        vpass = services.apply_for_pass(
            self.session, data=pass_data(vehicle_id=self.vehicle_ids[vehicle], driver_ids=driver_ids or [
                self.driver_id], now=self.now, **overrides), actor=Actor(None, "firm", Role.FIRM, firm_id=self.firm_id),
            areas=self.areas, max_days=7, now=self.now)
        return services.approve_pass(self.session, vpass.id, actor=CITY, areas=self.areas, ring=self.ring, now=self.now)

    def online(self, qr: str, *, site: str, at: datetime, plate_seen: str | None = None) -> dict:
        return checkpoints.record_scan(self.session, data={"qr": qr, "plate_seen": plate_seen, "scanned_at": at},
                                       actor=self.officers[site], areas=self.areas, cache={}, now=at)

    def files(self, at: datetime) -> tuple[bytes, bytes, bytes, bytes]:
        """What a device syncs, as COSE: the signed trust list, status list, policy bundle, test ages list."""
        cache = {}
        _, status = signed_status_list(self.session, ring=self.ring, cache=cache, areas=self.areas, actor=SYSTEM,
                                       now=at)
        _, ages = signed_test_ages(self.session, ring=self.ring, cache=cache, areas=self.areas, actor=SYSTEM, now=at)
        _, policy = checkpoints.signed_policy_bundle(self.session, areas=self.areas, ring=self.ring, cache={},
                                                     actor=SYSTEM, now=at)
        trust = keys.signed_trust_list(self.session, self.ring, actor=SYSTEM, now=at, lifetime_seconds=7 * 86400)
        return trust, status, policy, ages

    def offline(self, qr: str, *, site: str, at: datetime, plate_seen: str | None = None,
                files=None) -> verifier.Verdict:
        return verifier.check_offline(qr, data=offline_data(files or self.files(at)), site_area=site,
                                      at=int(at.timestamp()), plate_seen=plate_seen)


def offline_data(files) -> verifier.OfflineData:
    trust, status, policy, ages = files
    trusted, trust_list = verifier.load_signed_trust_list(trust)
    return verifier.OfflineData(trusted, verifier.load_status_list(status, trusted),
                                verifier.load_policy(policy, trusted), trust_list,
                                verifier.load_test_ages(ages, trusted))


@pytest.fixture
def scene(session, areas, cipher, now, app):
    firm, _ = make_firm(session, areas, now)
    driver = make_person(session, areas, cipher, now, firm_id=firm.id)
    record_negative_test(session, cipher, now, hours_ago=1)
    vehicles = [make_vehicle(session, areas, now, firm_id=firm.id, plate=f"粤B1000{i}") for i in range(8)]
    officers = {}
    for code, lat in ((NANYUAN, 22.543), (YUANLING, 22.553)):
        site = create_site(session, data=dict(name=f"检查站 {code}", kind=SiteKind.CHECKPOINT, area_code=code,
                                              lat=lat, lon=114.085, capacity=None), actor=SYSTEM, areas=areas, now=now)
        account, _ = create_account(session, name=f"officer {code}", role=Role.OFFICER, site_id=site.id,
                                    areas=areas, actor=SYSTEM, now=now)
        officers[code] = Actor.of(account)
    checkpoints.set_area_risk(session, YUANLING, level=RiskLevel.SEALED, reason="封控 sealed", actor=CITY,
                              areas=areas, now=now)
    return Scene(session, areas, app.extensions["keyring"], now, firm.id, driver.id, [v.id for v in vehicles],
                 officers)


def _flip_signature(qr: str) -> str:
    protected, unprotected, payload, signature = cbor2.loads(from_qr_text(qr))
    return to_qr_text(cbor2.dumps([protected, unprotected, payload, signature[:-1] + bytes([signature[-1] ^ 0x80])]))


def _build_case(scene: Scene, name: str):
    """(qr, site area, scan time, plate seen, expected reasons) for one named case."""
    s, now = scene, scene.now
    hour = timedelta(hours=1)
    if name == "valid":
        return s.issue(0).qr, NANYUAN, now, "粤B10000", ()
    if name == "valid_district_pass_in_a_normal_street":
        return s.issue(0, scope=[FUTIAN]).qr, NANYUAN, now, None, ()
    if name == "revoked":
        vpass = s.issue(0)
        services.change_pass_status(s.session, vpass.id, "revoke", actor=CITY, areas=s.areas, reason="假冒", now=now)
        return vpass.qr, NANYUAN, now, None, ("revoked",)
    if name == "suspended":
        vpass = s.issue(0)
        services.change_pass_status(s.session, vpass.id, "suspend", actor=CITY, areas=s.areas, reason="核查",
                                    now=now)
        return vpass.qr, NANYUAN, now, None, ("suspended",)
    if name == "not_yet_valid":
        return (s.issue(0, valid_from=now + hour, valid_until=now + 24 * hour).qr, NANYUAN, now, None,
                ("not_yet_valid",))
    if name == "expired":
        return (s.issue(0, valid_from=now - 2 * hour, valid_until=now + hour).qr, NANYUAN, now + 2 * hour, None,
                ("expired",))
    if name == "out_of_scope":
        return s.issue(0, scope=[NANTOU]).qr, NANYUAN, now, None, ("out_of_scope",)
    if name == "sealed_zone":
        return s.issue(0, scope=[FUTIAN]).qr, YUANLING, now, None, ("sealed_zone",)
    if name == "pass_naming_the_sealed_street":
        return s.issue(0, scope=[YUANLING]).qr, YUANLING, now, None, ()
    if name == "plate_mismatch":
        return s.issue(0).qr, NANYUAN, now, "粤B99999", ("plate_mismatch",)
    if name == "tampered":
        return _flip_signature(s.issue(0).qr), NANYUAN, now, None, ("bad_signature",)
    if name == "malformed":
        return "GL1:not base45 at all!", NANYUAN, now, None, ("malformed",)
    if name == "unknown_key":
        stranger = Signer(Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
        return issue_qr_text(stranger, issuance.claims_of(s.issue(0))), NANYUAN, now, None, ("unknown_key",)
    if name == "well_signed_but_never_issued":
        signer = keys.active_signer(s.session, s.ring, actor=SYSTEM, now=now)
        ghost = PassClaims(pass_id="ZZZZZZZZ", serial=999, plate="粤B10000", scope=(int(NANYUAN),),
                           category="vegetables", valid_from=int(now.timestamp()) - 60,
                           valid_until=int(now.timestamp()) + 3600)
        return issue_qr_text(signer, ghost), NANYUAN, now, None, ("suspended",)
    if name == "several_at_once":
        vpass = s.issue(0, scope=[NANTOU], valid_from=now - 2 * hour, valid_until=now + hour)
        services.change_pass_status(s.session, vpass.id, "suspend", actor=CITY, areas=s.areas, reason="核查",
                                    now=now)
        return vpass.qr, NANYUAN, now + 2 * hour, "粤B99999", ("suspended", "expired", "out_of_scope",
                                                              "plate_mismatch")
    raise AssertionError(name)


CASES = ["valid", "valid_district_pass_in_a_normal_street", "revoked", "suspended", "not_yet_valid", "expired",
         "out_of_scope", "sealed_zone", "pass_naming_the_sealed_street", "plate_mismatch", "tampered", "malformed",
         "unknown_key", "well_signed_but_never_issued", "several_at_once"]


@pytest.mark.parametrize("name", CASES)
def test_online_and_offline_verifiers_agree_on(scene, name):
    qr, site, at, plate, expected = _build_case(scene, name)
    online = scene.online(qr, site=site, at=at, plate_seen=plate)
    offline = scene.offline(qr, site=site, at=at, plate_seen=plate)
    assert tuple(online["reasons"]) == offline.reasons == expected
    assert online["verdict"] == offline.to_json()["verdict"] == ("accept" if not expected else "reject")
    scene.session.commit()
    [row] = scene.session.scalars(select(Scan)).all()
    assert (row.verdict.value, row.reasons, row.site_id) == (online["verdict"], list(expected),
                                                             scene.officers[site].site_id)
    assert row.pass_id == (offline.claims.pass_id if offline.claims else None)


def test_a_revoked_key_is_rejected_the_same_way_online_and_offline(scene, tmp_path):
    old = scene.issue(0)
    keys.revoke_key(scene.session, old.kid, actor=SYSTEM, now=scene.now, reason="泄露 leaked")
    new = scene.issue(1)  # signed by the key created after the revocation
    assert new.kid != old.kid
    for vpass, expected in ((old, ("key_revoked",)), (new, ())):
        online = scene.online(vpass.qr, site=NANYUAN, at=scene.now)
        offline = scene.offline(vpass.qr, site=NANYUAN, at=scene.now)
        assert tuple(online["reasons"]) == offline.reasons == expected
    code, body = _cli(tmp_path, scene, old.qr, area=NANYUAN, at=scene.now)
    assert (code, body["verdict"], body["reasons"], body["pass"]["id"]) == (1, "reject", ["key_revoked"], old.id)


def test_a_status_list_signed_by_a_revoked_key_is_unusable_offline(scene, tmp_path):
    vpass = scene.issue(0)
    trust, status, policy, ages = scene.files(scene.now)
    keys.revoke_key(scene.session, vpass.kid, actor=SYSTEM, now=scene.now, reason="泄露 leaked")
    fresh_trust, _, _, _ = scene.files(scene.now)
    with pytest.raises(VerificationError):
        verifier.load_status_list(status, verifier.load_signed_trust_list(fresh_trust)[0])
    code, body = _cli(tmp_path, scene, vpass.qr, area=NANYUAN, at=scene.now,
                      files=(fresh_trust, status, policy, ages))
    assert code == 2 and body["verdict"] == "error" and "UnknownKey" in body["error"]


# ---- online-only reasons: the device sees the same pass as suspended through the status list ------------

def test_a_driver_without_a_fresh_test_is_test_stale_online_and_suspended_offline(scene, cipher):
    stale = make_person(scene.session, scene.areas, cipher, scene.now, firm_id=scene.firm_id, name="王师傅",
                        id_number=RESIDENT_IDS[2])
    record_negative_test(scene.session, cipher, scene.now, id_number=RESIDENT_IDS[2], hours_ago=80)
    vpass = scene.issue(0, driver_ids=[stale.id])
    online = scene.online(vpass.qr, site=NANYUAN, at=scene.now)
    offline = scene.offline(vpass.qr, site=NANYUAN, at=scene.now)
    assert (online["verdict"], online["reasons"]) == ("reject", ["test_stale"])
    assert offline.reasons == ("suspended",)


def test_a_positive_driver_is_suspended_in_both_and_test_positive_online(scene, cipher):
    vpass = scene.issue(0)
    record_tests(scene.session, [dict(id_type=IdType.CN_RESIDENT_ID, id_number=RESIDENT_IDS[0],
                                      sampled_at=scene.now - timedelta(minutes=30), result=Result.POSITIVE,
                                      lab="lab")], actor=SYSTEM, cipher=cipher, now=scene.now)
    online = scene.online(vpass.qr, site=NANYUAN, at=scene.now)
    offline = scene.offline(vpass.qr, site=NANYUAN, at=scene.now)
    assert online["reasons"] == ["suspended", "test_positive"] and offline.reasons == ("suspended",)
    assert [r for r in online["reasons"] if r not in ONLINE_ONLY] == list(offline.reasons)


def test_a_policy_change_reaches_the_status_list_at_once(scene, cipher):
    untested = make_person(scene.session, scene.areas, cipher, scene.now, firm_id=scene.firm_id, name="张师傅",
                           id_number=RESIDENT_IDS[2])
    vpass = scene.issue(0, driver_ids=[untested.id])
    cache = {}

    def status() -> int:
        _, document = signed_status_list(scene.session, ring=scene.ring, cache=cache, areas=scene.areas,
                                                  actor=SYSTEM, now=scene.now)
        trusted = {kid: k.public_key for kid, k in keys.trusted_keys(scene.session).items()}
        return verify_status_list(document, trusted)[1].status(vpass.serial)

    assert status() == 1
    checkpoints.update_policy(scene.session, max_test_age_hours={}, tests_required=False, actor=CITY, now=scene.now)
    assert scene.online(vpass.qr, site=NANYUAN, at=scene.now)["verdict"] == "accept"
    assert status() == 0


# ---- the command line --------------------------------------------------------------------------------------

def _cli(tmp_path, scene: Scene, qr: str, *, area: str, at: datetime, plate: str | None = None, files=None,
         missing: str | None = None):
    trust, status, policy, ages = files or scene.files(at)
    if isinstance(trust, dict):  # the unsigned JSON list
        (tmp_path / "trust.cose").write_text(json.dumps(trust), encoding="utf-8")
    else:
        (tmp_path / "trust.cose").write_bytes(trust)
    (tmp_path / "status.cose").write_bytes(status)
    (tmp_path / "policy.cose").write_bytes(policy)
    (tmp_path / "ages.cose").write_bytes(ages)
    if missing:
        (tmp_path / missing).unlink()
    args = [sys.executable, "-m", "passes.verifier", "--trust-list", str(tmp_path / "trust.cose"), "--status-list",
            str(tmp_path / "status.cose"), "--policy", str(tmp_path / "policy.cose"), "--test-ages",
            str(tmp_path / "ages.cose"), "--area", area, "--at", at.isoformat(), "--state",
            str(tmp_path / "state.json")] + (["--plate", plate] if plate else []) + [qr]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.stderr == ""
    return done.returncode, json.loads(done.stdout)


@pytest.mark.parametrize("name,code", [("valid", 0), ("revoked", 1), ("sealed_zone", 1), ("several_at_once", 1),
                                       ("malformed", 1)])
def test_the_command_line_prints_the_same_verdict_and_exits_0_or_1(scene, tmp_path, name, code):
    qr, site, at, plate, expected = _build_case(scene, name)
    offline = scene.offline(qr, site=site, at=at, plate_seen=plate)
    online = scene.online(qr, site=site, at=at, plate_seen=plate)
    exit_code, body = _cli(tmp_path, scene, qr, area=site, at=at, plate=plate)
    assert exit_code == code
    assert body == json.loads(json.dumps(offline.to_json(), ensure_ascii=False))
    assert body["reasons"] == online["reasons"] == list(expected)


def test_the_command_line_shows_the_pass_claims_it_accepted(scene, tmp_path):
    vpass = scene.issue(0, scope=[NANYUAN, YUANLING])
    code, body = _cli(tmp_path, scene, vpass.qr, area=NANYUAN, at=scene.now, plate="粤b·10000")
    assert code == 0 and body["verdict"] == "accept" and body["reasons"] == []
    assert body["pass"] == {"id": vpass.id, "serial": vpass.serial, "plate": "粤B10000", "hk_plate": None,
                            "scope": [NANYUAN, YUANLING], "category": "vegetables",
                            "valid_from": int(vpass.valid_from.timestamp()),
                            "valid_until": int(vpass.valid_until.timestamp())}


@pytest.mark.parametrize("spoil", ["garbage_status_list", "missing_policy", "unknown_area", "policy_as_status",
                                   "foreign_trust_list"])
def test_the_command_line_exits_2_on_unusable_input(scene, tmp_path, spoil):
    vpass = scene.issue(0)
    trust, status, policy, ages = scene.files(scene.now)
    area = NANYUAN
    if spoil == "garbage_status_list":
        status = b"\x00garbage"
    elif spoil == "policy_as_status":
        status = policy
    elif spoil == "foreign_trust_list":
        trust = {"keys": []}
    elif spoil == "unknown_area":
        area = "999999999"
    code, body = _cli(tmp_path, scene, vpass.qr, area=area, at=scene.now, files=(trust, status, policy, ages),
                      missing="policy.cose" if spoil == "missing_policy" else None)
    assert code == 2 and body["verdict"] == "error" and body["error"]


def test_the_command_line_refuses_a_scan_time_without_an_offset(scene, tmp_path):
    vpass = scene.issue(0)
    code, body = _cli(tmp_path, scene, vpass.qr, area=NANYUAN, at=scene.now.replace(tzinfo=None),
                      files=scene.files(scene.now))
    assert (code, body["verdict"]) == (2, "error")


def test_the_offline_verifier_imports_neither_flask_nor_the_database_layer():
    done = subprocess.run([sys.executable, "-c", "import sys, passes.verifier; print(sorted({m.split('.')[0] for m in "
                           "sys.modules} & {'flask', 'sqlalchemy', 'marshmallow', 'werkzeug'}))"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "[]"


def test_a_pass_stays_stopped_when_its_firm_is_reinstated_after_a_driver_tested_positive(scene, cipher):
    vpass = scene.issue(0)
    whitelist_services.change_firm_status(scene.session, scene.firm_id, "suspend", actor=CITY, areas=scene.areas,
                                          now=scene.now, reason="整改")
    record_tests(scene.session, [dict(id_type=IdType.CN_RESIDENT_ID, id_number=RESIDENT_IDS[0],
                                      sampled_at=scene.now - timedelta(minutes=10), result=Result.POSITIVE,
                                      lab="lab")], actor=SYSTEM, cipher=cipher, now=scene.now)
    whitelist_services.change_firm_status(scene.session, scene.firm_id, "reinstate", actor=CITY, areas=scene.areas,
                                          now=scene.now, reason="整改完成")
    online = scene.online(vpass.qr, site=NANYUAN, at=scene.now)
    offline = scene.offline(vpass.qr, site=NANYUAN, at=scene.now)
    assert offline.reasons == ("suspended",)  # today: () — an offline device accepts the pass
    assert online["reasons"] == ["suspended", "test_positive"]

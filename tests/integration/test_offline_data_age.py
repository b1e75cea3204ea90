"""Offline data that says how old it is (issue 12) and each zone's own test age offline (issue 11): the status
list, test ages list, policy bundle and trust list carry an expiry inside their signed payload; past it the
offline verifiers (the library and `python -m passes.verifier`) refuse with stale_*; the command line never
takes a document older than one it has seen; and a test fresh enough for a normal area but too old for a
controlled one is test_stale online and offline."""
import json
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core import keys
from core.accounts import SYSTEM
from core.signing import Signer, b64url
from core.trustlist import TrustEntry, encode_trust_list
from checkpoints import services as checkpoints
from passes import services
from passes.policy import RiskLevel
from tests.factories import RESIDENT_IDS, make_person, record_negative_test
from tests.integration import test_verifier_parity as parity
from tests.integration.test_verifier_parity import CITY, NANYUAN, _cli, offline_data

DAY, HOUR = timedelta(days=1), timedelta(hours=1)
scene = parity.scene  # a firm, a driver tested an hour ago, officers in Nanyuan and in a sealed street


# ---- the two cases of the issue, before and after ---------------------------------------------------------

def test_a_pass_revoked_after_the_list_was_saved_is_refused_2_5_days_later_as_stale(scene, tmp_path):
    vpass = scene.issue(0)
    saved = scene.files(scene.now)  # the device syncs, then goes offline
    services.change_pass_status(scene.session, vpass.id, "revoke", actor=CITY, areas=scene.areas, reason="假冒",
                                now=scene.now + HOUR)
    later = scene.now + 2.5 * DAY
    assert scene.online(vpass.qr, site=NANYUAN, at=later)["reasons"] == ["revoked"]
    # Within the list's lifetime the old copy is all the device knows: the pass still reads as valid.
    assert scene.offline(vpass.qr, site=NANYUAN, at=scene.now + 2 * HOUR, files=saved).reasons == ()
    assert scene.offline(vpass.qr, site=NANYUAN, at=later, files=saved).reasons == ("stale_status_list",)
    code, body = _cli(tmp_path, scene, vpass.qr, area=NANYUAN, at=later, files=saved)
    assert (code, body["verdict"], body["reasons"]) == (1, "reject", ["stale_status_list"])


def test_a_city_wide_pass_in_a_district_sealed_after_the_bundle_was_saved_is_refused_as_stale(scene, cipher,
                                                                                            tmp_path):
    old_policy = scene.files(scene.now)[2]
    scene.now += 8 * DAY  # a week later: the street is sealed and a city-wide pass is issued
    checkpoints.set_area_risk(scene.session, NANYUAN, level=RiskLevel.SEALED, reason="封控", actor=CITY,
                              areas=scene.areas, now=scene.now)
    record_negative_test(scene.session, cipher, scene.now, hours_ago=1)
    vpass = scene.issue(0, scope=["440300"])
    trust, status, _, ages = scene.files(scene.now)  # every other document is fresh
    assert scene.online(vpass.qr, site=NANYUAN, at=scene.now)["reasons"] == ["sealed_zone"]
    files = (trust, status, old_policy, ages)
    assert scene.offline(vpass.qr, site=NANYUAN, at=scene.now, files=files).reasons == ("stale_policy",)
    code, body = _cli(tmp_path, scene, vpass.qr, area=NANYUAN, at=scene.now, files=files)
    assert (code, body["reasons"]) == (1, ["stale_policy"])
    # With the current bundle the device gives the server's answer.
    assert scene.offline(vpass.qr, site=NANYUAN, at=scene.now).reasons == ("sealed_zone",)


def test_each_document_expires_at_its_own_configured_lifetime(scene):
    vpass = scene.issue(0)
    files = scene.files(scene.now)
    start = int(scene.now.timestamp())
    assert scene.offline(vpass.qr, site=NANYUAN, at=scene.now + DAY - timedelta(seconds=1), files=files).reasons == ()
    assert scene.offline(vpass.qr, site=NANYUAN, at=scene.now + DAY, files=files).reasons == ("stale_status_list",)
    data = offline_data(files)
    assert (data.status_list.expires_at, data.test_ages.expires_at) == (start + 86400, start + 86400)
    assert (data.policy.expires_at, data.trust.expires_at) == (start + 7 * 86400, start + 7 * 86400)


def test_the_command_line_warns_from_three_quarters_of_a_lifetime(scene, tmp_path):
    vpass = scene.issue(0)
    files = scene.files(scene.now)
    code, body = _cli(tmp_path, scene, vpass.qr, area=NANYUAN, at=scene.now + 17 * HOUR, files=files)
    assert code == 0 and "warnings" not in body
    code, body = _cli(tmp_path, scene, vpass.qr, area=NANYUAN, at=scene.now + 19 * HOUR, files=files)
    assert code == 0 and body["verdict"] == "accept"
    assert len(body["warnings"]) == 2 and all("expires in 5.0 h" in w for w in body["warnings"])
    assert any("status list" in w for w in body["warnings"])


# ---- rollback: never an older document than one already seen -----------------------------------------------

def test_the_command_line_refuses_a_status_list_older_than_one_it_has_seen(scene, tmp_path):
    vpass = scene.issue(0)
    old = scene.files(scene.now)
    services.change_pass_status(scene.session, vpass.id, "revoke", actor=CITY, areas=scene.areas, reason="假冒",
                                now=scene.now)
    new = scene.files(scene.now + HOUR)
    code, body = _cli(tmp_path, scene, vpass.qr, area=NANYUAN, at=scene.now + HOUR, files=new)
    assert (code, body["reasons"]) == (1, ["revoked"])
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["versions"]["status_list"] >= 2
    # The list saved before the revocation, handed over later (a USB stick, a neighbour's device): refused.
    code, body = _cli(tmp_path, scene, vpass.qr, area=NANYUAN, at=scene.now + HOUR, files=(new[0], old[1], new[2],
                                                                                             new[3]))
    assert (code, body["verdict"]) == (2, "error") and "Rollback" in body["error"] and "status_list" in body["error"]
    code, body = _cli(tmp_path, scene, vpass.qr, area=NANYUAN, at=scene.now + HOUR, files=(new[0], new[1], new[2],
                                                                                             old[3]))
    assert code == 2 and "test_ages" in body["error"]


def test_the_command_line_trusts_only_trust_lists_signed_by_a_key_it_knows(scene, tmp_path):
    vpass = scene.issue(0)
    trust, status, policy, ages = scene.files(scene.now)
    assert _cli(tmp_path, scene, vpass.qr, area=NANYUAN, at=scene.now, files=(trust, status, policy, ages))[0] == 0
    # A planted list: well formed and signed by the key it lists, but not by a key this device knows.
    stranger = Ed25519PrivateKey.generate()
    signer = Signer(stranger)
    now = int(scene.now.timestamp())
    forged = signer.sign(encode_trust_list([TrustEntry(signer.kid, signer.public_key.public_bytes_raw(), "active",
                                                       now)], issued_at=now, expires_at=now + 86400))
    code, body = _cli(tmp_path, scene, vpass.qr, area=NANYUAN, at=scene.now, files=(forged, status, policy, ages))
    assert code == 2 and "UnknownKey" in body["error"]
    # After a rotation the list is still signed by the longest-standing usable key, which the device knows.
    keys.rotate_key(scene.session, scene.ring, actor=SYSTEM, now=scene.now + HOUR)
    code, body = _cli(tmp_path, scene, vpass.qr, area=NANYUAN, at=scene.now + HOUR,
                      files=scene.files(scene.now + HOUR))
    assert code == 0
    state = json.loads((tmp_path / "state.json").read_text())
    assert len(state["trusted_keys"]) == 2
    # The first key is revoked: the device learns it, and an older copy that still shows it usable (signed by
    # that very key) is refused.
    first = keys.list_keys(scene.session)[0]
    with_first = scene.files(scene.now + HOUR)[0]
    keys.revoke_key(scene.session, first.kid, actor=SYSTEM, now=scene.now + 2 * HOUR, reason="泄露 leaked")
    new_pass = scene.issue(1)  # signed by the second key
    fresh = scene.files(scene.now + 2 * HOUR)
    code, body = _cli(tmp_path, scene, new_pass.qr, area=NANYUAN, at=scene.now + 2 * HOUR, files=fresh)
    assert code == 0, body
    assert b64url(bytes.fromhex(first.kid)) in json.loads((tmp_path / "state.json").read_text())["revoked_keys"]
    code, body = _cli(tmp_path, scene, vpass.qr, area=NANYUAN, at=scene.now + 2 * HOUR,
                      files=(with_first, *fresh[1:]))
    assert code == 2 and "UnknownKey" in body["error"]


def test_the_command_line_refuses_the_unsigned_json_trust_list(scene, tmp_path):
    vpass = scene.issue(0)
    _, status, policy, ages = scene.files(scene.now)
    trust = {"keys": [keys.trust_list_entry(k) | {"not_before": None, "not_after": None}
                      for k in keys.list_keys(scene.session)]}
    code, body = _cli(tmp_path, scene, vpass.qr, area=NANYUAN, at=scene.now, files=(trust, status, policy, ages))
    assert code == 2 and "trust-list/signed" in body["error"]


# ---- issue 11: each zone's own maximum test age, offline ----------------------------------------------------

@pytest.fixture
def controlled(scene):
    checkpoints.set_area_risk(scene.session, NANYUAN, level=RiskLevel.CONTROLLED, reason="管控", actor=CITY,
                              areas=scene.areas, now=scene.now)
    return scene


def _driver_tested(scene, cipher, hours_ago: float, n: int = 2):
    person = make_person(scene.session, scene.areas, cipher, scene.now, firm_id=scene.firm_id, name=f"司机{n}",
                         id_number=RESIDENT_IDS[n])
    record_negative_test(scene.session, cipher, scene.now, id_number=RESIDENT_IDS[n], hours_ago=hours_ago)
    return person


@pytest.mark.parametrize("hours_ago,later,expected", [
    (30, 0, ("test_stale",)),   # fresh for normal (72 h), too old for controlled (24 h)
    (20, 0, ()),                # fresh for both
    (20, 5, ("test_stale",)),   # fresh when the list was issued, too old at the scan five hours later
    (23.9, 0, ()),
])
def test_a_controlled_zone_applies_its_own_test_age_online_and_offline(controlled, cipher, tmp_path, hours_ago,
                                                                       later, expected):
    scene = controlled
    driver = _driver_tested(scene, cipher, hours_ago)
    vpass = scene.issue(0, driver_ids=[driver.id])
    files = scene.files(scene.now)
    at = scene.now + later * HOUR
    online = scene.online(vpass.qr, site=NANYUAN, at=at)
    offline = scene.offline(vpass.qr, site=NANYUAN, at=at, files=files)
    assert tuple(online["reasons"]) == offline.reasons == expected
    code, body = _cli(tmp_path, scene, vpass.qr, area=NANYUAN, at=at, files=files)
    assert (code, tuple(body["reasons"])) == (1 if expected else 0, expected)


def test_the_freshest_test_of_any_driver_counts_and_a_sealed_street_applies_its_own_age(controlled, cipher):
    scene = controlled
    old, fresh = _driver_tested(scene, cipher, 40, n=1), _driver_tested(scene, cipher, 10, n=2)
    both = scene.issue(0, driver_ids=[old.id, fresh.id])
    only_old = scene.issue(1, driver_ids=[old.id])
    for vpass, expected in ((both, ()), (only_old, ("test_stale",))):
        assert tuple(scene.online(vpass.qr, site=NANYUAN, at=scene.now)["reasons"]) == expected
        assert scene.offline(vpass.qr, site=NANYUAN, at=scene.now).reasons == expected
    # The same 40-hour test in the sealed street (24 h) is stale too; nothing else changes offline.
    pass_in_sealed = scene.issue(2, driver_ids=[old.id], scope=["440304002"])
    assert scene.offline(pass_in_sealed.qr, site="440304002", at=scene.now).reasons == ("test_stale",)
    assert scene.online(pass_in_sealed.qr, site="440304002", at=scene.now)["reasons"] == ["test_stale"]


def test_a_pass_issued_after_the_test_ages_list_reads_as_suspended_until_the_next_sync(controlled, cipher):
    scene = controlled
    files = scene.files(scene.now)
    vpass = scene.issue(0)
    assert scene.offline(vpass.qr, site=NANYUAN, at=scene.now, files=files).reasons == ("suspended",)
    assert scene.offline(vpass.qr, site=NANYUAN, at=scene.now).reasons == ()

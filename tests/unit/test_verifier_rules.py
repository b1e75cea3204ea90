"""Unit tests for the shared verification rules (passes.verifier.check_pass) and the policy: every reason
code that needs no database, with deterministic keys and a fixed clock."""
from datetime import datetime, timezone

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core.areas import read_reference_areas
from core.signing import Signer
from passes.format import PassClaims, encode_claims, from_qr_text, issue_qr_text, to_qr_text
from passes.policy import Policy, RiskLevel, decode_bundle, encode_bundle
from passes.statuslist import StatusList, pack_status_bits
from passes.verifier import REASONS, KeyInfo, Verdict, check_pass, status_from_list

SIGNER = Signer(Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
STRANGER = Signer(Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33))))
KEYS = {SIGNER.kid: KeyInfo(SIGNER.public_key, "active")}
AT = int(datetime(2026, 3, 14, 8, 0, tzinfo=timezone.utc).timestamp())
HOUR, DAY = 3600, 86400
PARENTS = {r.code: (r.parent_code if r.parent_code != "440000" else None) for r in read_reference_areas()}
CITY, FUTIAN, NANYUAN, YUANLING, NANTOU = "440300", "440304", "440304001", "440304002", "440305001"


def claims(**overrides) -> PassClaims:
    data = dict(pass_id="TESTPASS", serial=7, plate="粤B12345", scope=(int(NANYUAN),), category="vegetables",
                valid_from=AT - HOUR, valid_until=AT + 3 * DAY)
    return PassClaims(**{**data, **overrides})


def qr(signer: Signer = SIGNER, **overrides) -> str:
    return issue_qr_text(signer, claims(**overrides))


def check(text: str, *, status: int | None = 0, site: str = NANYUAN, risk: dict | None = None, at: int = AT,
          plate_seen: str | None = None, keys=None) -> Verdict:
    policy = Policy(parents=PARENTS, risk={code: RiskLevel.parse(level) for code, level in (risk or {}).items()})
    return check_pass(text, keys=KEYS if keys is None else keys, pass_status=lambda _claims: status,
                      site_area=site, policy=policy, at=at, plate_seen=plate_seen)


# ---- accept ----------------------------------------------------------------------------------------

def test_a_valid_pass_in_its_street_is_accepted_with_its_claims():
    verdict = check(qr())
    assert verdict.accept and verdict.reasons == ()
    assert verdict.claims == claims() and verdict.kid == SIGNER.kid
    body = verdict.to_json()
    assert body["verdict"] == "accept" and body["reasons"] == []
    assert body["pass"] == {"id": "TESTPASS", "serial": 7, "plate": "粤B12345", "hk_plate": None,
                            "scope": [NANYUAN], "category": "vegetables", "valid_from": AT - HOUR,
                            "valid_until": AT + 3 * DAY}


def test_a_retired_key_still_verifies_what_it_signed():
    assert check(qr(), keys={SIGNER.kid: KeyInfo(SIGNER.public_key, "retired")}).accept


def test_scanner_line_endings_around_the_qr_text_are_ignored():
    assert check(qr() + "\r\n").accept


# ---- the QR itself: malformed, bad_signature, unknown_key, key_revoked --------------------------------

def _signature_flipped(text: str) -> str:
    protected, unprotected, payload, signature = cbor2.loads(from_qr_text(text))
    return to_qr_text(cbor2.dumps([protected, unprotected, payload, bytes([signature[0] ^ 1]) + signature[1:]]))


def _payload_swapped(text: str, **overrides) -> str:
    protected, unprotected, _, signature = cbor2.loads(from_qr_text(text))
    return to_qr_text(cbor2.dumps([protected, unprotected, encode_claims(claims(**overrides)), signature]))


@pytest.mark.parametrize("text", [
    "garbage",
    "",
    "GL2:" + qr()[4:],                         # wrong prefix
    "gl1:" + qr()[4:],                         # the prefix is case-sensitive
    "GL1:abc~~",                               # not base45
    "GL1:" + qr()[4:-1],                       # base45 cut short
    "GL1:00000",                               # base45, but not a COSE_Sign1
    to_qr_text(cbor2.dumps([b"", {}, b"", b""])),  # COSE-shaped, wrong contents
])
def test_text_that_is_not_a_greenlane_pass_is_malformed_and_nothing_else(text):
    verdict = check(text)
    assert verdict.reasons == ("malformed",)
    assert verdict.claims is None and verdict.to_json() == {"verdict": "reject", "reasons": ["malformed"],
                                                             "pass": None}


def test_a_document_signed_by_us_that_is_not_a_pass_is_malformed():
    other = to_qr_text(SIGNER.sign(cbor2.dumps({1: 1, 2: 2, 3: 2, 4: b""}, canonical=True)))
    assert check(other).reasons == ("malformed",)


def test_a_flipped_signature_bit_is_a_bad_signature():
    assert check(_signature_flipped(qr())).reasons == ("bad_signature",)


def test_an_edited_plate_under_the_original_signature_is_a_bad_signature():
    forged = _payload_swapped(qr(), plate="粤B99999")
    verdict = check(forged, plate_seen="粤B99999")
    assert verdict.reasons == ("bad_signature",) and verdict.claims is None


def test_a_pass_signed_by_a_key_we_do_not_know_is_unknown_key():
    assert check(qr(STRANGER)).reasons == ("unknown_key",)


def test_a_bad_signature_under_a_revoked_key_is_still_a_bad_signature():
    revoked = {SIGNER.kid: KeyInfo(SIGNER.public_key, "revoked")}
    assert check(_signature_flipped(qr()), keys=revoked).reasons == ("bad_signature",)


def test_a_pass_signed_by_a_revoked_key_is_key_revoked_and_keeps_its_claims():
    verdict = check(qr(), keys={SIGNER.kid: KeyInfo(SIGNER.public_key, "revoked")})
    assert verdict.reasons == ("key_revoked",) and verdict.claims == claims()


# ---- status list entry -------------------------------------------------------------------------------

@pytest.mark.parametrize("status,reasons", [(0, ()), (1, ("suspended",)), (2, ("revoked",)),
                                            (None, ("suspended",))])
def test_the_status_entry_decides_revoked_and_suspended_and_unknown_counts_as_suspended(status, reasons):
    assert check(qr(), status=status).reasons == reasons


def test_status_from_a_list_maps_reserved_to_suspended_and_serials_beyond_it_to_unknown():
    status_list = StatusList(version=3, issued_at=AT, bits=pack_status_bits([0, 1, 2, 0, 0, 0, 0, 0], 8))
    lookup = status_from_list(status_list)
    assert [lookup(claims(serial=s)) for s in (0, 1, 2, 7, 8, 100)] == [0, 1, 2, 0, None, None]
    reserved = StatusList(version=1, issued_at=AT, bits=bytes([0b00110000]))
    assert status_from_list(reserved)(claims(serial=1)) == 1
    assert check_pass(qr(serial=100), keys=KEYS, pass_status=lookup, site_area=NANYUAN,
                      policy=Policy(parents=PARENTS), at=AT).reasons == ("suspended",)


# ---- validity window: [valid_from, valid_until) --------------------------------------------------------

@pytest.mark.parametrize("at,reasons", [
    (AT - HOUR - 1, ("not_yet_valid",)),
    (AT - HOUR, ()),
    (AT + 3 * DAY - 1, ()),
    (AT + 3 * DAY, ("expired",)),
    (AT + 30 * DAY, ("expired",)),
])
def test_the_window_includes_its_start_and_excludes_its_end(at, reasons):
    assert check(qr(), at=at).reasons == reasons


# ---- scope and sealed zones ------------------------------------------------------------------------------

@pytest.mark.parametrize("scope,site,reasons", [
    ((NANYUAN,), NANYUAN, ()),
    ((FUTIAN,), NANYUAN, ()),                 # a district-wide pass covers its streets
    ((CITY,), NANTOU, ()),                    # a city-wide pass covers everything
    ((NANYUAN,), YUANLING, ("out_of_scope",)),  # a neighbouring street
    ((NANYUAN,), NANTOU, ("out_of_scope",)),    # another district
    ((NANYUAN,), FUTIAN, ("out_of_scope",)),    # a street pass at a district-level site
    ((YUANLING, NANYUAN), NANYUAN, ()),       # any scope area may cover the site
    ((440399,), NANYUAN, ("out_of_scope",)),  # an unknown area covers nothing
])
def test_a_pass_is_good_only_where_one_of_its_scope_areas_contains_the_site(scope, site, reasons):
    assert check(qr(scope=tuple(int(c) for c in scope)), site=site).reasons == reasons


@pytest.mark.parametrize("scope,site,sealed,reasons", [
    ((FUTIAN,), NANYUAN, NANYUAN, ("sealed_zone",)),     # district-wide pass, sealed street
    ((NANYUAN,), NANYUAN, NANYUAN, ()),                  # the pass names the sealed street
    ((CITY,), NANYUAN, FUTIAN, ("sealed_zone",)),        # city-wide pass, sealed district
    ((NANYUAN,), NANYUAN, FUTIAN, ()),                   # names one street of the sealed district
    ((FUTIAN,), NANYUAN, FUTIAN, ()),                    # names the sealed district itself
    ((CITY, NANYUAN), NANYUAN, NANYUAN, ()),             # naming it once is enough
    ((CITY,), NANYUAN, CITY, ()),                        # a city-wide pass names a sealed city itself
    ((FUTIAN,), YUANLING, NANYUAN, ()),                  # a sealed neighbour does not matter
    ((CITY,), FUTIAN, NANYUAN, ()),                      # a district site is not inside a sealed street
])
def test_in_a_sealed_area_the_pass_must_name_that_area_or_a_street_in_it(scope, site, sealed, reasons):
    text = qr(scope=tuple(int(c) for c in scope))
    assert check(text, site=site, risk={sealed: "sealed"}).reasons == reasons


@pytest.mark.parametrize("level", ["normal", "precaution", "controlled"])
def test_only_a_sealed_level_restricts_parent_scopes(level):
    assert check(qr(scope=(int(FUTIAN),)), risk={NANYUAN: level, FUTIAN: level}).accept


def test_a_pass_outside_its_scope_is_not_also_reported_as_sealed_zone():
    assert check(qr(scope=(int(NANTOU),)), risk={NANYUAN: "sealed"}).reasons == ("out_of_scope",)


# ---- plate ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seen,reasons", [
    ("粤B12345", ()),
    ("粤b·12345", ()),
    (" 粤 B 12345 ", ()),
    ("粤Ｂ１２３４５", ()),       # full-width characters are folded
    ("AB 1234", ()),              # the Hong Kong mark matches too
    ("ab1234", ()),
    ("粤B12346", ("plate_mismatch",)),
    ("AB 1235", ("plate_mismatch",)),
    (None, ()),                    # nothing seen, nothing compared
])
def test_the_plate_seen_is_normalised_before_it_is_compared_with_both_plates(seen, reasons):
    assert check(qr(hk_plate="AB1234"), plate_seen=seen).reasons == reasons


# ---- several reasons ----------------------------------------------------------------------------------------

def test_every_failing_rule_is_listed_in_the_documented_order():
    verdict = check(qr(scope=(int(NANTOU),)), keys={SIGNER.kid: KeyInfo(SIGNER.public_key, "revoked")}, status=2,
                    at=AT + 4 * DAY, plate_seen="粤B00000")
    assert verdict.reasons == ("key_revoked", "revoked", "expired", "out_of_scope", "plate_mismatch")
    assert not verdict.accept and verdict.to_json()["reasons"] == list(verdict.reasons)


def test_suspended_not_yet_valid_and_sealed_zone_are_listed_together():
    verdict = check(qr(scope=(int(CITY),), valid_from=AT + HOUR), status=1, risk={FUTIAN: "sealed"})
    assert verdict.reasons == ("suspended", "not_yet_valid", "sealed_zone")


def test_online_reasons_merge_into_the_same_order_without_duplicates():
    verdict = check(qr(), status=1).with_reasons(["clone_suspected", "test_stale", "suspended"])
    assert verdict.reasons == ("suspended", "test_stale", "clone_suspected") and verdict.claims == claims()
    assert list(REASONS) == ["malformed", "bad_signature", "unknown_key", "key_revoked", "stale_trust_list",
                             "stale_status_list", "stale_policy", "revoked", "suspended",
                             "not_yet_valid", "expired", "out_of_scope", "sealed_zone", "site_required", "test_missing",
                             "test_stale", "test_positive", "plate_mismatch", "clone_suspected"]


# ---- the policy -------------------------------------------------------------------------------------------

def test_the_level_at_an_area_is_the_strictest_up_the_chain():
    policy = Policy(parents=PARENTS, risk={CITY: RiskLevel.PRECAUTION, FUTIAN: RiskLevel.CONTROLLED,
                                           NANYUAN: RiskLevel.NORMAL})
    assert policy.chain(NANYUAN) == [NANYUAN, FUTIAN, CITY]
    assert policy.level_at(NANYUAN) is RiskLevel.CONTROLLED
    assert policy.level_at(YUANLING) is RiskLevel.CONTROLLED
    assert policy.level_at(NANTOU) is RiskLevel.PRECAUTION
    assert Policy(parents=PARENTS, risk={NANYUAN: RiskLevel.SEALED}).level_at(NANYUAN) is RiskLevel.SEALED
    assert Policy(parents=PARENTS).level_at(NANYUAN) is RiskLevel.NORMAL
    assert Policy(parents=PARENTS).level_at("999999") is RiskLevel.NORMAL


def test_sealed_around_lists_every_sealed_area_containing_the_site():
    policy = Policy(parents=PARENTS, risk={FUTIAN: RiskLevel.SEALED, NANYUAN: RiskLevel.SEALED,
                                           YUANLING: RiskLevel.SEALED, CITY: RiskLevel.CONTROLLED})
    assert policy.sealed_around(NANYUAN) == [NANYUAN, FUTIAN]
    assert policy.sealed_around(NANTOU) == []


def test_the_default_test_ages_are_72_48_24_24_hours():
    assert {level.label: hours for level, hours in Policy(parents={}).max_test_age_hours.items()} == {
        "normal": 72, "precaution": 48, "controlled": 24, "sealed": 24}


def test_a_bundle_round_trips_and_leaves_normal_areas_out():
    policy = Policy(parents=PARENTS, risk={FUTIAN: RiskLevel.SEALED, NANYUAN: RiskLevel.NORMAL},
                    max_test_age_hours={RiskLevel.NORMAL: 96, RiskLevel.PRECAUTION: 48, RiskLevel.CONTROLLED: 12,
                                        RiskLevel.SEALED: 6}, tests_required=False, version=5, issued_at=AT)
    decoded = decode_bundle(encode_bundle(policy))
    assert decoded == Policy(parents=PARENTS, risk={FUTIAN: RiskLevel.SEALED},
                             max_test_age_hours=dict(policy.max_test_age_hours), tests_required=False, version=5,
                             issued_at=AT, expires_at=AT + 7 * 86400)
    assert decoded.parents[CITY] is None and decoded.parents[NANYUAN] == FUTIAN

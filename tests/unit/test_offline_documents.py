"""The documents' expiry and the test ages list and signed trust list formats, and the offline rules that use
them (passes.verifier.check_offline, check_and_remember), without a database."""
import zlib

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core.signing import BadSignature, Malformed, Signer, UnknownKey
from core.trustlist import TrustEntry, decode_trust_list, encode_trust_list, verify_trust_list
from passes.format import PassClaims, issue_qr_text
from passes.policy import Policy, RiskLevel, decode_bundle, encode_bundle
from passes.statuslist import StatusList, pack_status_bits
from passes.testages import NO_AGE, ages_minutes, build_test_ages_payload, decode_test_ages_payload, pack_ages
from passes.verifier import (KeyInfo, OfflineData, Rollback, check_and_remember, check_offline, data_warnings,
                             load_signed_trust_list)

T0 = 1767196800
KEY, OTHER = (Ed25519PrivateKey.from_private_bytes(bytes(range(i, i + 32))) for i in (0, 1))
SIGNER, OTHER_SIGNER = Signer(KEY), Signer(OTHER)
PARENTS = {"440300": None, "440304": "440300", "440304001": "440304", "440305": "440300", "440305001": "440305"}


def _entry(signer, status="active") -> TrustEntry:
    return TrustEntry(signer.kid, signer.public_key.public_bytes_raw(), status, T0 - 86400)


# ---- test ages list --------------------------------------------------------------------------------------

def test_ages_are_rounded_up_to_the_minute_and_packed_big_endian_with_no_age_elsewhere():
    assert ages_minutes(T0, {0: T0, 1: T0 - 1, 2: T0 - 60, 3: T0 - 61, 4: T0 - 90 * 86400}) == {
        0: 0, 1: 1, 2: 1, 3: 2, 4: 0xFFFE}
    assert pack_ages({0: 1, 2: 0x0102}, 4) == bytes.fromhex("0001ffff0102ffff")
    with pytest.raises(ValueError):
        pack_ages({4: 1}, 4)
    with pytest.raises(ValueError):
        pack_ages({0: NO_AGE}, 4)


def test_the_age_at_a_scan_adds_the_time_since_the_list_was_issued():
    ages = decode_test_ages_payload(build_test_ages_payload(7, T0, T0 + 86400, {0: 30, 1: 0}, 3))
    assert (ages.version, ages.issued_at, ages.expires_at, ages.count) == (7, T0, T0 + 86400, 3)
    assert ages.age_at(0, T0) == 1800 and ages.age_at(0, T0 + 3600) == 5400 and ages.age_at(1, T0 - 50) == 0
    assert ages.age_at(2, T0) is None
    for serial in (3, -1, 2**64):
        with pytest.raises(IndexError):
            ages.age_at(serial, T0)


def _ages_map(**changes) -> bytes:
    m = {1: 1, 2: T0, 3: T0 + 1, 4: zlib.compress(b"\xff\xff"), 5: 1}
    m.update({int(k[1:]): v for k, v in changes.items()})
    return cbor2.dumps({k: v for k, v in m.items() if v is not None})


@pytest.mark.parametrize("payload", [
    _ages_map(k3=T0), _ages_map(k3=None), _ages_map(k6=0), _ages_map(k5=2), _ages_map(k4=zlib.compress(b"\xff")),
    _ages_map(k4=b"junk"), _ages_map(k4=zlib.compress(b"\xff\xff") + b"x"), _ages_map(k1=-1), _ages_map(k5="1"),
])
def test_a_malformed_test_ages_list_is_refused(payload):
    assert decode_test_ages_payload(_ages_map()).count == 1
    with pytest.raises(Malformed):
        decode_test_ages_payload(payload)


# ---- signed trust list -----------------------------------------------------------------------------------

def test_a_trust_list_round_trips_and_is_verified_by_a_key_it_lists():
    document = SIGNER.sign(encode_trust_list([_entry(SIGNER), _entry(OTHER_SIGNER, "revoked")], issued_at=T0,
                                             expires_at=T0 + 3600))
    trust = verify_trust_list(document)
    assert (trust.issued_at, trust.expires_at, trust.signer) == (T0, T0 + 3600, SIGNER.kid)
    assert [e.status for e in trust.entries] == ["active", "revoked"]
    keys, _ = load_signed_trust_list(document, anchors={SIGNER.kid: SIGNER.public_key})
    assert {kid: k.status for kid, k in keys.items()} == {SIGNER.kid: "active", OTHER_SIGNER.kid: "revoked"}


def test_a_trust_list_signed_by_a_revoked_unlisted_or_unknown_key_or_tampered_is_refused():
    listed = [_entry(SIGNER), _entry(OTHER_SIGNER, "revoked")]
    payload = encode_trust_list(listed, issued_at=T0, expires_at=T0 + 3600)
    with pytest.raises(UnknownKey):
        verify_trust_list(OTHER_SIGNER.sign(payload))  # signed by the key it says is revoked
    with pytest.raises(UnknownKey):
        verify_trust_list(SIGNER.sign(encode_trust_list(listed[1:], issued_at=T0, expires_at=T0 + 1)))
    with pytest.raises(UnknownKey):
        verify_trust_list(SIGNER.sign(payload), anchors={OTHER_SIGNER.kid: OTHER_SIGNER.public_key})
    tampered = bytearray(SIGNER.sign(payload))
    tampered[-1] ^= 1
    with pytest.raises(BadSignature):
        verify_trust_list(bytes(tampered))


@pytest.mark.parametrize("change", ["kid_mismatch", "no_expiry", "expires_before", "bad_status", "twice"])
def test_a_malformed_trust_list_is_refused(change):
    key = {1: SIGNER.kid, 2: SIGNER.public_key.public_bytes_raw(), 3: "active", 4: T0}
    m = {1: T0, 2: T0 + 1, 3: [key]}
    if change == "kid_mismatch":
        key[1] = OTHER_SIGNER.kid
    elif change == "no_expiry":
        del m[2]
    elif change == "expires_before":
        m[2] = T0
    elif change == "bad_status":
        key[3] = "trusted"
    else:
        m[3] = [key, key]
    with pytest.raises(Malformed):
        decode_trust_list(cbor2.dumps(m, canonical=True))


# ---- offline rules ------------------------------------------------------------------------------------------

def _data(*, ages=None, risk=None, trust=True) -> OfflineData:
    policy = decode_bundle(encode_bundle(Policy(parents=PARENTS, risk=risk or {}, version=3, issued_at=T0)))
    trust_list = verify_trust_list(SIGNER.sign(encode_trust_list([_entry(SIGNER)], issued_at=T0,
                                                                  expires_at=T0 + 7 * 86400))) if trust else None
    ages_list = decode_test_ages_payload(build_test_ages_payload(5, T0, T0 + 86400, ages or {}, 4))
    return OfflineData({SIGNER.kid: KeyInfo(SIGNER.public_key, "active")},
                       StatusList(5, T0, pack_status_bits({}, 4), 4, T0 + 86400), policy, trust_list, ages_list)


def _qr(serial=0) -> str:
    return issue_qr_text(SIGNER, PassClaims(pass_id="7K3M9QXA", serial=serial, plate="粤B12345",
                                            scope=(440300,), category="vegetables", valid_from=T0 - 86400,
                                            valid_until=T0 + 30 * 86400))


def test_each_document_past_its_expiry_gives_its_own_reason():
    data = _data()
    assert check_offline(_qr(), data=data, site_area="440304001", at=T0 + 86400 - 1).reasons == ()
    assert check_offline(_qr(), data=data, site_area="440304001", at=T0 + 86400).reasons == ("stale_status_list",)
    assert check_offline(_qr(), data=data, site_area="440304001", at=T0 + 7 * 86400).reasons == (
        "stale_trust_list", "stale_status_list", "stale_policy")
    assert check_offline(_qr(), data=_data(trust=False), site_area="440304001", at=T0 + 7 * 86400).reasons == (
        "stale_status_list", "stale_policy")  # the unsigned JSON list has no expiry to check


def test_the_site_level_decides_the_test_age_offline():
    data = _data(ages={0: 30 * 60, 1: 23 * 60}, risk={"440305": RiskLevel.CONTROLLED})
    assert check_offline(_qr(0), data=data, site_area="440304001", at=T0).reasons == ()
    assert check_offline(_qr(0), data=data, site_area="440305001", at=T0).reasons == ("test_stale",)
    assert check_offline(_qr(1), data=data, site_area="440305001", at=T0 + 3600).reasons == ()
    assert check_offline(_qr(1), data=data, site_area="440305001", at=T0 + 3601).reasons == ("test_stale",)
    assert check_offline(_qr(2), data=data, site_area="440305001", at=T0).reasons == ()  # NO_AGE
    assert check_offline(_qr(9), data=data, site_area="440304001", at=T0).reasons == ("suspended",)


def test_warnings_start_at_three_quarters_of_each_lifetime():
    data = _data()
    assert data_warnings(data, at=T0 + 18 * 3600 - 1) == []
    assert [w.split(" expires")[0] for w in data_warnings(data, at=T0 + 18 * 3600)] == [
        "the status list", "the test ages list"]
    assert data_warnings(data, at=T0 + 86400) == []  # expired: a stale_* reason, no longer a warning


def test_the_command_line_state_refuses_lower_versions_and_keeps_revocations():
    data = _data()
    state = check_and_remember({}, data)
    assert state["versions"] == {"status_list": 5, "policy": 3, "test_ages": 5}
    assert check_and_remember(state, data) == state
    with pytest.raises(Rollback):
        check_and_remember({**state, "versions": {**state["versions"], "policy": 4}}, data)
    kid = list(state["trusted_keys"])[0]
    with pytest.raises(Rollback):
        check_and_remember({**state, "revoked_keys": [kid]}, data)

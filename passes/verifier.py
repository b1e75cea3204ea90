"""Pass verification rules, shared by the online scan service and offline devices, plus the offline
command line. Pure: no Flask, no database.

    python -m passes.verifier --trust-list trust.cose --status-list status.cose --policy policy.cose \\
        --test-ages ages.cose --area 440304001 [--site 7] [--at 2026-03-14T08:00:00+08:00] [--plate 粤B12345] \\
        [--state verifier-state.json] 'GL1:...'

prints a JSON verdict and exits 0 (accept), 1 (reject) or 2 (unusable input files, among them a document
older than one this device has already seen). The four files are GET /api/v1/trust-list/signed,
/status-list, /policy-bundle and /test-ages. Past a document's expiry the pass is rejected with
`stale_trust_list`, `stale_status_list` or `stale_policy`; from 75 % of its lifetime on, the answer carries
"warnings". Without --site a route-bound pass is rejected with `site_required` and a "hint" to pass --site.
The state file (default $XDG_STATE_HOME/greenlane/verifier.json) remembers the highest versions seen and the
keys of the last trust list accepted.
"""
import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Mapping, NamedTuple

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from core.areas import contains
from core.signing import (Malformed, VerificationError, b64url, b64url_decode, decode_sign1, verify,
                          verify_decoded)
from passes.format import PassClaims, decode_claims, from_qr_text
from core.trustlist import TrustList, verify_trust_list
from passes.policy import Policy, decode_bundle
from passes.statuslist import REVOKED, SUSPENDED, StatusList, decode_status_payload
from passes.testages import AgesList, decode_test_ages_payload
from whitelist.identifiers import normalise_plate

# The fixed vocabulary of reasons, in the order they are checked and listed.
# site_required: a route-bound pass checked with no site (offline without --site) cannot be accepted.
# stale_*: offline only, the device's copy of that signed document is past its expiry (sync first).
REASONS = ("malformed", "bad_signature", "unknown_key", "key_revoked", "stale_trust_list", "stale_status_list",
           "stale_policy", "revoked", "suspended", "not_yet_valid", "expired", "out_of_scope", "sealed_zone",
           "site_required", "test_missing", "test_stale", "test_positive", "plate_mismatch", "clone_suspected")
TRUST_SKEW = 600  # seconds a trust list may be issued before the newest one seen (several hosts' clocks)
WARN_AT = 0.75  # share of a document's lifetime after which a device warns that it needs a sync
SITE_HINT = ("a route-bound pass is good only at the sites of its route: run again with --site ID "
             "(the checkpoint's site id)")
MAX_DOCUMENT = 8 << 20


@dataclass(frozen=True)
class KeyInfo:
    public_key: Ed25519PublicKey
    status: str  # active, retired or revoked


class Verdict(NamedTuple):
    """The answer for one pass (a named tuple: one is built per scan, and a frozen dataclass's __init__ cost
    twice as much)."""
    reasons: tuple[str, ...]
    claims: PassClaims | None = None
    kid: bytes | None = None

    @property
    def accept(self) -> bool:
        return not self.reasons

    def with_reasons(self, extra: list[str]) -> "Verdict":
        merged = set(self.reasons) | set(extra)
        return Verdict(tuple(r for r in REASONS if r in merged), self.claims, self.kid)

    def to_json(self) -> dict:
        c = self.claims
        return {"verdict": "accept" if self.accept else "reject", "reasons": list(self.reasons),
                "pass": None if c is None else {
                    "id": c.pass_id, "serial": c.serial, "plate": c.plate, "hk_plate": c.hk_plate,
                    "scope": [str(a) for a in c.scope], "category": c.category,
                    "valid_from": c.valid_from, "valid_until": c.valid_until}}


def check_pass(qr_text: str, *, keys: Mapping[bytes, KeyInfo], pass_status: Callable[[PassClaims], int | None],
               site_area: str, policy: Policy, at: int, plate_seen: str | None = None,
               site_id: int | None = None) -> Verdict:
    """Every rule a checkpoint applies to a pass, online or offline. All failing rules are listed.

    `pass_status` gives 0 valid, 1 suspended, 2 revoked, or None when unknown (treated as suspended:
    the device must sync before it can accept)."""
    try:
        message = decode_sign1(from_qr_text(qr_text))
        kid = message.kid
        info = keys.get(kid)
        _, payload = verify_decoded(message, {kid: info.public_key} if info else {})
        claims = decode_claims(payload)
    except VerificationError as e:
        return Verdict((e.reason,))
    reasons = []
    if info.status == "revoked":
        reasons.append("key_revoked")
    status = pass_status(claims)
    if status == REVOKED:
        reasons.append("revoked")
    elif status != 0:
        reasons.append("suspended")
    if at < claims.valid_from:
        reasons.append("not_yet_valid")
    if at >= claims.valid_until:
        reasons.append("expired")
    reasons += _memoised_scope_reasons(claims.scope, site_area, policy)
    # A route-bound (cross-border) pass is good only at its crossing, its yard and the route's checkpoints,
    # so it is never accepted where the site is not known.
    if claims.route is not None:
        if site_id is None:
            reasons.append("site_required")
        elif site_id not in policy.route_sites(claims.route):
            reasons.append("out_of_scope")
    if plate_seen and normalise_plate(plate_seen) not in {claims.plate, claims.hk_plate}:
        reasons.append("plate_mismatch")
    if not reasons:  # the common case: nothing to put in order
        return Verdict((), claims, kid)
    return Verdict(tuple(r for r in REASONS if r in reasons), claims, kid)


def scope_reasons(scope: list[str], site_area: str, policy: Policy) -> list[str]:
    """out_of_scope: no scope area contains the site. sealed_zone: the site lies in a sealed area that
    the scope reaches only through a parent (a district-wide or city-wide pass)."""
    parents = policy.parents
    covering = [code for code in scope if contains(code, site_area, parents)]
    if not covering:
        return ["out_of_scope"]
    for sealed in policy.sealed_around(site_area):
        if not any(contains(sealed, code, parents) for code in covering):
            return ["sealed_zone"]
    return []


MEMO_LIMIT = 10_000  # scope and site pairs memoised per policy; past it the memo starts again


def _memoised_scope_reasons(scope: tuple[int, ...], site_area: str, policy: Policy) -> tuple[str, ...]:
    """scope_reasons, memoised on the policy object: a checkpoint sees the same few scopes again and again, and
    each answer holds for as long as the policy object lives (passes/policy.py)."""
    key = ("scope_reasons", scope, site_area)
    answer = policy.memo.get(key)
    if answer is None:
        answer = tuple(scope_reasons([str(code) for code in scope], site_area, policy))
        if len(policy.memo) >= MEMO_LIMIT:
            policy.memo.clear()
        policy.memo[key] = answer
    return answer


# ---- offline: the four synced documents -------------------------------------------------------------

@dataclass(frozen=True)
class OfflineData:
    """What a device holds: the keys (from the trust list), and the documents verified with them."""
    keys: Mapping[bytes, KeyInfo]
    status_list: StatusList
    policy: Policy
    trust: TrustList | None = None  # None: keys from the unsigned JSON list, whose age is unknown
    test_ages: AgesList | None = None  # None: only the normal-level test rule, through the status list


def check_offline(qr_text: str, *, data: OfflineData, site_area: str, at: int, plate_seen: str | None = None,
                  site_id: int | None = None) -> Verdict:
    """check_pass with the device's documents, plus what only a device must check: that none of them is
    past its expiry (stale_*), and each zone's own maximum test age through the test ages list."""
    verdict = check_pass(qr_text, keys=data.keys, pass_status=status_from_list(data.status_list),
                         site_area=site_area, policy=data.policy, at=at, plate_seen=plate_seen, site_id=site_id)
    extra = stale_reasons(data, at=at)
    if verdict.claims is not None:
        extra += test_age_reasons(data, verdict.claims.serial, site_area=site_area, at=at)
    return verdict.with_reasons(extra) if extra else verdict


def stale_reasons(data: OfflineData, *, at: int) -> list[str]:
    """A document is usable while at < expires_at. An expired list must be loud, never silently valid."""
    expiries = [("stale_trust_list", data.trust.expires_at if data.trust else None),
                ("stale_status_list", data.status_list.expires_at),
                ("stale_status_list", data.test_ages.expires_at if data.test_ages else None),
                ("stale_policy", data.policy.expires_at or None)]
    return [reason for reason, expires_at in expiries if expires_at is not None and at >= expires_at]


def test_age_reasons(data: OfflineData, serial: int, *, site_area: str, at: int) -> list[str]:
    """test_stale when the freshest negative test of the pass's drivers is older, at `at`, than the site's risk
    level allows (as the online rule); suspended when the list does not cover the serial (sync first)."""
    if data.test_ages is None or not data.policy.tests_required:
        return []
    try:
        age = data.test_ages.age_at(serial, at)
    except IndexError:
        return ["suspended"]
    hours = data.policy.max_test_age_hours.get(data.policy.level_at(site_area))
    return ["test_stale"] if age is not None and hours is not None and age > 3600 * hours else []


def data_warnings(data: OfflineData, *, at: int) -> list[str]:
    """One line per document that is 75 % or more through its lifetime (and not yet expired)."""
    documents = [("trust list", data.trust and (data.trust.issued_at, data.trust.expires_at)),
                 ("status list", (data.status_list.issued_at, data.status_list.expires_at)),
                 ("test ages list", data.test_ages and (data.test_ages.issued_at, data.test_ages.expires_at)),
                 ("policy bundle", (data.policy.issued_at, data.policy.expires_at))]
    out = []
    for name, times in documents:
        if not times or not times[1]:
            continue
        issued_at, expires_at = times
        if issued_at + WARN_AT * (expires_at - issued_at) <= at < expires_at:
            out.append(f"the {name} expires in {(expires_at - at) / 3600:.1f} h "
                       f"(at {_rfc3339(expires_at)}): sync before then")
    return out


def load_trust_list(document: Mapping) -> dict[bytes, KeyInfo]:
    """Keys from GET /api/v1/trust-list JSON (unsigned: trust it only as far as the HTTPS fetch). Raises
    ValueError on a malformed list."""
    keys = {}
    for entry in document["keys"]:
        if entry.get("kty") != "OKP" or entry.get("crv") != "Ed25519":
            continue
        keys[b64url_decode(entry["kid"])] = KeyInfo(Ed25519PublicKey.from_public_bytes(b64url_decode(entry["x"])),
                                                   entry["status"])
    return keys


def load_signed_trust_list(cose: bytes, *, anchors: Mapping[bytes, Ed25519PublicKey] | None = None
                           ) -> tuple[dict[bytes, KeyInfo], TrustList]:
    """Keys from GET /api/v1/trust-list/signed (core/trustlist.py). `anchors`: the usable keys of the last
    trust list this device accepted (None on first use)."""
    trust = verify_trust_list(cose, anchors=anchors)
    return {e.kid: KeyInfo(Ed25519PublicKey.from_public_bytes(e.x), e.status) for e in trust.entries}, trust


def load_status_list(cose: bytes, keys: Mapping[bytes, KeyInfo]) -> StatusList:
    """Verify (with a key that is not revoked) and decode a status list."""
    _, payload = verify(cose, _usable(keys), max_size=MAX_DOCUMENT)
    return decode_status_payload(payload)


def load_policy(cose: bytes, keys: Mapping[bytes, KeyInfo]) -> Policy:
    """Verify (with a key that is not revoked) and decode a policy bundle."""
    _, payload = verify(cose, _usable(keys), max_size=MAX_DOCUMENT)
    return decode_bundle(payload)


def load_test_ages(cose: bytes, keys: Mapping[bytes, KeyInfo]) -> AgesList:
    """Verify (with a key that is not revoked) and decode a test ages list."""
    _, payload = verify(cose, _usable(keys), max_size=MAX_DOCUMENT)
    return decode_test_ages_payload(payload)


def status_from_list(status_list: StatusList) -> Callable[[PassClaims], int | None]:
    """A serial at or past the list's entry count is unknown (None): issued after the list was built.
    The reserved value 3 (padding) reads as suspended."""
    def lookup(claims: PassClaims) -> int | None:
        status = status_list.status(claims.serial)
        return None if status is None else (status if status in (0, SUSPENDED, REVOKED) else SUSPENDED)
    return lookup


def _usable(keys: Mapping[bytes, KeyInfo]) -> dict[bytes, Ed25519PublicKey]:
    return {kid: k.public_key for kid, k in keys.items() if k.status != "revoked"}


def _rfc3339(t: int) -> str:
    return datetime.fromtimestamp(t, timezone.utc).isoformat()


# ---- the command line's memory: rollback protection -------------------------------------------------------

class Rollback(ValueError):
    """A document older than one this device has already accepted."""


def default_state_path() -> Path:
    return Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "greenlane" / "verifier.json"


def read_state(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


def remembered_anchors(state: dict) -> dict[bytes, Ed25519PublicKey] | None:
    if "trusted_keys" not in state:
        return None
    return {b64url_decode(kid): Ed25519PublicKey.from_public_bytes(b64url_decode(x))
            for kid, x in state["trusted_keys"].items()}


def check_and_remember(state: dict, data: OfflineData) -> dict:
    """The new state after accepting `data`; raises Rollback when a document is older than one seen before:
    a lower status list, test ages list or policy bundle version, an older trust list, or a trust list that
    lists as usable a key an earlier one had revoked."""
    seen = state.get("versions", {})
    current = {"status_list": data.status_list.version, "policy": data.policy.version}
    if data.test_ages is not None:
        current["test_ages"] = data.test_ages.version
    for name, version in current.items():
        if version < seen.get(name, 0):
            raise Rollback(f"{name} version {version} is older than version {seen[name]} already seen here: "
                           "fetch a current copy")
    new = dict(state, versions={**seen, **{k: max(v, seen.get(k, 0)) for k, v in current.items()}})
    if data.trust is not None:
        # Hosts sign the trust list when asked, so a little clock skew between them is not a rollback; what
        # must never go back is a revocation, checked below.
        if data.trust.issued_at < state.get("trust_issued_at", 0) - TRUST_SKEW:
            raise Rollback("trust list older than one already seen here: fetch a current copy")
        revoked = set(state.get("revoked_keys", []))
        back = [e for e in data.trust.entries if e.status != "revoked" and b64url(e.kid) in revoked]
        if back:
            raise Rollback(f"trust list shows the revoked key {b64url(back[0].kid)} as usable")
        new.update(trust_issued_at=max(data.trust.issued_at, state.get("trust_issued_at", 0)),
                   trusted_keys={b64url(e.kid): b64url(e.x) for e in data.trust.entries if e.status != "revoked"},
                   revoked_keys=sorted(revoked | {b64url(e.kid) for e in data.trust.entries if e.status == "revoked"}))
    return new


def write_state(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(state, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m passes.verifier", description=__doc__.split("\n\n")[0])
    parser.add_argument("--trust-list", required=True, help="COSE from GET /api/v1/trust-list/signed")
    parser.add_argument("--status-list", required=True, help="COSE from GET /api/v1/status-list")
    parser.add_argument("--policy", required=True, help="COSE from GET /api/v1/policy-bundle")
    parser.add_argument("--test-ages", required=True, help="COSE from GET /api/v1/test-ages")
    parser.add_argument("--area", required=True, help="area code of the checkpoint (street or district)")
    parser.add_argument("--site", type=int, help="site id of the checkpoint (without it a route-bound pass is "
                                                 "rejected with site_required)")
    parser.add_argument("--at", help="RFC 3339 time of the scan (default: now)")
    parser.add_argument("--plate", help="the plate the officer sees")
    parser.add_argument("--state", type=Path, default=None,
                        help="file remembering the versions and keys seen (default: %s)" % default_state_path())
    parser.add_argument("qr", help="the scanned text (GL1:...)")
    args = parser.parse_args(argv)
    state_path = args.state or default_state_path()
    try:
        state = read_state(state_path)
        with open(args.trust_list, "rb") as f:
            trust_bytes = f.read()
        if trust_bytes.lstrip().startswith(b"{"):
            raise ValueError("this is the unsigned JSON trust list: use GET /api/v1/trust-list/signed")
        keys, trust = load_signed_trust_list(trust_bytes, anchors=remembered_anchors(state))
        with open(args.status_list, "rb") as f:
            status_list = load_status_list(f.read(), keys)
        with open(args.policy, "rb") as f:
            policy = load_policy(f.read(), keys)
        with open(args.test_ages, "rb") as f:
            test_ages = load_test_ages(f.read(), keys)
        moment = datetime.fromisoformat(args.at) if args.at else None
        if moment is not None and moment.tzinfo is None:
            raise ValueError("--at needs an RFC 3339 time with an offset, e.g. 2026-03-14T08:00:00+08:00")
        at = int(moment.timestamp()) if moment else int(time.time())
        if args.area not in policy.parents:
            raise ValueError(f"unknown area {args.area}")
        data = OfflineData(keys, status_list, policy, trust, test_ages)
        new_state = check_and_remember(state, data)
        if new_state != state:
            write_state(state_path, new_state)
    except (OSError, ValueError, KeyError, TypeError, VerificationError, Malformed) as e:
        print(json.dumps({"verdict": "error", "error": f"{type(e).__name__}: {e}"}, ensure_ascii=False))
        return 2
    verdict = check_offline(args.qr, data=data, site_area=args.area, at=at, plate_seen=args.plate,
                            site_id=args.site)
    answer = verdict.to_json()
    if "site_required" in verdict.reasons:
        answer["hint"] = SITE_HINT
    if warnings := data_warnings(data, at=at):
        answer["warnings"] = warnings
    print(json.dumps(answer, ensure_ascii=False))
    return 0 if verdict.accept else 1


if __name__ == "__main__":
    sys.exit(main())

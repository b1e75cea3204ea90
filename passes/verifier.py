"""Pass verification rules, shared by the online scan service and offline devices, plus the offline
command line. Pure: no Flask, no database.

    python -m passes.verifier --trust-list trust.json --status-list status.cose --policy policy.cose \\
        --area 440304001 [--site 7] [--at 2026-03-14T08:00:00+08:00] [--plate 粤B12345] 'GL1:...'

prints a JSON verdict and exits 0 (accept), 1 (reject) or 2 (unusable input files). Without --site a
route-bound pass is rejected with `site_required` and a "hint" saying to pass --site.
"""
import argparse
import json
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Mapping

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from core.areas import contains
from core.signing import Malformed, VerificationError, b64url_decode, decode_sign1, verify, verify_decoded
from passes.format import PassClaims, decode_claims, from_qr_text
from passes.policy import Policy, decode_bundle
from passes.statuslist import REVOKED, SUSPENDED, StatusList, decode_status_payload
from whitelist.identifiers import normalise_plate

# The fixed vocabulary of reasons, in the order they are checked and listed.
# site_required: a route-bound pass checked with no site (offline without --site) cannot be accepted.
REASONS = ("malformed", "bad_signature", "unknown_key", "key_revoked", "revoked", "suspended", "not_yet_valid",
           "expired", "out_of_scope", "sealed_zone", "site_required", "test_missing", "test_stale",
           "test_positive", "plate_mismatch", "clone_suspected")
SITE_HINT = ("a route-bound pass is good only at the sites of its route: run again with --site ID "
             "(the checkpoint's site id)")
MAX_DOCUMENT = 8 << 20


@dataclass(frozen=True)
class KeyInfo:
    public_key: Ed25519PublicKey
    status: str  # active, retired or revoked


@dataclass(frozen=True)
class Verdict:
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
    scope = [str(code) for code in claims.scope]
    reasons += scope_reasons(scope, site_area, policy)
    # A route-bound (cross-border) pass is good only at its crossing, its yard and the route's checkpoints,
    # so it is never accepted where the site is not known.
    if claims.route is not None:
        if site_id is None:
            reasons.append("site_required")
        elif site_id not in policy.route_sites(claims.route):
            reasons.append("out_of_scope")
    if plate_seen and normalise_plate(plate_seen) not in {claims.plate, claims.hk_plate}:
        reasons.append("plate_mismatch")
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


# ---- offline: the three synced files ---------------------------------------------------------------

def load_trust_list(document: Mapping) -> dict[bytes, KeyInfo]:
    """Keys from GET /api/v1/trust-list JSON. Raises ValueError on a malformed list."""
    keys = {}
    for entry in document["keys"]:
        if entry.get("kty") != "OKP" or entry.get("crv") != "Ed25519":
            continue
        keys[b64url_decode(entry["kid"])] = KeyInfo(Ed25519PublicKey.from_public_bytes(b64url_decode(entry["x"])),
                                                   entry["status"])
    return keys


def load_status_list(cose: bytes, keys: Mapping[bytes, KeyInfo]) -> StatusList:
    """Verify (with a key that is not revoked) and decode a status list."""
    _, payload = verify(cose, _usable(keys), max_size=MAX_DOCUMENT)
    return decode_status_payload(payload)


def load_policy(cose: bytes, keys: Mapping[bytes, KeyInfo]) -> Policy:
    """Verify (with a key that is not revoked) and decode a policy bundle."""
    _, payload = verify(cose, _usable(keys), max_size=MAX_DOCUMENT)
    return decode_bundle(payload)


def status_from_list(status_list: StatusList) -> Callable[[PassClaims], int | None]:
    """A serial at or past the list's entry count is unknown (None): issued after the list was built.
    The reserved value 3 (padding) reads as suspended."""
    def lookup(claims: PassClaims) -> int | None:
        status = status_list.status(claims.serial)
        return None if status is None else (status if status in (0, SUSPENDED, REVOKED) else SUSPENDED)
    return lookup


def _usable(keys: Mapping[bytes, KeyInfo]) -> dict[bytes, Ed25519PublicKey]:
    return {kid: k.public_key for kid, k in keys.items() if k.status != "revoked"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m passes.verifier", description=__doc__.split("\n\n")[0])
    parser.add_argument("--trust-list", required=True, help="JSON from GET /api/v1/trust-list")
    parser.add_argument("--status-list", required=True, help="COSE from GET /api/v1/status-list")
    parser.add_argument("--policy", required=True, help="COSE from GET /api/v1/policy-bundle")
    parser.add_argument("--area", required=True, help="area code of the checkpoint (street or district)")
    parser.add_argument("--site", type=int, help="site id of the checkpoint (without it a route-bound pass is "
                                                 "rejected with site_required)")
    parser.add_argument("--at", help="RFC 3339 time of the scan (default: now)")
    parser.add_argument("--plate", help="the plate the officer sees")
    parser.add_argument("qr", help="the scanned text (GL1:...)")
    args = parser.parse_args(argv)
    try:
        with open(args.trust_list, encoding="utf-8") as f:
            keys = load_trust_list(json.load(f))
        with open(args.status_list, "rb") as f:
            status_list = load_status_list(f.read(), keys)
        with open(args.policy, "rb") as f:
            policy = load_policy(f.read(), keys)
        moment = datetime.fromisoformat(args.at) if args.at else None
        if moment is not None and moment.tzinfo is None:
            raise ValueError("--at needs an RFC 3339 time with an offset, e.g. 2026-03-14T08:00:00+08:00")
        at = int(moment.timestamp()) if moment else int(time.time())
        if args.area not in policy.parents:
            raise ValueError(f"unknown area {args.area}")
    except (OSError, ValueError, KeyError, TypeError, VerificationError, Malformed) as e:
        print(json.dumps({"verdict": "error", "error": f"{type(e).__name__}: {e}"}, ensure_ascii=False))
        return 2
    verdict = check_pass(args.qr, keys=keys, pass_status=status_from_list(status_list), site_area=args.area,
                         policy=policy, at=at, plate_seen=args.plate, site_id=args.site)
    answer = verdict.to_json()
    if "site_required" in verdict.reasons:
        answer["hint"] = SITE_HINT
    print(json.dumps(answer, ensure_ascii=False))
    return 0 if verdict.accept else 1


if __name__ == "__main__":
    sys.exit(main())

"""Risk levels and the checkpoint policy, and the signed policy bundle that offline devices sync.

Pure: no Flask, no database (the offline verifier imports it)."""
import enum
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

import cbor2

from core.signing import Malformed, loads_strict

MAX_BUNDLE_SIZE = 1 << 20
DEFAULT_LIFETIME = 7 * 86400  # seconds from issued_at to expires_at (GREENLANE_POLICY_BUNDLE_LIFETIME_HOURS)


class RiskLevel(enum.IntEnum):
    NORMAL = 0
    PRECAUTION = 1
    CONTROLLED = 2
    SEALED = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, label: str) -> "RiskLevel":
        return cls[label.upper()]


DEFAULT_MAX_TEST_AGE_HOURS = {RiskLevel.NORMAL: 72, RiskLevel.PRECAUTION: 48, RiskLevel.CONTROLLED: 24,
                              RiskLevel.SEALED: 24}


@dataclass(frozen=True)
class Policy:
    """What a checkpoint needs besides the pass: the area tree, each area's risk level and the test rule."""

    parents: Mapping[str, str | None]
    risk: Mapping[str, RiskLevel] = field(default_factory=dict)  # areas not listed are normal
    max_test_age_hours: Mapping[RiskLevel, int] = field(default_factory=lambda: dict(DEFAULT_MAX_TEST_AGE_HOURS))
    tests_required: bool = True
    # (crossing site, yard site) -> checkpoint sites a regulator put on that route
    routes: Mapping[tuple[int, int], tuple[int, ...]] = field(default_factory=dict)
    version: int = 0
    issued_at: int = 0
    expires_at: int = 0  # bundle key 8; 0: DEFAULT_LIFETIME after issued_at
    # Answers derived from this policy, memoised by their users (the verifier's scope rules per scope and site).
    # They stay true for the object's life: its mappings are read-only copies, and a new version or any other
    # change is a new Policy (dataclasses.replace too), with an empty memo.
    memo: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self):
        for name in ("parents", "risk", "max_test_age_hours", "routes"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    def chain(self, code: str) -> list[str]:
        """The area and every area above it."""
        chain, current = [], code
        while current is not None and current in self.parents:
            chain.append(current)
            current = self.parents[current]
        return chain

    def level_at(self, code: str) -> RiskLevel:
        """The strictest level of the area and of every area containing it."""
        return max((self.risk.get(c, RiskLevel.NORMAL) for c in self.chain(code)), default=RiskLevel.NORMAL)

    def route_sites(self, route: tuple[int, int]) -> set[int]:
        """Where a route-bound pass is good: its crossing, its yard and the route's checkpoints."""
        return {route[0], route[1], *self.routes.get(tuple(route), ())}

    def sealed_around(self, code: str) -> list[str]:
        """Sealed areas that contain `code` (itself included)."""
        return [c for c in self.chain(code) if self.risk.get(c) is RiskLevel.SEALED]


def encode_bundle(policy: Policy) -> bytes:
    """CBOR map {1: version, 2: issued_at, 3: {level: max test age seconds}, 4: {area: level} (non-normal
    areas only), 5: {area: parent} (the tree; the root maps to 0), 6: tests required (bool),
    7: route checkpoints as a list of [crossing site, yard site, [checkpoint sites]], 8: expires_at}."""
    expires_at = policy.expires_at or policy.issued_at + DEFAULT_LIFETIME
    if expires_at <= policy.issued_at:
        raise ValueError("expires_at must be after issued_at")
    return cbor2.dumps({
        1: policy.version, 2: policy.issued_at,
        3: {int(level): hours * 3600 for level, hours in policy.max_test_age_hours.items()},
        4: {int(code): int(level) for code, level in policy.risk.items() if level is not RiskLevel.NORMAL},
        5: {int(code): int(parent) if parent else 0 for code, parent in policy.parents.items()},
        6: policy.tests_required,
        7: [[c, y, sorted(sites)] for (c, y), sites in sorted(policy.routes.items())],
        8: expires_at}, canonical=True)


def decode_bundle(payload: bytes) -> Policy:
    """Parse a verified bundle payload; raises Malformed. A bundle without its expiry (key 8) is refused."""
    m = loads_strict(payload, max_size=MAX_BUNDLE_SIZE)
    try:
        if not isinstance(m, dict) or set(m) != {1, 2, 3, 4, 5, 6, 7, 8} or not isinstance(m[6], bool):
            raise ValueError("bundle keys")
        if _uint(m[8]) <= _uint(m[2]):
            raise ValueError("expires_at must be after issued_at")
        if not isinstance(m[7], list) or not all(isinstance(r, list) and len(r) == 3 and isinstance(r[2], list)
                                                 for r in m[7]):
            raise ValueError("routes")
        routes = {(_uint(c), _uint(y)): tuple(_uint(s) for s in sites) for c, y, sites in m[7]}
        parents = {str(c): (str(p) if p else None) for c, p in _uint_map(m[5]).items()}
        return Policy(parents=parents, risk={str(c): RiskLevel(v) for c, v in _uint_map(m[4]).items()},
                      max_test_age_hours={RiskLevel(k): v // 3600 for k, v in _uint_map(m[3]).items()},
                      tests_required=m[6], routes=routes, version=_uint(m[1]), issued_at=_uint(m[2]),
                      expires_at=m[8])
    except (ValueError, TypeError, KeyError) as e:
        raise Malformed(f"bad policy bundle: {e}") from e


def _uint(v) -> int:
    if type(v) is not int or v < 0:
        raise ValueError("expected an unsigned integer")
    return v


def _uint_map(m) -> dict[int, int]:
    if not isinstance(m, dict):
        raise ValueError("expected a map")
    return {_uint(k): _uint(v) for k, v in m.items()}

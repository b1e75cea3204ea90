"""Per-process read caches of the scan path: sites, trusted keys, and what a scan needs of a pass (status,
drivers, their latest health tests, the firm's name).

Never invalidated by a timer: each cache belongs to one version counter (core/counters.py) that every
transaction changing its tables bumps at commit, and a request reads all versions in one statement before
it looks anything up. A change committed on any app host is therefore seen by the next request on every
host. The caches hold plain frozen values, never ORM objects, so they are safe to share between threads."""
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import counters
from core.keys import SigningKey
from checkpoints.models import HealthTest, Site, SiteKind, TestResult
from passes.models import PassDriver, PassStatus, VehiclePass
from passes.verifier import KeyInfo
from whitelist.models import Firm, Person

MAX_ENTRIES = 200_000  # a cache that grows past this starts again (bounded memory; correctness unaffected)


@dataclass(frozen=True)
class SiteView:
    id: int
    name: str
    kind: SiteKind
    area_code: str
    lat: float
    lon: float


@dataclass(frozen=True)
class DriverView:
    id: int
    name: str
    id_masked: str
    id_hash: str
    latest_test: tuple[datetime, TestResult, int] | None  # (sampled_at, result, id) of the newest result


@dataclass(frozen=True)
class PassView:
    id: str
    serial: int | None
    status: PassStatus
    approved_at: datetime | None
    vehicle_id: int
    firm_id: int
    firm_name: str
    plate: str
    hk_plate: str | None
    scope: tuple[str, ...]
    valid_until: datetime
    route_crossing_site_id: int | None
    route_yard_site_id: int | None
    drivers: tuple[DriverView, ...]

    @property
    def driver_ids(self) -> list[int]:
        return sorted(d.id for d in self.drivers)


def _entries(session: Session, cache: dict, name: str, counter: str) -> dict:
    """The cache `name`, emptied when its version moved since it was filled."""
    version = counters.snapshot(session)[counter]
    entry = cache.get(name)
    if entry is None or entry[0] != version or len(entry[1]) > MAX_ENTRIES:
        entry = (version, {})
        cache[name] = entry
    return entry[1]


def find_site_view(session: Session, site_id: int, *, cache: dict) -> SiteView | None:
    sites = _entries(session, cache, "sites", counters.SITES_VERSION)
    if site_id not in sites:
        site = session.get(Site, site_id)
        sites[site_id] = None if site is None else SiteView(site.id, site.name, site.kind, site.area_code, site.lat,
                                                            site.lon)
    return sites[site_id]


def trusted_keys(session: Session, *, cache: dict) -> dict[bytes, KeyInfo]:
    """Every known public key by kid with its status (revoked ones too, so the verdict can say so)."""
    keys = _entries(session, cache, "keys", counters.KEYS_VERSION)
    if "all" not in keys:
        keys["all"] = {bytes.fromhex(kid): KeyInfo(Ed25519PublicKey.from_public_bytes(public), status.value)
                       for kid, public, status in session.execute(
                           select(SigningKey.kid, SigningKey.public_key, SigningKey.status).order_by(SigningKey.id))}
    return keys["all"]


def find_pass_view(session: Session, pass_id: str, *, cache: dict) -> PassView | None:
    passes = _entries(session, cache, "passes", counters.PASSES_VERSION)
    if pass_id not in passes:
        passes[pass_id] = _load_pass_view(session, pass_id)
    return passes[pass_id]


def _load_pass_view(session: Session, pass_id: str) -> PassView | None:
    row = session.execute(select(VehiclePass.id, VehiclePass.serial, VehiclePass.status, VehiclePass.approved_at,
                                 VehiclePass.vehicle_id, VehiclePass.firm_id, Firm.name, VehiclePass.plate,
                                 VehiclePass.hk_plate, VehiclePass.scope, VehiclePass.valid_until,
                                 VehiclePass.route_crossing_site_id, VehiclePass.route_yard_site_id)
                          .join(Firm, Firm.id == VehiclePass.firm_id).where(VehiclePass.id == pass_id)).first()
    if row is None:
        return None
    drivers = []
    # A join rather than IN (...): expanding IN parameters is recompiled on every call, a hot-path cost.
    for person_id, name, masked, id_hash in session.execute(
            select(Person.id, Person.name, Person.id_masked, Person.id_hash)
            .join(PassDriver, PassDriver.person_id == Person.id).where(PassDriver.pass_id == pass_id)
            .order_by(Person.id)):
        latest = session.execute(select(HealthTest.sampled_at, HealthTest.result, HealthTest.id)
                                 .where(HealthTest.person_hash == id_hash)
                                 .order_by(HealthTest.sampled_at.desc(), HealthTest.id.desc()).limit(1)).first()
        drivers.append(DriverView(person_id, name, masked, id_hash, tuple(latest) if latest else None))
    return PassView(*row[:9], tuple(row.scope), *row[10:], drivers=tuple(drivers))

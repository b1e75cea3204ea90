"""Checkpoint use cases: risk zones, the policy and its signed bundle, and recording scans."""
import math
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import Row, bindparam, delete, func, insert, literal, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit, counters, keys
from core.accounts import Actor, Role
from core.areas import CITY_CODE, AreaTree
from core.db import DriverStatement, Page, paged, transaction
from core.groupcommit import GroupCommit
from core.errors import Forbidden, NotFound, Unprocessable
from core.permissions import require_regulates, visible_area_codes
from checkpoints import lookups
from checkpoints.alerts import raise_alert
from checkpoints.lookups import DriverView, PassView, SiteView, find_pass_view, find_site_view
from checkpoints.errors import ScanTimeOutOfBounds
from checkpoints.models import (AlertKind, AreaRisk, HealthTest, PolicySetting, RouteCheckpoint, Scan, Site, SiteKind,
                                TestResult, Verdict)
from checkpoints.sites import get_site
from checkpoints.zones import risk_effect
from passes.events import pass_accepted
from passes.models import PassStatus
from passes.policy import DEFAULT_LIFETIME as BUNDLE_LIFETIME
from passes.policy import DEFAULT_MAX_TEST_AGE_HOURS, Policy, RiskLevel, encode_bundle
from passes.verifier import check_pass
from passes.verifier import Verdict as CheckVerdict

MAX_SPEED_KMH = 120.0
CLOCK_SKEW = timedelta(minutes=5)  # how far a device's clock may run ahead of (or behind) the server's
DEFAULT_MAX_SCAN_AGE = timedelta(hours=72)  # GREENLANE_MAX_SCAN_AGE_HOURS: an offline queue's longest wait


# ---- risk zones and policy -------------------------------------------------------------------------

def set_area_risk(session: Session, area_code: str, *, level: RiskLevel, reason: str, actor: Actor, areas: AreaTree,
                  now: datetime) -> AreaRisk:
    """Set an area's risk level (regulator whose area contains it); the history is kept. The audit entry
    records what it touched (zones.risk_effect: the figures the console showed before confirming)."""
    if area_code not in areas:
        raise Unprocessable(fields={"area_code": [f"unknown area code {area_code}"]})
    require_regulates(actor, area_code, areas)
    with transaction(session):
        previous = _current_levels(session).get(area_code, RiskLevel.NORMAL)
        effect = risk_effect(session, area_code, areas=areas, now=now)
        entry = AreaRisk(area_code=area_code, level=int(level), reason=reason, set_at=now, set_by=actor.name)
        session.add(entry)
        counters.next_value(session, counters.POLICY_VERSION)
        audit.record(session, actor.audit, "area.risk_set", object_type="area", object_id=area_code,
                     changes={"level": [previous.label, level.label], "reason": reason,
                              "active_passes": effect.active_passes, "site_ids": [s.id for s in effect.sites]}, at=now)
    return entry


def risk_history(session: Session, area_code: str) -> list[AreaRisk]:
    return list(session.scalars(select(AreaRisk).where(AreaRisk.area_code == area_code)
                                .order_by(AreaRisk.set_at.desc(), AreaRisk.id.desc())))


def update_policy(session: Session, *, max_test_age_hours: dict[RiskLevel, int], tests_required: bool, actor: Actor,
                  now: datetime) -> PolicySetting:
    """Only a city regulator (or an admin) sets the city-wide test rules."""
    if not (actor.role is Role.ADMIN or (actor.role is Role.REGULATOR and actor.area_code == CITY_CODE)):
        raise Forbidden("only a city regulator sets the policy")
    with transaction(session):
        setting = session.get(PolicySetting, 1, with_for_update=True) or PolicySetting(id=1)
        before = {"max_test_age_hours": setting.max_test_age_hours, "tests_required": setting.tests_required}
        setting.max_test_age_hours = {level.label: hours for level, hours in max_test_age_hours.items()}
        setting.tests_required, setting.updated_at, setting.updated_by = tests_required, now, actor.name
        session.add(setting)
        counters.next_value(session, counters.POLICY_VERSION)
        counters.next_value(session, counters.STATUS_LIST_VERSION)  # test rules decide status-list marks
        audit.record(session, actor.audit, "policy.updated", object_type="policy", object_id=1,
                     changes={"before": before, "after": {"max_test_age_hours": setting.max_test_age_hours,
                                                          "tests_required": tests_required}}, at=now)
    return setting


def current_policy(session: Session, *, areas: AreaTree, cache: dict, now: datetime) -> Policy:
    """The policy in force, rebuilt only when a risk level or the settings changed."""
    version = counters.snapshot(session)[counters.POLICY_VERSION]
    cached = cache.get("policy")
    if cached and cached.version == version:
        return cached
    setting = session.get(PolicySetting, 1)
    hours = dict(DEFAULT_MAX_TEST_AGE_HOURS)
    if setting is not None:
        hours.update({RiskLevel.parse(k): v for k, v in setting.max_test_age_hours.items()})
    routes: dict[tuple[int, int], tuple[int, ...]] = {}
    for row in session.scalars(select(RouteCheckpoint).order_by(RouteCheckpoint.checkpoint_site_id)):
        key = (row.crossing_site_id, row.yard_site_id)
        routes[key] = (*routes.get(key, ()), row.checkpoint_site_id)
    policy = Policy(parents=dict(areas.parents), risk=_current_levels(session), max_test_age_hours=hours,
                    tests_required=setting.tests_required if setting else True, routes=routes, version=version,
                    issued_at=int(now.timestamp()))
    cache["policy"] = policy
    return policy


def set_route_checkpoints(session: Session, crossing_id: int, yard_id: int, *, checkpoint_ids: list[int],
                          actor: Actor, areas: AreaTree, now: datetime) -> list[int]:
    """Put checkpoints on a cross-border route (replacing the previous list). The caller must regulate
    the crossing, the yard and every checkpoint."""
    with transaction(session):
        crossing, yard = get_site(session, crossing_id), get_site(session, yard_id)
        if crossing.kind is not SiteKind.CROSSING or yard.kind is not SiteKind.RELAY_YARD:
            raise Unprocessable(fields={"route": ["a route runs from a crossing to a relay yard"]})
        checkpoints = [get_site(session, site_id) for site_id in dict.fromkeys(checkpoint_ids)]
        if any(c.kind is not SiteKind.CHECKPOINT for c in checkpoints):
            raise Unprocessable(fields={"site_ids": ["only checkpoint sites can be put on a route"]})
        for site in (crossing, yard, *checkpoints):
            require_regulates(actor, site.area_code, areas)
        before = route_checkpoints(session, crossing_id, yard_id)
        session.execute(delete(RouteCheckpoint).where(RouteCheckpoint.crossing_site_id == crossing_id,
                                                      RouteCheckpoint.yard_site_id == yard_id))
        session.add_all(RouteCheckpoint(crossing_site_id=crossing_id, yard_site_id=yard_id, checkpoint_site_id=c.id)
                        for c in checkpoints)
        counters.next_value(session, counters.POLICY_VERSION)
        audit.record(session, actor.audit, "route.checkpoints_set", object_type="route",
                     object_id=f"{crossing_id}-{yard_id}", changes={"site_ids": [before, [c.id for c in checkpoints]]},
                     at=now)
    return [c.id for c in checkpoints]


def route_checkpoints(session: Session, crossing_id: int, yard_id: int) -> list[int]:
    return list(session.scalars(select(RouteCheckpoint.checkpoint_site_id).where(
        RouteCheckpoint.crossing_site_id == crossing_id, RouteCheckpoint.yard_site_id == yard_id)
        .order_by(RouteCheckpoint.checkpoint_site_id)))


def signed_policy_bundle(session: Session, *, areas: AreaTree, ring: keys.KeyRing, cache: dict, actor: Actor,
                         now: datetime, lifetime: timedelta = timedelta(seconds=BUNDLE_LIFETIME)) -> tuple[int, bytes]:
    """The policy bundle as (version, COSE bytes), signed at most an hour ago and good for `lifetime` after
    it was signed (bundle keys 2 and 8), so a device holding it knows how old its copy is."""
    signer = keys.active_signer(session, ring, actor=actor, now=now)
    policy = current_policy(session, areas=areas, cache=cache, now=now)
    cache_key = (policy.version, signer.kid, int(now.timestamp()) // 3600, lifetime)
    cached = cache.get("policy_bundle")
    if cached and cached[0] == cache_key:
        return policy.version, cached[1]
    issued_at = int(now.timestamp())
    document = signer.sign(encode_bundle(replace(policy, issued_at=issued_at,
                                                 expires_at=issued_at + int(lifetime.total_seconds()))))
    cache["policy_bundle"] = (cache_key, document)
    return policy.version, document


def _current_levels(session: Session) -> dict[str, RiskLevel]:
    latest = select(AreaRisk.area_code, func.max(AreaRisk.id).label("id")).group_by(AreaRisk.area_code).subquery()
    rows = session.execute(select(AreaRisk.area_code, AreaRisk.level).join(latest, AreaRisk.id == latest.c.id))
    return {code: RiskLevel(level) for code, level in rows if level != RiskLevel.NORMAL}


# ---- scans -----------------------------------------------------------------------------------------

def record_scan(session: Session, *, data: dict, actor: Actor, areas: AreaTree, cache: dict, now: datetime,
                max_age: timedelta = DEFAULT_MAX_SCAN_AGE, writer: GroupCommit | None = None) -> dict:
    """Verify a scanned pass at the officer's site, record the scan and return the verdict.

    A repeated client_scan_id returns the first answer and records nothing. Expected outcomes (forged,
    revoked, out of scope...) are a 200 with reasons, never an error. The device's scan time is kept
    with the server's receipt time, and refused (ScanTimeOutOfBounds, nothing recorded) when it is older
    than `max_age`, ahead of the server, or before the pass was issued.
    With a `writer` the scan is committed in a group with other threads' scans (core.groupcommit); either
    way this returns only after the scan's commit."""
    if actor.site_id is None:
        raise Forbidden("this account is not bound to a checkpoint site")
    client_id = data.get("client_scan_id")
    if client_id and (earlier := _find_scan(session, actor.account_id, client_id)) is not None:
        return _answer(session, earlier, areas, cache)
    scanned_at = data.get("scanned_at") or now
    check_scan_time(scanned_at, now=now, max_age=max_age)
    site = find_site_view(session, actor.site_id, cache=cache)
    if site is None:
        raise NotFound(f"site {actor.site_id} does not exist")
    verdict, vpass = verify_at_site(session, data["qr"], site=site, at=scanned_at, plate_seen=data.get("plate_seen"),
                                    areas=areas, cache=cache, now=now)
    if vpass is not None and vpass.approved_at is not None and scanned_at < vpass.approved_at - CLOCK_SKEW:
        raise ScanTimeOutOfBounds(f"scanned_at is before pass {vpass.id} was issued", fields={"scanned_at": [
            f"is before the pass was issued ({vpass.approved_at.isoformat()}): the device's clock is wrong; "
            "set it and scan again, or discard this scan"]})
    clone_of = None
    if verdict.accept and vpass is not None and (clone_of := _clone_suspect(session, vpass.id, site, scanned_at,
                                                                            cache=cache)):
        verdict = verdict.with_reasons(["clone_suspected"])
    values = dict(account_id=actor.account_id, client_scan_id=client_id, site_id=site.id,
                  pass_id=verdict.claims.pass_id if verdict.claims else None,
                  serial=verdict.claims.serial if verdict.claims else None, plate_seen=data.get("plate_seen"),
                  scanned_at=scanned_at, received_at=now, verdict=Verdict.ACCEPT if verdict.accept else Verdict.REJECT,
                  reasons=list(verdict.reasons))

    def write(tx: Session) -> int:
        """The scan and what it causes, in whichever transaction records it (its own, or a group commit's)."""
        # A Core insert: a scan is never changed afterwards, so the unit of work has nothing to do for it.
        scan_id = _INSERT_SCAN.inserted_id(tx.connection(), values)
        if verdict.accept:
            pass_accepted.send(tx, vpass=vpass, site=site, at=scanned_at, actor=actor, now=now)
        if clone_of is not None:
            raise_alert(tx, AlertKind.CLONE_SUSPECTED, area_code=site.area_code, subject_type="pass",
                        subject_id=vpass.id, details={"scan_id": scan_id, "earlier_scan_id": clone_of.id,
                                                      "sites": [clone_of.site_id, site.id]}, actor=actor, now=now)
        return scan_id

    try:
        if writer is None:
            with transaction(session):
                scan_id = write(session)
        else:
            if session.in_transaction():
                session.commit()  # the reads are done: the connection goes back while the write waits its turn
            scan_id = writer.submit(write, session)
    except IntegrityError:
        # The same client_scan_id arrived twice at once: the other request recorded it.
        earlier = _find_scan(session, actor.account_id, client_id) if client_id else None
        if earlier is None:
            raise
        return _answer(session, earlier, areas, cache)
    return _answer(session, Scan(id=scan_id, **values), areas, cache, vpass=vpass)


_INSERT_SCAN = DriverStatement(insert(Scan.__table__))


def check_scan_time(scanned_at: datetime, *, now: datetime, max_age: timedelta) -> None:
    """A device's clock is trusted only within bounds: at most `max_age` old (an offline queue), at most
    CLOCK_SKEW ahead. Outside them the scan would dodge expiry, clone detection or a return deadline."""
    if scanned_at > now + CLOCK_SKEW:
        minutes = int(CLOCK_SKEW.total_seconds() // 60)
        raise ScanTimeOutOfBounds("scanned_at is in the future", fields={"scanned_at": [
            f"is in the future (more than {minutes} minutes ahead of the server): set the device's clock "
            "and scan again"]})
    if scanned_at < now - max_age:
        hours = int(max_age.total_seconds() // 3600)
        raise ScanTimeOutOfBounds(f"scanned_at is more than {hours} hours old", fields={"scanned_at": [
            f"is more than {hours} hours old: offline scans must be uploaded within {hours} hours "
            "(GREENLANE_MAX_SCAN_AGE_HOURS); discard this scan from the device's queue"]})


def verify_at_site(session: Session, qr: str, *, site: Site | SiteView, at: datetime, plate_seen: str | None,
                   areas: AreaTree, cache: dict, now: datetime) -> tuple[CheckVerdict, PassView | None]:
    """The checkpoint rules for one pass at one site and time (used by scans and by relay yards):
    the shared offline rules with live pass and key status, plus the drivers' health tests.
    Live means: from the per-process caches, checked against the versions read in this transaction."""
    policy = current_policy(session, areas=areas, cache=cache, now=now)
    trusted = lookups.trusted_keys(session, cache=cache)
    found: dict[str, PassView | None] = {}

    def pass_status(claims) -> int | None:
        vpass = found.setdefault("pass", find_pass_view(session, claims.pass_id, cache=cache))
        if vpass is None or vpass.serial != claims.serial:
            return None
        return {PassStatus.ACTIVE: 0, PassStatus.SUSPENDED: 1, PassStatus.REVOKED: 2}.get(vpass.status)

    verdict = check_pass(qr, keys=trusted, pass_status=pass_status, site_area=site.area_code, policy=policy,
                         at=int(at.timestamp()), plate_seen=plate_seen, site_id=site.id)
    vpass = found.get("pass") if verdict.claims is not None else None
    if vpass is not None:
        verdict = verdict.with_reasons(test_reasons(session, vpass, policy=policy, site_area=site.area_code, at=at))
    return verdict, vpass


def test_reasons(session: Session, vpass: PassView, *, policy: Policy, site_area: str, at: datetime) -> list[str]:
    """Health-test reasons: positive if any driver's latest result is positive; otherwise missing or stale
    unless at least one driver has a negative test young enough for the site's risk level."""
    if not policy.tests_required:
        return []
    max_age = timedelta(hours=policy.max_test_age_hours[policy.level_at(site_area)])
    states = [_driver_test_state(session, driver, at=at, max_age=max_age) for driver in vpass.drivers]
    if "positive" in states:
        return ["test_positive"]
    if "fresh" in states:
        return []
    return ["test_stale"] if "stale" in states else ["test_missing"]


def _driver_test_state(session: Session, driver: DriverView, *, at: datetime, max_age: timedelta) -> str:
    latest = driver.latest_test
    if latest is not None and latest[0] > at:
        # A result sampled after the scan (an offline scan uploaded late): the latest one before it counts.
        latest = session.execute(select(HealthTest.sampled_at, HealthTest.result, HealthTest.id)
                                 .where(HealthTest.person_hash == driver.id_hash, HealthTest.sampled_at <= at)
                                 .order_by(HealthTest.sampled_at.desc(), HealthTest.id.desc()).limit(1)).first()
    if latest is None:
        return "missing"
    if latest[1] is TestResult.POSITIVE:
        return "positive"
    return "fresh" if at - latest[0] <= max_age else "stale"


def _nearest_accepted_scans():
    # The nearest accepted scan of a pass before `at` and the nearest after, in one statement. Built once:
    # constructing a UNION of subqueries costs more than running it.
    def side(rank, condition, order):
        sub = (select(Scan.id, Scan.site_id, Scan.scanned_at)
               .where(Scan.pass_id == bindparam("pass_id"), Scan.verdict == Verdict.ACCEPT, condition)
               .order_by(order).limit(1).subquery())
        return select(literal(rank).label("rank"), sub.c.id, sub.c.site_id, sub.c.scanned_at)
    at = bindparam("at", type_=Scan.scanned_at.type)
    return union_all(side(0, Scan.scanned_at <= at, Scan.scanned_at.desc()),
                     side(1, Scan.scanned_at > at, Scan.scanned_at.asc()))


_NEAREST_ACCEPTED = DriverStatement(_nearest_accepted_scans())


def _clone_suspect(session: Session, pass_id: str, site: SiteView, at: datetime, *, cache: dict) -> Row | None:
    """An accepted scan of the same pass elsewhere, too far away to have driven between at 120 km/h."""
    for other in sorted(_NEAREST_ACCEPTED.all(session.connection(), {"pass_id": pass_id, "at": at}),
                        key=lambda r: r.rank):
        if other.site_id == site.id:
            continue
        other_site = find_site_view(session, other.site_id, cache=cache)
        hours = abs((at - other.scanned_at).total_seconds()) / 3600
        if distance_km(site.lat, site.lon, other_site.lat, other_site.lon) > MAX_SPEED_KMH * hours:
            return other
    return None


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine) in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


def _find_scan(session: Session, account_id: int, client_id: str) -> Scan | None:
    return session.scalars(select(Scan).where(Scan.account_id == account_id,
                                              Scan.client_scan_id == client_id)).first()


_LOOK_UP = object()


def _answer(session: Session, scan: Scan, areas: AreaTree, cache: dict, *,
            vpass: PassView | None | object = _LOOK_UP) -> dict:
    """The verdict with what the officer compares: plate, scope names, validity, firm, drivers (masked).
    `vpass`: the pass as the scan saw it (so the answer needs no second look-up)."""
    answer = {"scan_id": scan.id, "client_scan_id": scan.client_scan_id, "site_id": scan.site_id,
              "scanned_at": scan.scanned_at, "received_at": scan.received_at, "verdict": scan.verdict.value,
              "reasons": scan.reasons, "pass": None}
    if vpass is _LOOK_UP:
        vpass = find_pass_view(session, scan.pass_id, cache=cache) if scan.pass_id else None
    if vpass is not None:
        answer["pass"] = {
            "id": vpass.id, "plate": vpass.plate, "hk_plate": vpass.hk_plate,
            "scope": [{"code": c, "name_zh": areas.get(c).name_zh, "name_en": areas.get(c).name_en}
                      for c in vpass.scope],
            "valid_until": vpass.valid_until, "firm": vpass.firm_name,
            "drivers": [{"name": p.name, "id_number": p.id_masked} for p in vpass.drivers]}
    return answer


def list_scans(session: Session, *, actor: Actor, areas: AreaTree, filters: dict, page: Page) -> tuple[list[Scan], int]:
    """Scans at sites the caller may see (regulators: their area; auditors and admins: all)."""
    query = select(Scan).order_by(Scan.scanned_at.desc(), Scan.id.desc())
    visible = visible_area_codes(actor, areas)
    if visible is not None:
        query = query.where(Scan.site_id.in_(select(Site.id).where(Site.area_code.in_(visible))))
    if filters.get("pass_id"):
        query = query.where(Scan.pass_id == filters["pass_id"])
    if filters.get("site_id"):
        query = query.where(Scan.site_id == filters["site_id"])
    if filters.get("from"):
        query = query.where(Scan.scanned_at >= filters["from"])
    if filters.get("to"):
        query = query.where(Scan.scanned_at < filters["to"])
    return paged(session, query, page)

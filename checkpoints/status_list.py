"""The status list offline devices sync: pass statuses, plus a suspension for every active pass whose
drivers' health tests fail the checkpoint policy, signed and versioned; and beside it the test ages list, the
age of each live pass's freshest negative test, with which a device applies each zone's own maximum age."""
import hashlib
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import counters, keys
from core.accounts import Actor
from core.areas import AreaTree
from core.db import transaction
from checkpoints.health import latest_is_positive
from checkpoints.models import HealthTest, StatusListBuild, TestResult
from checkpoints.services import current_policy
from passes.models import PassDriver, PassStatus, VehiclePass
from passes.policy import RiskLevel
from passes.statuslist import DEFAULT_LIFETIME, REVOKED, SUSPENDED, pack_status_bits, payload_from_bits, status_at
from passes.testages import ages_minutes, build_test_ages_payload
from whitelist.models import Person


class StatusBuild(NamedTuple):
    version: int
    document: bytes  # COSE
    size: int
    bits: bytes  # uncompressed


def signed_status_list(session: Session, *, ring: keys.KeyRing, cache: dict, areas: AreaTree, actor: Actor,
                       now: datetime, lifetime: timedelta = timedelta(seconds=DEFAULT_LIFETIME)) -> tuple[int, bytes]:
    """The current status list as (version, COSE bytes): see status_list_build."""
    build = status_list_build(session, ring=ring, cache=cache, areas=areas, actor=actor, now=now, lifetime=lifetime)
    return build.version, build.document


def status_list_build(session: Session, *, ring: keys.KeyRing, cache: dict, areas: AreaTree, actor: Actor,
                      now: datetime, lifetime: timedelta) -> StatusBuild:
    """The current status list, signed and as its bit string.

    Entries: revoked (2), suspended (1), and suspended (1) for every active pass one of whose drivers has a
    positive latest result (across every firm's record of that person) or none of whose drivers has a
    negative test younger than the normal-level maximum, so offline devices stop it within one sync.
    Serials issued after the build are past the list's count (key 5): unknown to a device.
    The version increases whenever the content changes; a build is reused for up to a minute while no
    pass status or test result changed. It is good until `lifetime` after it was signed (payload key 6)."""
    signer = keys.active_signer(session, ring, actor=actor, now=now)
    if session.in_transaction():
        session.commit()  # end any earlier read so the snapshot below starts fresh
    # One consistent snapshot: the change counter and the statuses must describe the same moment.
    if session.bind.dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    changes = counters.current_value(session, counters.STATUS_LIST_VERSION)
    cache_key = (changes, int(now.timestamp()) // 60, signer.kid, lifetime)
    cached = cache.get("status_list")
    if cached and cached[0] == cache_key:
        return cached[1]
    policy = current_policy(session, areas=areas, cache=cache, now=now)
    size = counters.current_value(session, counters.PASS_SERIAL) + 1
    rows = session.execute(select(VehiclePass.serial, VehiclePass.status).where(
        VehiclePass.serial.is_not(None), VehiclePass.status.in_((PassStatus.SUSPENDED, PassStatus.REVOKED))))
    entries = {serial: SUSPENDED if status is PassStatus.SUSPENDED else REVOKED for serial, status in rows}
    if policy.tests_required:
        cutoff = now - timedelta(hours=policy.max_test_age_hours[RiskLevel.NORMAL])
        for serial in _serials_without_fresh_test(session, now=now, cutoff=cutoff):
            entries.setdefault(serial, SUSPENDED)
        for serial in _serials_with_positive_driver(session, now=now):
            entries.setdefault(serial, SUSPENDED)
    bits = pack_status_bits(entries, size)
    version = _publish_version(session, hashlib.sha256(bits).hexdigest(), now=now)
    issued_at = int(now.timestamp())
    document = signer.sign(payload_from_bits(version, issued_at, bits, count=size,
                                             expires_at=issued_at + int(lifetime.total_seconds())))
    build = StatusBuild(version, document, size, bits)
    cache["status_list"] = (cache_key, build)
    return build


def signed_test_ages(session: Session, *, ring: keys.KeyRing, cache: dict, areas: AreaTree, actor: Actor,
                     now: datetime, lifetime: timedelta = timedelta(seconds=DEFAULT_LIFETIME)) -> tuple[int, bytes]:
    """The test ages list (passes/testages.py) as (version, COSE bytes), built from the status list of the
    same moment: an age for every serial that list leaves valid, NO_AGE for the others. Rebuilt when the
    status list's version or count changes, and at least hourly (its ages count from its issue time)."""
    version, _, size, bits = status_list_build(session, ring=ring, cache=cache, areas=areas, actor=actor, now=now,
                                               lifetime=lifetime)
    signer = keys.active_signer(session, ring, actor=actor, now=now)
    cache_key = (version, size, int(now.timestamp()) // 3600, signer.kid)
    cached = cache.get("test_ages")
    if cached and cached[0] == cache_key:
        return version, cached[1]
    policy = current_policy(session, areas=areas, cache=cache, now=now)
    issued_at = int(now.timestamp())
    freshest = {}
    if policy.tests_required:
        freshest = {serial: int(sampled.timestamp()) for serial, sampled in _freshest_negative(session, now=now)
                    if serial < size and status_at(bits, serial) == 0}
    document = signer.sign(build_test_ages_payload(version, issued_at, issued_at + int(lifetime.total_seconds()),
                                                   ages_minutes(issued_at, freshest), size))
    cache["test_ages"] = (cache_key, document)
    return version, document


def _freshest_negative(session: Session, *, now: datetime):
    """(serial, sampled_at) of every live active pass one of whose drivers' latest result (sampled at or
    before now) is negative: the latest such sample among its drivers, as the scan rule reads it."""
    ranked = select(HealthTest.person_hash, HealthTest.sampled_at, HealthTest.result, func.row_number().over(
        partition_by=HealthTest.person_hash, order_by=(HealthTest.sampled_at.desc(), HealthTest.id.desc()))
        .label("rank")).where(HealthTest.sampled_at <= now).subquery()
    return session.execute(
        select(VehiclePass.serial, func.max(ranked.c.sampled_at))
        .join(PassDriver, PassDriver.pass_id == VehiclePass.id).join(Person, Person.id == PassDriver.person_id)
        .join(ranked, ranked.c.person_hash == Person.id_hash)
        .where(VehiclePass.status == PassStatus.ACTIVE, VehiclePass.valid_until > now, VehiclePass.serial.is_not(None),
               ranked.c.rank == 1, ranked.c.result == TestResult.NEGATIVE)
        .group_by(VehiclePass.serial))


def _serials_without_fresh_test(session: Session, *, now: datetime, cutoff: datetime) -> list[int]:
    fresh = (select(PassDriver.pass_id).join(Person, Person.id == PassDriver.person_id)
             .join(HealthTest, HealthTest.person_hash == Person.id_hash)
             .where(HealthTest.result == TestResult.NEGATIVE, HealthTest.sampled_at >= cutoff,
                    HealthTest.sampled_at <= now))
    return list(session.scalars(select(VehiclePass.serial).where(
        VehiclePass.status == PassStatus.ACTIVE, VehiclePass.valid_until > now, VehiclePass.id.not_in(fresh))))


def _serials_with_positive_driver(session: Session, *, now: datetime) -> list[int]:
    # Any negative in the window is not enough: the latest result of each driver wins, as at a scan.
    return list(session.scalars(select(VehiclePass.serial).join(PassDriver, PassDriver.pass_id == VehiclePass.id)
                                .join(Person, Person.id == PassDriver.person_id)
                                .where(VehiclePass.status == PassStatus.ACTIVE, VehiclePass.valid_until > now,
                                       latest_is_positive(Person.id_hash, at=now)).distinct()))


def _publish_version(session: Session, digest: str, *, now: datetime) -> int:
    latest = session.scalars(select(StatusListBuild).order_by(StatusListBuild.version.desc()).limit(1)).first()
    if latest is not None and latest.digest == digest:
        return latest.version
    with transaction(session):
        counters.lock(session, counters.STATUS_LIST_VERSION)
        latest = session.scalars(select(StatusListBuild).order_by(StatusListBuild.version.desc()).limit(1)).first()
        if latest is not None and latest.digest == digest:
            return latest.version
        build = StatusListBuild(version=(latest.version + 1) if latest else 1, digest=digest, built_at=now)
        session.add(build)
    return build.version

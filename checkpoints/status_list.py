"""The status list offline devices sync: pass statuses, plus a suspension for every active pass whose
drivers' health tests fail the checkpoint policy, signed and versioned."""
import hashlib
from datetime import datetime, timedelta

from sqlalchemy import select
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
from passes.statuslist import REVOKED, SUSPENDED, pack_status_bits, payload_from_bits
from whitelist.models import Person


def signed_status_list(session: Session, *, ring: keys.KeyRing, cache: dict, areas: AreaTree, actor: Actor,
                       now: datetime) -> tuple[int, bytes]:
    """The current status list as (version, COSE bytes).

    Entries: revoked (2), suspended (1), and suspended (1) for every active pass one of whose drivers has a
    positive latest result (across every firm's record of that person) or none of whose drivers has a
    negative test younger than the normal-level maximum, so offline devices stop it within one sync.
    Serials issued after the build are past the list's count (key 5): unknown to a device.
    The version increases whenever the content changes; a build is reused for up to a minute while no
    pass status or test result changed."""
    signer = keys.active_signer(session, ring, actor=actor, now=now)
    if session.in_transaction():
        session.commit()  # end any earlier read so the snapshot below starts fresh
    # One consistent snapshot: the change counter and the statuses must describe the same moment.
    if session.bind.dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    changes = counters.current_value(session, counters.STATUS_LIST_VERSION)
    cache_key = (changes, int(now.timestamp()) // 60, signer.kid)
    cached = cache.get("status_list")
    if cached and cached[0] == cache_key:
        return cached[1], cached[2]
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
    document = signer.sign(payload_from_bits(version, int(now.timestamp()), bits, count=size))
    cache["status_list"] = (cache_key, version, document)
    return version, document


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

"""Health-test results from labs: a positive result stops the person and every active pass they drive."""
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from core import audit, counters
from core.accounts import Actor
from core.csvrows import load_csv_rows
from core.db import transaction
from core.errors import Unprocessable
from core.pii import PersonalDataCipher
from checkpoints.alerts import raise_alert
from checkpoints.models import AlertKind, HealthTest, TestResult
from passes.models import PassDriver, PassStatus, SuspensionCause, VehiclePass
from whitelist import identifiers as ids
from whitelist.models import EntryStatus, Firm, Person
from whitelist.services import suspend_people

CSV_COLUMNS = ("id_type", "id_number", "sampled_at", "result", "lab")
PERSON_KEY = "person_key"  # the purpose bound to HealthTest.person_key_enc


def record_tests(session: Session, rows: list[dict], *, actor: Actor, cipher: PersonalDataCipher,
                 now: datetime) -> dict:
    """Store validated results in one transaction. Positive results suspend every white-list entry of
    that person and every active pass they drive, at once; a later negative lifts nothing by itself."""
    stopped_people: set[int] = set()
    stopped_passes: set[str] = set()
    future = [i for i, row in enumerate(rows, start=1) if row["sampled_at"] > now + timedelta(minutes=5)]
    if future:
        raise Unprocessable("a sample time is in the future", fields={"sampled_at": [
            f"result {i} was sampled in the future" for i in future]})
    with transaction(session):
        for row in rows:
            key = ids.person_key(row["id_type"].value, row["id_number"])
            person_hash, version = _hash_beside_people(session, key, cipher)
            session.add(HealthTest(person_hash=person_hash, sampled_at=row["sampled_at"], result=row["result"],
                                   person_key_enc=cipher.encrypt(key, purpose=PERSON_KEY, version=version),
                                   lab=row["lab"], recorded_at=now, recorded_by=actor.name))
            if row["result"] is TestResult.POSITIVE:
                people, passes = _stop_person(session, cipher.search_hashes(key), actor=actor, now=now)
                stopped_people |= people
                stopped_passes |= passes
        # Test freshness feeds the status list, so offline devices must see a new version.
        counters.next_value(session, counters.STATUS_LIST_VERSION)
        audit.record(session, actor.audit, "health_tests.recorded", object_type="health_tests",
                     object_id=f"{len(rows)} results", changes={
                         "count": len(rows), "positive": sum(r["result"] is TestResult.POSITIVE for r in rows),
                         "people_suspended": sorted(stopped_people), "passes_suspended": sorted(stopped_passes)},
                     at=now)
    return {"recorded": len(rows), "people_suspended": sorted(stopped_people),
            "passes_suspended": sorted(stopped_passes)}


def _hash_beside_people(session: Session, key: str, cipher: PersonalDataCipher) -> tuple[str, int]:
    """The keyed hash (and key version) to store a result under: the current one, except while keys rotate
    and the person's white-list entries still carry the previous one: then the result stays beside them
    (the scan joins on equal hashes) and the rotation moves them together."""
    hashes = cipher.search_hashes(key)
    if cipher.rotating and session.scalar(select(Person.id).where(Person.id_hash == hashes[1]).limit(1)):
        return hashes[1], cipher.previous_version
    return hashes[0], cipher.version


def _stop_person(session: Session, person_hashes: tuple[str, ...], *, actor: Actor,
                 now: datetime) -> tuple[set[int], set[str]]:
    people = list(session.scalars(select(Person).where(Person.id_hash.in_(person_hashes)).with_for_update()))
    stopped = _suspend_passes(session, people, actor=actor, now=now)
    # One alert per firm that has the person on its list, in the firm's area: its regulator traces contacts.
    firm_ids = sorted({p.firm_id for p in people})
    firm_areas = dict(session.execute(select(Firm.id, Firm.area_code).where(Firm.id.in_(firm_ids))).all())
    for person in people:
        raise_alert(session, AlertKind.POSITIVE_TEST, area_code=firm_areas[person.firm_id], subject_type="person",
                    subject_id=person.id, details={"firm_id": person.firm_id,
                                                   "passes_suspended": sorted(stopped.get(person.id, ()))},
                    actor=actor, now=now)
    return {p.id for p in people}, {pass_id for ids_ in stopped.values() for pass_id in ids_}


def _suspend_passes(session: Session, people: list[Person], *, actor: Actor, now: datetime) -> dict[int, set[str]]:
    """Suspend the people and every active or suspended pass they drive; the pass ids by person."""
    suspend_people(session, [p for p in people if p.status is EntryStatus.ACTIVE], actor=actor, now=now,
                   reason="positive test result")
    rows = session.execute(
        select(VehiclePass, PassDriver.person_id).join(PassDriver, PassDriver.pass_id == VehiclePass.id)
        .where(PassDriver.person_id.in_([p.id for p in people]),
               VehiclePass.status.in_((PassStatus.ACTIVE, PassStatus.SUSPENDED))).with_for_update(of=VehiclePass)).all()
    stopped: dict[int, set[str]] = {}
    for vpass, person_id in rows:
        # One row per pass: the people are one person's records in different firms, a pass has one firm.
        stopped.setdefault(person_id, set()).add(vpass.id)
        previous = vpass.status
        if previous is PassStatus.ACTIVE:
            vpass.apply("suspend", at=now)
        # Also re-labels a pass already suspended for another cause (e.g. its firm), so that lifting that
        # cause does not bring back a pass whose driver is positive.
        vpass.suspension_cause, vpass.reason = SuspensionCause.POSITIVE_TEST, "a driver tested positive"
        audit.record(session, actor.audit, "pass.suspended", object_type="pass", object_id=vpass.id,
                     changes={"status": [previous.value, "suspended"], "reason": "a driver tested positive"}, at=now)
    return stopped


def latest_is_positive(person_hash, *, at: datetime) -> ColumnElement[bool]:
    """SQL condition: the person with this keyed identity hash (a column or a value) has a positive latest
    result among those sampled at or before `at`, recorded by any lab for any firm's record of them.
    The latest is the last sampled (ties: the last recorded), as at a checkpoint scan."""
    result, later = aliased(HealthTest), aliased(HealthTest)
    newer = select(later.id).where(
        later.person_hash == result.person_hash, later.sampled_at <= at,
        or_(later.sampled_at > result.sampled_at, and_(later.sampled_at == result.sampled_at, later.id > result.id)))
    return select(result.id).where(result.person_hash == person_hash, result.result == TestResult.POSITIVE,
                                   result.sampled_at <= at, ~newer.exists()).exists()


def drivers_tested_positive(session: Session, *, person_ids: list[int], firm_id: int,
                            now: datetime) -> list[tuple[int, str]]:
    """The firm's people among `person_ids` whose latest health test result is positive, by id
    (answers passes.events.drivers_tested_positive)."""
    # On the connection: the ORM layer adds nothing to plain rows but time (every approval asks).
    return [(pid, name) for pid, name in session.connection().execute(_POSITIVE_DRIVERS, {
        "person_ids": list(person_ids), "firm_id": firm_id, "at": now})]


# Built once: constructing the nested EXISTS costs more than running it (every approval asks).
_POSITIVE_DRIVERS = (select(Person.id, Person.name).where(
    Person.id.in_(bindparam("person_ids", expanding=True)), Person.firm_id == bindparam("firm_id"),
    latest_is_positive(Person.id_hash, at=bindparam("at", type_=HealthTest.sampled_at.type))).order_by(Person.id))


def parse_tests_csv(body: bytes, schema) -> list[dict]:
    """Validate a CSV batch (columns id_type,id_number,sampled_at,result,lab); all rows or none.
    Raises Unprocessable listing every {row, column, message}."""
    rows, errors = load_csv_rows(body, CSV_COLUMNS, schema)
    if errors:
        raise Unprocessable(f"{len(errors)} error(s); nothing was recorded", fields=[e.__dict__ for e in errors])
    return [data for _, data in rows]


def latest_results(session: Session, *, person_hashes: list[str], now: datetime) -> dict[str, HealthTest]:
    """Each person's latest result sampled at or before `now` (any lab, any firm's record of them), by keyed
    identity hash; people without a result are left out. The latest is the last sampled (ties: the last
    recorded), as at a checkpoint scan."""
    latest: dict[str, HealthTest] = {}
    for test in session.scalars(select(HealthTest).where(
            HealthTest.person_hash.in_(set(person_hashes)), HealthTest.sampled_at <= now)
            .order_by(HealthTest.person_hash, HealthTest.sampled_at, HealthTest.id)):
        latest[test.person_hash] = test
    return latest

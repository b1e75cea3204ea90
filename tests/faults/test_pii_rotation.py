"""`flask --app wsgi pii rotate-key` on 10,000 people: nothing lost, lookups working mid-rotation, an
interruption (between batches, or inside one) rolls back cleanly and a second run finishes the job.

Runs on SQLite, and on PostgreSQL with TEST_DATABASE_URL."""
import base64
from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from bench.world import resident_id
from core import totp
from core.accounts import SYSTEM, Account, Role, create_account
from core.db import Page
from core.pii import PersonalDataCipher
from checkpoints import pii_rotation
from checkpoints.health import PERSON_KEY, drivers_tested_positive, record_tests
from checkpoints.models import HealthTest
from checkpoints.models import TestResult as Result
from whitelist import identifiers as ids
from whitelist import services
from whitelist.errors import DuplicatePerson
from whitelist.models import EntryStatus, Firm, IdType, Person
from whitelist.services import person_fields
from tests.conftest import KEYS
from passes import batch
from tests.factories import USCC, make_firm, make_vehicle, person_data

PER_FIRM = 2500  # four firms: 10,000 people
SHARED = 50      # the first 50 of the first firm are also on the second firm's list
NEW_KEYS = {"DATA_KEY": base64.b64encode(bytes(range(64, 96))).decode(),
            "INDEX_KEY": base64.b64encode(bytes(range(96, 128))).decode(), "PII_KEY_VERSION": 2}
ROTATING = {**NEW_KEYS, "PREVIOUS_DATA_KEY": KEYS["DATA_KEY"], "PREVIOUS_INDEX_KEY": KEYS["INDEX_KEY"]}
LISTED_POSITIVE = resident_id(0)        # on two firms' lists, latest result positive (recorded before 0008)
UNLISTED_KEYED = resident_id(20_001)    # on no list, positive, recorded with its person key
UNLISTED_UNKEYED = resident_id(20_002)  # on no list, recorded before 0008: cannot be re-keyed


def number_of(firm_index: int, j: int) -> str:
    return resident_id(j) if firm_index == 1 and j < SHARED else resident_id(firm_index * PER_FIRM + j)


def phone_of(firm_index: int, j: int) -> str:
    return f"+86 139{firm_index:02d}{j:06d}"


class Interrupted(Exception):
    pass


@pytest.fixture
def city(app, session, areas, cipher, now):
    """10,000 people under key version 1, health results old and new, a TOTP secret; returns what to check."""
    firms = [make_firm(session, areas, now, uscc=USCC[k], cipher=cipher)[0].id for k in range(4)]
    values = []
    for k, firm_id in enumerate(firms):
        for j in range(PER_FIRM):
            fields = person_fields(person_data(name=f"司机{k}-{j}", id_number=number_of(k, j),
                                               phone=phone_of(k, j)), cipher=cipher)
            values.append(fields | {"firm_id": firm_id, "status": EntryStatus.ACTIVE, "created_at": now,
                                    "updated_at": now})
    session.execute(insert(Person), values)
    # Results recorded before migration 0008 carried only the hash.
    key = ids.person_key("cn_resident_id", LISTED_POSITIVE)
    for result, hours in ((Result.NEGATIVE, 30), (Result.POSITIVE, 2)):
        session.add(HealthTest(person_hash=cipher.blind_index(key), sampled_at=now - timedelta(hours=hours),
                               result=result, lab="old lab", recorded_at=now, recorded_by="lab"))
    session.add(HealthTest(person_hash=cipher.blind_index(ids.person_key("cn_resident_id", UNLISTED_UNKEYED)),
                           sampled_at=now - timedelta(hours=3), result=Result.POSITIVE, lab="old lab",
                           recorded_at=now, recorded_by="lab"))
    session.commit()
    record_tests(session, [dict(id_type=IdType.CN_RESIDENT_ID, id_number=n, sampled_at=now - timedelta(hours=1),
                                result=r, lab="new lab")
                           for n, r in ((resident_id(7), Result.NEGATIVE), (UNLISTED_KEYED, Result.POSITIVE))],
                 actor=SYSTEM, cipher=cipher, now=now)
    account, _ = create_account(session, name="regulator", role=Role.ADMIN, areas=areas, actor=SYSTEM, now=now)
    uri = totp.enroll_totp(session, account, cipher=cipher, now=now)
    unkeyed_id = session.scalar(select(HealthTest.id).where(HealthTest.lab == "old lab", HealthTest.result ==
                                                            Result.POSITIVE).order_by(HealthTest.id.desc()))
    return {"firms": firms, "account_id": account.id, "totp_uri": uri, "unkeyed_test": unkeyed_id}


def positive_people(session, firm_id: int, person_ids: list[int], now) -> set[int]:
    return {pid for pid, _ in drivers_tested_positive(session, person_ids=person_ids, firm_id=firm_id, now=now)}


def ids_of(session, firm_id: int, numbers: list[str]) -> list[int]:
    masked = {ids.mask_id_number(n) for n in numbers}
    return list(session.scalars(select(Person.id).where(Person.firm_id == firm_id, Person.id_masked.in_(masked),
                                                        Person.name.like("司机%"))))


def assert_rows_agree_with_their_key_version(session, cipher: PersonalDataCipher) -> None:
    """Every row's hash is the hash under the key version its ciphertext carries: no half-rotated row."""
    session.rollback()
    for person in session.scalars(select(Person)):
        key = ids.person_key(person.id_type.value, cipher.decrypt(person.id_number_enc, purpose="id_number"))
        assert person.id_hash == cipher.blind_index(key, version=person.id_number_enc[0]), person.id
    for test in session.scalars(select(HealthTest).where(HealthTest.person_key_enc.is_not(None))):
        key = cipher.decrypt(test.person_key_enc, purpose=PERSON_KEY)
        assert test.person_hash == cipher.blind_index(key, version=test.person_key_enc[0]), test.id
    session.rollback()


def test_rotation_rekeys_ten_thousand_people_resumes_after_interruptions_and_loses_nothing(
        city, app_factory, session, now):
    rotating_app = app_factory(**ROTATING)
    rotating = rotating_app.extensions["pii"]
    areas = rotating_app.extensions["areas"]
    firm0, firm1 = city["firms"][:2]
    positive_in = {f: ids_of(session, f, [LISTED_POSITIVE]) for f in (firm0, firm1)}
    assert all(len(v) == 1 for v in positive_in.values())
    assert all(positive_people(session, f, p, now) == set(p) for f, p in positive_in.items())

    # 1. Killed inside a batch (half-way through the second batch of people): that batch rolls back.
    class FailingCipher(PersonalDataCipher):
        calls = 0

        def encrypt(self, plaintext, **kwargs):
            FailingCipher.calls += 1
            if FailingCipher.calls == 2200:
                raise Interrupted
            return super().encrypt(plaintext, **kwargs)

    failing = FailingCipher(base64.b64decode(NEW_KEYS["DATA_KEY"]), base64.b64decode(NEW_KEYS["INDEX_KEY"]),
                            version=2, previous=(base64.b64decode(KEYS["DATA_KEY"]), base64.b64decode(KEYS["INDEX_KEY"])))
    with rotating_app.extensions["db"].sessionmaker() as s, pytest.raises(Interrupted):
        pii_rotation.rotate(s, failing, batch=700)
    assert_rows_agree_with_their_key_version(session, rotating)
    versions = [p[0] for p in session.scalars(select(Person.id_number_enc))]
    assert versions.count(2) == 700 + SHARED  # the first batch only, and the same people on the second list

    # 2. Stopped between batches (after the fourth): lookups by identity number work for both halves.
    def stop_after_four(report):
        if report.batches == 4:
            raise Interrupted
    with rotating_app.extensions["db"].sessionmaker() as s, pytest.raises(Interrupted):
        pii_rotation.rotate(s, rotating, batch=700, progress=stop_after_four)
    session.rollback()
    versions = [p[0] for p in session.scalars(select(Person.id_number_enc))]
    assert (versions.count(1), versions.count(2)) == (10_000 - 4 * 700, 4 * 700)
    assert_rows_agree_with_their_key_version(session, rotating)
    rotated_number, waiting_number = number_of(0, 100), number_of(3, PER_FIRM - 1)
    for firm_id, number in ((city["firms"][0], rotated_number), (city["firms"][3], waiting_number)):
        found, total = services.list_people(session, actor=SYSTEM, areas=areas, cipher=rotating, filters={
            "id_type": IdType.CN_RESIDENT_ID, "id_number": number}, page=_page())
        assert total == 1 and found[0].firm_id == firm_id, number
        with pytest.raises(DuplicatePerson):  # a second entry under the other hash would split the person
            services.register_person(session, data=person_data(firm_id=firm_id, id_number=number), actor=SYSTEM,
                                     areas=areas, cipher=rotating, now=now)
    assert all(positive_people(session, f, p, now) == set(p) for f, p in positive_in.items())
    # A fleet application names its drivers by identity number: found under either hash (the second firm's
    # list is re-keyed up to its 300th person).
    firm1 = city["firms"][1]
    plates = [make_vehicle(session, areas, now, firm_id=firm1, plate=p).plate for p in ("粤B70001", "粤B70002")]
    start, until = (now + timedelta(days=1)).isoformat(), (now + timedelta(days=3)).isoformat()
    fleet = "plate,driver_id_numbers,category,scope,valid_from,valid_until,purpose\r\n" + "".join(
        f"{plate},{number_of(1, j)},vegetables,440304001,{start},{until},运菜\r\n" for plate, j in zip(plates, (100, 2000)))
    applied = batch.apply_for_fleet(session, firm_id=firm1, body=fleet.encode(), kind=batch.BatchFormat.CSV,
                                    actor=SYSTEM, areas=areas, cipher=rotating, max_days=7, now=now)
    assert [[d.person_id for d in p.drivers] for p in applied] == [ids_of(session, firm1, [number_of(1, j)])
                                                                  for j in (100, 2000)]
    # A result recorded mid-rotation for a person not yet re-keyed stays beside their entries.
    record_tests(session, [dict(id_type=IdType.CN_RESIDENT_ID, id_number=waiting_number, result=Result.POSITIVE,
                                sampled_at=now - timedelta(minutes=30), lab="mid lab")],
                 actor=SYSTEM, cipher=rotating, now=now)
    waiting_id = ids_of(session, city["firms"][3], [waiting_number])
    assert positive_people(session, city["firms"][3], waiting_id, now) == set(waiting_id)

    # 3. Run again, through the command: it finishes, and reports the one result it cannot re-key.
    result = rotating_app.test_cli_runner().invoke(args=["pii", "rotate-key", "--batch", "700"])
    assert result.exit_code == 0, result.output
    assert f"ids: {city['unkeyed_test']})" in result.output
    assert "1 health result(s)" in result.output

    # 4. With the previous keys gone, every value reads back and every hash is the new one.
    new_only = app_factory(**NEW_KEYS).extensions["pii"]
    session.rollback()
    people = {p.id: p for p in session.scalars(select(Person))}
    assert len(people) == 4 * PER_FIRM
    by_firm = {f: k for k, f in enumerate(city["firms"])}
    seen = set()
    for person in people.values():
        number = new_only.decrypt(person.id_number_enc, purpose="id_number")
        phone = new_only.decrypt(person.phone_enc, purpose="phone")
        k, j = by_firm[person.firm_id], int(person.name.split("-")[1])
        assert (number, phone) == (number_of(k, j), phone_of(k, j))
        assert person.id_hash == new_only.blind_index(ids.person_key("cn_resident_id", number))
        seen.add((k, j))
    assert len(seen) == 4 * PER_FIRM
    for test in session.scalars(select(HealthTest).where(HealthTest.id != city["unkeyed_test"])):
        assert test.person_key_enc[0] == 2
        assert test.person_hash == new_only.blind_index(new_only.decrypt(test.person_key_enc, purpose=PERSON_KEY))
    account = session.get(Account, city["account_id"])
    assert totp.unconfirmed_provisioning_uri(account, cipher=new_only) == city["totp_uri"]
    assert all(new_only.decrypt(phone, purpose="contact_phone") == "+86 13800138000"
               for phone in session.scalars(select(Firm.contact_phone_enc)))
    # Results follow their people: the listed positive person, the one made positive mid-rotation, and a
    # person first listed after the rotation whose positive result was recorded before it.
    assert all(positive_people(session, f, p, now) == set(p) for f, p in positive_in.items())
    assert positive_people(session, city["firms"][3], waiting_id, now) == set(waiting_id)
    newcomer = services.register_person(session, data=person_data(firm_id=firm0, id_number=UNLISTED_KEYED),
                                        actor=SYSTEM, areas=areas, cipher=new_only, now=now)
    assert positive_people(session, firm0, [newcomer.id], now) == {newcomer.id}

    # 5. A third run finds nothing left to do.
    result = rotating_app.test_cli_runner().invoke(args=["pii", "rotate-key"])
    assert result.exit_code == 0 and "0 people, 0 health results, 0 firms and 0 accounts" in result.output


def test_rotate_key_without_previous_keys_explains_what_to_set(app):
    result = app.test_cli_runner().invoke(args=["pii", "rotate-key"])
    assert result.exit_code != 0
    assert "GREENLANE_PREVIOUS_DATA_KEY" in result.output


def test_a_previous_key_alone_or_a_version_one_rotation_refuses_to_start(app_factory):
    from factory import StartupError
    with pytest.raises(StartupError, match="go together"):
        app_factory(**NEW_KEYS, PREVIOUS_DATA_KEY=KEYS["DATA_KEY"])
    with pytest.raises(StartupError, match="version of 2"):
        app_factory(**ROTATING | {"PII_KEY_VERSION": 1})


def _page():
    return Page(1, 50)

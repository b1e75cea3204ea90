"""Re-key personal data at rest: `flask --app wsgi pii rotate-key` (runbook: docs/deploy.md, section 9).

Every ciphertext written under the previous data key is re-encrypted under the current one, and every keyed
hash is recomputed under the current index key, in batches of one transaction each. A batch that is
interrupted rolls back; running the command again carries on, because a row written under the current key
(its first byte is the key version) is skipped. Mid-rotation the app holds both pairs of keys, so reads
decrypt either version and searches match either hash.

The one rule that matters for safety: a person's white-list entries (one per firm) and their health results
are joined on equal hashes by every scan, so they move from the old hash to the new one in the same
transaction. It lives here because checkpoints is the lowest package that sees every encrypted column:
people and firm phones (whitelist), health results (checkpoints), authenticator secrets (core)."""
from dataclasses import dataclass, field

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, totp
from core.accounts import SYSTEM, Account
from core.clock import utcnow
from core.db import transaction
from core.pii import PersonalDataCipher
from checkpoints.health import PERSON_KEY
from checkpoints.models import HealthTest
from whitelist import identifiers as ids
from whitelist.models import Firm, Person

BATCH = 500


@dataclass
class RotationReport:
    people: int = 0
    health_tests: int = 0
    firms: int = 0
    accounts: int = 0
    batches: int = 0
    # Results recorded before migration 0008 (no encrypted person key) whose hash matches nobody on any white
    # list: their hash cannot be recomputed, so they can never match a person under the new index key.
    unkeyable_tests: list[int] = field(default_factory=list)


def rotate(session: Session, cipher: PersonalDataCipher, *, batch: int = BATCH,
           progress=lambda report: None) -> RotationReport:
    """Re-key every row not yet under the current keys; idempotent and resumable (see the module)."""
    if not cipher.rotating:
        raise ValueError("no previous keys configured: set GREENLANE_PREVIOUS_DATA_KEY, "
                         "GREENLANE_PREVIOUS_INDEX_KEY and GREENLANE_PII_KEY_VERSION (docs/deploy.md, section 9)")
    report = RotationReport()
    for step in STEPS:
        after = 0
        while after is not None:
            with transaction(session):
                after = step(session, cipher, after, batch, report)
            report.batches += 1
            progress(report)
    with transaction(session):
        audit.record(session, SYSTEM.audit, "pii.rotated", object_type="pii", object_id=str(cipher.version),
                     changes={"key_version": cipher.version, "people": report.people,
                              "health_tests": report.health_tests, "firms": report.firms,
                              "accounts": report.accounts, "unkeyable_tests": len(report.unkeyable_tests)},
                     at=utcnow())
    return report


def _people_batch(session, cipher, after, batch, report):
    rows = list(session.scalars(select(Person).where(Person.id > after).order_by(Person.id).limit(batch)
                                .with_for_update()))
    if not rows:
        return None
    old_hashes = {p.id_hash for p in rows if not cipher.is_current(p.id_number_enc)}
    # The same person on other firms' lists and their results move with them, whatever batch they fall in.
    group = {p.id: p for p in rows}
    if old_hashes:
        group.update((p.id, p) for p in session.scalars(
            select(Person).where(Person.id_hash.in_(old_hashes)).with_for_update()))
    moved: dict[str, tuple[str, str]] = {}  # old hash -> (new hash, person key)
    for person in group.values():
        changed = False
        if not cipher.is_current(person.id_number_enc):
            number = cipher.decrypt(person.id_number_enc, purpose="id_number")
            key = ids.person_key(person.id_type.value, number)
            moved[person.id_hash] = (cipher.blind_index(key), key)
            person.id_number_enc = cipher.encrypt(number, purpose="id_number")
            person.id_hash, changed = moved[person.id_hash][0], True
        if not cipher.is_current(person.phone_enc):
            person.phone_enc, changed = cipher.reencrypt(person.phone_enc, purpose="phone"), True
        report.people += changed
    if moved:
        for test in session.scalars(select(HealthTest).where(HealthTest.person_hash.in_(moved)).with_for_update()):
            new_hash, key = moved[test.person_hash]
            test.person_hash, test.person_key_enc = new_hash, cipher.encrypt(key, purpose=PERSON_KEY)
            report.health_tests += 1
    session.flush()
    return rows[-1].id


def _tests_batch(session, cipher, after, batch, report):
    """Results of people on no white list (theirs moved with them above): re-keyed from their own person key."""
    rows = list(session.scalars(select(HealthTest).where(HealthTest.id > after).order_by(HealthTest.id)
                                .limit(batch).with_for_update()))
    if not rows:
        return None
    for test in rows:
        if test.person_key_enc is None:
            if test.id not in report.unkeyable_tests:
                report.unkeyable_tests.append(test.id)
        elif not cipher.is_current(test.person_key_enc):
            key = cipher.decrypt(test.person_key_enc, purpose=PERSON_KEY)
            test.person_hash, test.person_key_enc = cipher.blind_index(key), cipher.encrypt(key, purpose=PERSON_KEY)
            report.health_tests += 1
    return rows[-1].id


def _ciphertexts(model, column: str, purpose: str, counted: str):
    """A step re-encrypting one column that no hash depends on (firm phones, authenticator secrets)."""
    def step(session, cipher, after, batch, report):
        rows = list(session.scalars(select(model).where(model.id > after).order_by(model.id).limit(batch)
                                    .with_for_update()))
        if not rows:
            return None
        for row in rows:
            if not cipher.is_current(getattr(row, column)):
                setattr(row, column, cipher.reencrypt(getattr(row, column), purpose=purpose))
                setattr(report, counted, getattr(report, counted) + 1)
        return rows[-1].id
    return step


STEPS = (_people_batch, _tests_batch, _ciphertexts(Firm, "contact_phone_enc", "contact_phone", "firms"),
         _ciphertexts(Account, "totp_secret_enc", totp.PURPOSE, "accounts"))


pii_cli = AppGroup("pii", help="Personal data at rest.")


@pii_cli.command("rotate-key")
@click.option("--batch", default=BATCH, show_default=True, type=click.IntRange(1, 10_000),
              help="rows per transaction")
def rotate_key(batch):
    """Re-encrypt identity numbers, phones and authenticator secrets under the current data key and
    recompute the search hashes under the current index key. Safe to interrupt and run again."""
    cipher = current_app.extensions["pii"]
    with current_app.extensions["db"].sessionmaker() as session:
        try:
            report = rotate(session, cipher, batch=batch, progress=lambda r: click.echo(
                f"batch {r.batches}: {r.people} people, {r.health_tests} health results, {r.firms} firms, "
                f"{r.accounts} accounts re-keyed", err=True) if r.batches % 20 == 0 else None)
        except ValueError as e:
            raise click.ClickException(str(e)) from e
    click.echo(f"key version {cipher.version}: {report.people} people, {report.health_tests} health results, "
               f"{report.firms} firms and {report.accounts} accounts re-keyed; everything else was already current")
    if report.unkeyable_tests:
        click.echo(f"{len(report.unkeyable_tests)} health result(s) recorded before migration 0008 for people on no "
                   f"white list keep the old hash and will not match anyone added later (ids: "
                   f"{', '.join(map(str, report.unkeyable_tests))})")
    click.echo("done: remove GREENLANE_PREVIOUS_DATA_KEY and GREENLANE_PREVIOUS_INDEX_KEY and restart the hosts")

"""Bulk import of a firm's people from CSV: validate every row first, then import all or nothing."""
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit, counters
from core.accounts import Actor
from core.areas import AreaTree
from core.csvrows import RowError, load_csv_rows
from core.db import transaction
from core.pii import PersonalDataCipher
from whitelist.errors import ImportRejected
from whitelist.models import EntryStatus, Firm, Person
from whitelist.schemas import PersonIn
from whitelist.services import person_fields, require_manageable_firm

COLUMNS = ("kind", "name", "id_type", "id_number", "phone")


@dataclass(frozen=True)
class ImportResult:
    imported: int
    first_id: int | None
    last_id: int | None


def parse_people_csv(body: bytes, *, cipher: PersonalDataCipher) -> tuple[list[dict], list[RowError]]:
    """Validate a whole CSV file (UTF-8, optional BOM, header row). `row` in errors is the line number
    in the file, the header being line 1. Duplicates inside the file are errors too."""
    loaded, errors = load_csv_rows(body, COLUMNS, PersonIn())
    rows, first_line = [], {}
    for line, data in loaded:
        fields = person_fields(data, cipher=cipher)
        if fields["id_hash"] in first_line:
            errors.append(RowError(line, "id_number", f"same person as line {first_line[fields['id_hash']]}"))
            continue
        first_line[fields["id_hash"]] = line
        rows.append({**fields, "_line": line})
    errors.sort(key=lambda e: (e.row, e.column))
    return rows, errors


def import_people(session: Session, firm_id: int, body: bytes, *, actor: Actor, areas: AreaTree,
                  cipher: PersonalDataCipher, now: datetime,
                  admit: Callable[[int], None] | None = None) -> ImportResult:
    """Import every row or none. `admit(firm_id)` runs once the caller may manage the firm, before the file
    is read, and raises to refuse (the API passes the per-firm rate limit). Raises ImportRejected listing
    every row error, Forbidden, FirmSuspended, FirmNotFound."""
    with transaction(session):
        # Imports into one firm run one after another, so the second sees the first one's people.
        session.get(Firm, firm_id, with_for_update=True)
        firm = require_manageable_firm(session, firm_id, actor=actor, areas=areas)
        if admit is not None:
            admit(firm.id)
        rows, errors = parse_people_csv(body, cipher=cipher)
        # One pass over the firm's hashes: an IN list of 50,000 values exceeds SQLite's parameter limit.
        existing = set(session.scalars(select(Person.id_hash).where(Person.firm_id == firm.id)))
        errors += [RowError(r["_line"], "id_number", "already on the firm's list")
                   for r in rows if r["id_hash"] in existing]
        if errors:
            errors.sort(key=lambda e: (e.row, e.column))
            raise ImportRejected(f"{len(errors)} error(s); nothing was imported",
                                 fields=[e.__dict__ for e in errors])
        values = [{k: v for k, v in r.items() if k != "_line"} | {
            "firm_id": firm.id, "status": EntryStatus.ACTIVE, "created_at": now, "updated_at": now}
            for r in rows]
        try:
            ids = list(session.scalars(insert(Person).returning(Person.id, sort_by_parameter_order=True),
                                       values))
        except IntegrityError as e:  # a single registration raced the import; the transaction rolls back
            raise ImportRejected("someone on the list was added meanwhile; nothing was imported, try again",
                                 fields=[{"row": 0, "column": "id_number", "message": "added concurrently"}]) from e
        counters.mark_changed(session, counters.PASSES_VERSION)  # a bulk insert: the ORM does not see it
        result = ImportResult(len(ids), ids[0], ids[-1])
        audit.record(session, actor.audit, "people.imported", object_type="firm", object_id=firm.id,
                     changes={"count": result.imported, "first_id": result.first_id,
                              "last_id": result.last_id}, at=now)
    return result


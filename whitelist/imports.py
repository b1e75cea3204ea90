"""Bulk import of a firm's people or vehicles from CSV: validate every row first, then import all or nothing."""
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from sqlalchemy import insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit, counters
from core.accounts import Actor
from core.areas import AreaTree
from core.csvrows import RowError, load_csv_rows
from core.db import transaction
from core.pii import PersonalDataCipher
from whitelist.errors import ImportRejected
from whitelist.identifiers import person_key
from whitelist.models import EntryStatus, Firm, Person, Vehicle
from whitelist.schemas import PersonIn, VehicleCsvRowIn
from whitelist.services import person_fields, require_manageable_firm

COLUMNS = ("kind", "name", "id_type", "id_number", "phone")
VEHICLE_COLUMNS = ("plate", "hk_plate", "kind")
LOOKUP_CHUNK = 500  # plates per IN list: far below every database's parameter limit


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
        fields["_hashes"] = cipher.search_hashes(person_key(data["id_type"].value, data["id_number"]))
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
                   for r in rows if not existing.isdisjoint(r["_hashes"])]
        if errors:
            errors.sort(key=lambda e: (e.row, e.column))
            raise ImportRejected(f"{len(errors)} error(s); nothing was imported",
                                 fields=[e.__dict__ for e in errors])
        values = [{k: v for k, v in r.items() if k not in ("_line", "_hashes")} | {
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



def parse_vehicles_csv(body: bytes) -> tuple[list[dict], list[RowError]]:
    """Validate a whole vehicle CSV (columns plate,hk_plate,kind; hk_plate may be empty). A plate or Hong
    Kong mark that appears twice in the file is an error on its second line."""
    loaded, errors = load_csv_rows(body, VEHICLE_COLUMNS, VehicleCsvRowIn())
    rows, first_line = [], {}
    for line, data in loaded:
        plates = {"plate": data["plate"], "hk_plate": data.get("hk_plate")}
        seen = [(column, first_line[p]) for column, p in plates.items() if p and p in first_line]
        if seen:
            errors.extend(RowError(line, column, f"same vehicle as line {earlier}") for column, earlier in seen)
            continue
        first_line.update({p: line for p in plates.values() if p})
        rows.append({**data, "_line": line})
    errors.sort(key=lambda e: (e.row, e.column))
    return rows, errors


def import_vehicles(session: Session, firm_id: int, body: bytes, *, actor: Actor, areas: AreaTree, now: datetime,
                    admit: Callable[[int], None] | None = None) -> ImportResult:
    """Import every vehicle row or none, as import_people does (the same `admit` and errors). A plate is
    unique across all firms, so one registered anywhere is an error of its row.
    Raises ImportRejected, Forbidden, FirmSuspended, FirmNotFound."""
    with transaction(session):
        session.get(Firm, firm_id, with_for_update=True)
        firm = require_manageable_firm(session, firm_id, actor=actor, areas=areas)
        if admit is not None:
            admit(firm.id)
        rows, errors = parse_vehicles_csv(body)
        taken = _registered_plates(session, [p for r in rows for p in (r["plate"], r.get("hk_plate")) if p])
        errors += [RowError(r["_line"], column, "already registered")
                   for r in rows for column in ("plate", "hk_plate") if r.get(column) in taken]
        if errors:
            errors.sort(key=lambda e: (e.row, e.column))
            raise ImportRejected(f"{len(errors)} error(s); nothing was imported",
                                 fields=[e.__dict__ for e in errors])
        values = [{"firm_id": firm.id, "plate": r["plate"], "hk_plate": r.get("hk_plate"), "kind": r["kind"],
                   "status": EntryStatus.ACTIVE, "created_at": now, "updated_at": now} for r in rows]
        try:
            ids = list(session.scalars(insert(Vehicle).returning(Vehicle.id, sort_by_parameter_order=True),
                                       values))
        except IntegrityError as e:  # a single registration raced the import; the transaction rolls back
            raise ImportRejected("a plate in the file was registered meanwhile; nothing was imported, try again",
                                 fields=[{"row": 0, "column": "plate", "message": "added concurrently"}]) from e
        result = ImportResult(len(ids), ids[0], ids[-1])
        audit.record(session, actor.audit, "vehicles.imported", object_type="firm", object_id=firm.id,
                     changes={"count": result.imported, "first_id": result.first_id,
                              "last_id": result.last_id}, at=now)
    return result


def _registered_plates(session: Session, plates: list[str]) -> set[str]:
    """Which of `plates` are already a plate or a Hong Kong mark of any vehicle."""
    found: set[str] = set()
    for start in range(0, len(plates), LOOKUP_CHUNK):
        chunk = plates[start:start + LOOKUP_CHUNK]
        for plate, hk_plate in session.execute(select(Vehicle.plate, Vehicle.hk_plate).where(
                or_(Vehicle.plate.in_(chunk), Vehicle.hk_plate.in_(chunk)))):
            found.update(p for p in (plate, hk_plate) if p in chunk)
    return found

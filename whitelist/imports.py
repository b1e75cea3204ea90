"""Bulk import of a firm's people from CSV: validate every row first, then import all or nothing."""
import csv
import io
from dataclasses import dataclass
from datetime import datetime

from marshmallow import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit
from core.accounts import Actor
from core.areas import AreaTree
from core.db import transaction
from core.pii import PersonalDataCipher
from whitelist.errors import ImportRejected
from whitelist.models import EntryStatus, Firm, Person
from whitelist.schemas import PersonIn
from whitelist.services import person_fields, require_manageable_firm

COLUMNS = ("kind", "name", "id_type", "id_number", "phone")


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str


@dataclass(frozen=True)
class ImportResult:
    imported: int
    first_id: int | None
    last_id: int | None


def parse_people_csv(body: bytes, *, cipher: PersonalDataCipher) -> tuple[list[dict], list[RowError]]:
    """Validate a whole CSV file (UTF-8, optional BOM, header row). `row` in errors is the line number
    in the file, the header being line 1. Duplicates inside the file are errors too."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = body[:e.start].count(b"\n") + 1
        return [], [RowError(line, "", f"the file is not UTF-8 (byte {e.start})")]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        return [], [RowError(1, c, "missing column") for c in missing] or [RowError(1, "", "empty file")]
    reader.fieldnames = header
    schema, rows, errors, first_line = PersonIn(), [], [], {}
    line = 1
    try:
        for record in reader:
            line = reader.line_num
            if None in record:
                errors.append(RowError(line, "", "more values than columns"))
                continue
            values = {c: (record.get(c) or "").strip() for c in COLUMNS}
            try:
                data = schema.load(values)
            except ValidationError as e:
                errors.extend(RowError(line, col, "; ".join(_messages(msgs)))
                              for col, msgs in sorted(e.messages.items()))
                continue
            fields = person_fields(data, cipher=cipher)
            if fields["id_hash"] in first_line:
                errors.append(RowError(line, "id_number",
                                       f"same person as line {first_line[fields['id_hash']]}"))
                continue
            first_line[fields["id_hash"]] = line
            rows.append({**fields, "_line": line})
    except csv.Error as e:
        errors.append(RowError(line + 1, "", f"unreadable CSV: {e}"))
    if not rows and not errors:
        errors.append(RowError(1, "", "the file has no data rows"))
    return rows, errors


def import_people(session: Session, firm_id: int, body: bytes, *, actor: Actor, areas: AreaTree,
                  cipher: PersonalDataCipher, now: datetime) -> ImportResult:
    """Import every row or none. Raises ImportRejected listing every row error, Forbidden, FirmNotFound."""
    with transaction(session):
        # Imports into one firm run one after another, so the second sees the first one's people.
        session.get(Firm, firm_id, with_for_update=True)
        firm = require_manageable_firm(session, firm_id, actor=actor, areas=areas)
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
        result = ImportResult(len(ids), ids[0], ids[-1])
        audit.record(session, actor.audit, "people.imported", object_type="firm", object_id=firm.id,
                     changes={"count": result.imported, "first_id": result.first_id,
                              "last_id": result.last_id}, at=now)
    return result


def _messages(msgs) -> list[str]:
    if isinstance(msgs, dict):
        return [m for v in msgs.values() for m in _messages(v)]
    return [str(m) for m in msgs]

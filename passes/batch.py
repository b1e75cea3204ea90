"""Fleet applications: many passes in one request (a JSON list or a CSV file), each row checked with the
single application's rules, all written in one transaction or none."""
import enum
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts import Actor, Role
from core.areas import AreaTree
from core.csvrows import load_csv_rows
from core.db import transaction
from core.errors import AppError, PayloadTooLarge, Unprocessable
from core.pii import PersonalDataCipher
from passes import services
from passes.errors import BatchRejected, OverlappingPass
from passes.models import VehiclePass
from passes.schemas import FleetCsvRowIn, PassIn
from whitelist import identifiers as ids
from whitelist.models import Firm, Person, Vehicle
from whitelist.services import require_manageable_firm

MAX_ROWS = 1000
CSV_COLUMNS = ("plate", "driver_id_numbers", "category", "scope", "valid_from", "valid_until", "purpose")
# In a CSV the user wrote a plate and identity numbers, not our ids: errors name the user's columns.
_CSV_COLUMN_OF = {"vehicle_id": "plate", "driver_ids": "driver_id_numbers", "firm": "", "_schema": ""}


class BatchFormat(enum.StrEnum):
    JSON = "json"
    CSV = "csv"


@dataclass(frozen=True)
class RowError:
    row: int      # JSON: the list index; CSV: the line number, the header being line 1
    field: str    # JSON field, or CSV column
    message: str


def apply_for_fleet(session: Session, *, firm_id: int | None, body: bytes, kind: BatchFormat, actor: Actor,
                    areas: AreaTree, cipher: PersonalDataCipher, max_days: int, now: datetime,
                    admit: Callable[[int], None] | None = None) -> list[VehiclePass]:
    """Apply for up to MAX_ROWS pending passes for one firm: a firm for itself, a regulator or an admin for
    a firm in its area. Every row goes through the single application's rules, including overlap with
    existing passes and with earlier rows of the same batch. `admit(firm_id)` runs once the caller may act
    for the firm, before the body is read (the API's per-firm rate limit).

    Raises BatchRejected listing every row's errors (nothing is written), PayloadTooLarge beyond MAX_ROWS,
    NotWhitelisted (firm not approved), Forbidden, FirmNotFound, FirmSuspended."""
    if actor.role is Role.FIRM:
        firm_id = firm_id or actor.firm_id
    elif firm_id is None:
        raise Unprocessable(fields={"firm_id": ["required when a regulator or an admin applies for a firm"]})
    with transaction(session):
        session.get(Firm, firm_id, with_for_update=True)  # one batch per firm at a time
        firm = require_manageable_firm(session, firm_id, actor=actor, areas=areas)
        services.require_firm_approved(firm)
        if admit is not None:
            admit(firm.id)
        if kind is BatchFormat.CSV:
            rows, errors = _csv_rows(session, body, firm=firm, cipher=cipher)
        else:
            rows, errors = _json_rows(body)
        created: list[VehiclePass] = []
        row_of_pass: dict[str, int] = {}
        for row, data in rows:
            application = services.check_application(session, firm=firm, data=data, areas=areas,
                                                     max_days=max_days, now=now)
            if application.problems:
                errors += [RowError(row, _field(name, kind), message)
                           for problem in application.problems
                           for name, message in _messages(problem, row_of_pass)]
                continue
            # Added (flushed, not committed) at once: a later row for the same vehicle then meets it in
            # the overlap check, exactly as it would meet an existing pass.
            vpass = services.add_application(session, application, firm=firm, actor=actor, now=now)
            row_of_pass[vpass.id] = row
            created.append(vpass)
        if errors:
            errors.sort(key=lambda e: (e.row, e.field))
            raise BatchRejected(f"{len(errors)} error(s) in {len({e.row for e in errors})} row(s); nothing was "
                                f"applied for", fields=[_error_json(e, kind) for e in errors])
    return created


def _json_rows(body: bytes) -> tuple[list[tuple[int, dict]], list[RowError]]:
    try:
        items = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise Unprocessable("the body is not valid JSON", fields={"_schema": ["not valid JSON"]}) from e
    if not isinstance(items, list) or not items:
        raise Unprocessable("send a non-empty JSON list of pass applications",
                            fields={"_schema": ["expected a non-empty list"]})
    _require_size(len(items))
    rows, errors = [], []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            errors.append(RowError(index, "", "each item is an object, as POST /passes takes"))
            continue
        try:
            rows.append((index, PassIn().load(item)))
        except ValidationError as e:
            errors += [RowError(index, name, message) for name, message in _flatten(e.messages)]
    return rows, errors


def _csv_rows(session: Session, body: bytes, *, firm: Firm,
              cipher: PersonalDataCipher) -> tuple[list[tuple[int, dict]], list[RowError]]:
    loaded, csv_errors = load_csv_rows(body, CSV_COLUMNS, FleetCsvRowIn())
    _require_size(len(loaded) + len({e.row for e in csv_errors if e.row > 1}))
    errors = [RowError(e.row, e.column, e.message) for e in csv_errors]
    # The firm's own vehicles and people, read once: a plate or an identity number of another firm is
    # "not found", never a hint that it exists elsewhere.
    vehicles: dict[str, int] = {}
    for vid, plate, hk_plate in session.execute(select(Vehicle.id, Vehicle.plate, Vehicle.hk_plate)
                                                .where(Vehicle.firm_id == firm.id)):
        vehicles[plate] = vid
        if hk_plate:
            vehicles.setdefault(hk_plate, vid)
    people = dict(session.execute(select(Person.id_hash, Person.id).where(Person.firm_id == firm.id)).all())
    rows = []
    for line, data in loaded:
        row_errors = []
        vehicle_id = vehicles.get(data["plate"])
        if vehicle_id is None:
            row_errors.append(RowError(line, "plate", "no vehicle of this firm has this plate"))
        driver_ids = []
        for position, number in enumerate(data["driver_id_numbers"], start=1):
            person_id = _person_with_number(number, people, cipher)
            if person_id is None:
                row_errors.append(RowError(line, "driver_id_numbers",
                                           f"identity number {position} is not on the firm's list"))
            elif person_id in driver_ids:
                row_errors.append(RowError(line, "driver_id_numbers", f"identity number {position} repeats a driver"))
            else:
                driver_ids.append(person_id)
        if row_errors:
            errors += row_errors
            continue
        rows.append((line, {"vehicle_id": vehicle_id, "driver_ids": driver_ids, "category": data["category"],
                            "scope": data["scope"], "valid_from": data["valid_from"],
                            "valid_until": data["valid_until"], "purpose": data["purpose"]}))
    return rows, errors


def _person_with_number(number: str, people: dict[str, int], cipher: PersonalDataCipher) -> int | None:
    # The CSV gives no identifier type: try each, through the same keyed hash as registration.
    for id_type in ids.ID_TYPES:
        for key_hash in cipher.search_hashes(ids.person_key(id_type, ids.normalise_id_number(id_type, number))):
            person_id = people.get(key_hash)
            if person_id is not None:
                return person_id
    return None


def _require_size(rows: int) -> None:
    if rows > MAX_ROWS:
        raise PayloadTooLarge(f"a fleet application holds at most {MAX_ROWS} passes; this one has {rows}: "
                              f"split it", details={"max_rows": MAX_ROWS, "rows": rows})


def _messages(problem: AppError, row_of_pass: dict[str, int]) -> list[tuple[str, str]]:
    if isinstance(problem, OverlappingPass):
        clash = problem.details.get("pass_id")
        if clash in row_of_pass:
            return [("vehicle_id", f"overlaps row {row_of_pass[clash]} of this batch (same vehicle, "
                                   f"overlapping window)")]
        return [("vehicle_id", problem.message)]
    fields = getattr(problem, "fields", None)
    if fields:
        return _flatten(fields)
    return [("", problem.message)]


def _flatten(messages, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(messages, dict):
        return [pair for key, value in messages.items()
                for pair in _flatten(value, f"{prefix}.{key}" if prefix else str(key))]
    if isinstance(messages, (list, tuple)):
        return [pair for value in messages for pair in _flatten(value, prefix)]
    return [(prefix, str(messages))]


def _field(name: str, kind: BatchFormat) -> str:
    return _CSV_COLUMN_OF.get(name, name) if kind is BatchFormat.CSV else name


def _error_json(error: RowError, kind: BatchFormat) -> dict:
    return {"row": error.row, "column" if kind is BatchFormat.CSV else "field": error.field,
            "message": error.message}

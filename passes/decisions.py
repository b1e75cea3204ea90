"""Bulk decisions on pending passes: a regulator approves (signs) or rejects many at once.

The rules of one-by-one approval and rejection apply to every item; an item that fails them is refused
with its reason. If any item is refused and the caller did not confirm, nothing changes (DecisionsRefused,
409). Otherwise the accepted items go through in batches, one transaction per batch, each item audited on
its own. Under the batch's row locks its items are checked again whenever something the rules read changed
since the whole request was checked (the passes cache version moved by more than this request's own
batches), so a pass decided meanwhile is refused, never decided twice; when nothing changed, the first check
still holds and the batch only locks its rows. Reads and writes are set-based (a few statements per batch,
not per item)."""
import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from core import audit, counters, keys
from core.accounts import Actor, Role
from core.areas import AreaTree
from core.db import transaction
from core.errors import Conflict, Forbidden, Unprocessable
from passes import issuance
from passes.models import PassStatus, VehiclePass
from passes.services import passes_query

BATCH = 500
MAX_ITEMS = 50_000


class Action(enum.StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class Outcome(enum.StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    REFUSED = "refused"


@dataclass(frozen=True)
class Decision:
    id: str
    outcome: Outcome
    reason: str | None = None  # why it was refused
    serial: int | None = None  # of an approved pass


class DecisionsRefused(Conflict):
    code, title = "decisions_refused", "Some passes cannot be decided"

    def __init__(self, refused: list[Decision], accepted: int):
        super().__init__(f"{len(refused)} pass(es) cannot be decided and confirm is not true: nothing was changed; "
                         "send confirm: true to decide the other ones")
        self.members = {"refused": [{"id": d.id, "reason": d.reason} for d in refused], "accepted": accepted}


def may_decide_in_bulk(actor: Actor) -> bool:
    """Bulk decisions are a regulator's (admins decide one pass at a time; auditors never decide)."""
    return actor.role is Role.REGULATOR


def decide_passes(session: Session, *, ids: list[str] | None, filters: dict | None, action: Action,
                  reason: str | None, confirm: bool, actor: Actor, areas: AreaTree, ring: keys.KeyRing,
                  now: datetime) -> list[Decision]:
    """Approve or reject the pending passes named by `ids` (or matching the list `filters`), as one
    regulator. Returns one Decision per item, in the order given (filters: oldest first).
    Raises Forbidden, Unprocessable (no reason for a rejection, too many items), DecisionsRefused."""
    if not may_decide_in_bulk(actor):
        raise Forbidden("bulk decisions are made by a regulator")
    if action is Action.REJECT and not (reason or "").strip():
        raise Unprocessable(fields={"reason": ["a rejection needs a reason the firm can read"]})
    targets = _targets(session, ids=ids, filters=filters, actor=actor, areas=areas, now=now)
    batches = [targets[start:start + BATCH] for start in range(0, len(targets), BATCH)]
    checked, version = [None] * len(batches), None
    if not confirm:
        # The version first, then the facts: a change made after this read moves the version, so it is seen.
        version = counters.snapshot(session)[counters.PASSES_VERSION]
        checked = [_check(session, batch, action=action, actor=actor, areas=areas, now=now, lock=False)
                   for batch in batches]
        refused = [d for decided, _ in checked for d in decided if d.outcome is Outcome.REFUSED]
        if refused:
            raise DecisionsRefused(refused, accepted=len(targets) - len(refused))
    decisions: list[Decision] = []
    for batch, checked_batch in zip(batches, checked):
        decided, version = _decide_batch(session, batch, checked_batch, version, action=action, reason=reason,
                                         actor=actor, areas=areas, ring=ring, now=now)
        decisions += decided
    session.expire_all()  # the passes were changed with Core statements: ORM copies in this session are stale
    return decisions


def _targets(session: Session, *, ids, filters, actor: Actor, areas: AreaTree, now: datetime) -> list[str]:
    if ids is not None:
        targets = list(dict.fromkeys(ids))
    else:
        query = passes_query(actor=actor, areas=areas, filters=filters or {}, now=now)
        targets = list(session.scalars(query.with_only_columns(VehiclePass.id)
                                       .order_by(VehiclePass.created_at, VehiclePass.id).limit(MAX_ITEMS + 1)))
    if len(targets) > MAX_ITEMS:
        raise Unprocessable(fields={"ids" if ids is not None else "filter": [
            f"at most {MAX_ITEMS} passes per request"]})
    return targets


def _check(session: Session, batch: list[str], *, action: Action, actor: Actor, areas: AreaTree, now: datetime,
           lock: bool) -> tuple[list[Decision], list[issuance.Pending]]:
    """Every rule for every item of a batch, with a handful of statements: (decisions, accepted passes).
    Accepted items come back as Decisions of the action's outcome, without a serial yet."""
    facts = issuance.read_facts(session, issuance.read_pending(session, batch, lock=lock),
                                approving=action is Action.APPROVE, now=now)
    decisions, accepted = [], []
    outcome = Outcome.APPROVED if action is Action.APPROVE else Outcome.REJECTED
    for pass_id in batch:
        refused = issuance.refusal(pass_id, facts, action=action.value, actor=actor, areas=areas, now=now)
        if refused is None:
            decisions.append(Decision(pass_id, outcome))
            accepted.append(facts.passes[pass_id])
        else:
            decisions.append(Decision(pass_id, Outcome.REFUSED, refused.reason))
    return decisions, accepted


def _decide_batch(session: Session, batch: list[str], checked: tuple[list[Decision], list[issuance.Pending]] | None,
                  version: int | None, *, action: Action, reason: str | None, actor: Actor, areas: AreaTree,
                  ring: keys.KeyRing, now: datetime) -> tuple[list[Decision], int | None]:
    """Decide one batch in its own transaction. `checked`: what _check found for it before anything changed,
    at passes cache version `version` (counters.PASSES_VERSION, which every change to what the rules read
    moves: passes, drivers, firms, vehicles, people, tests). Under the batch's row locks the version is read
    again: unchanged, the check still holds; else the batch is checked again. Returns the decisions and the
    version the next batch's check holds at (None when not `checked`)."""
    with transaction(session):
        if checked is not None:
            # The rows first, then the version: a change committed before the locks were granted is seen.
            issuance.lock_passes(session, batch)
            current = counters.snapshot(session)[counters.PASSES_VERSION]
        if checked is not None and current == version:
            decisions, accepted = checked
        else:
            decisions, accepted = _check(session, batch, action=action, actor=actor, areas=areas, now=now,
                                         lock=True)
        if accepted and action is Action.APPROVE:
            issued = issuance.issue(session, accepted, ring=ring, actor=actor, now=now)
            decisions = [Decision(d.id, d.outcome, d.reason, issued[d.id].serial if d.id in issued else None)
                         for d in decisions]
        elif accepted:
            _reject(session, accepted, reason=reason, actor=actor, now=now)
    if checked is None:
        return decisions, None
    # Deciding marks the version changed (mark_changed): this batch's own commit moved it by one.
    return decisions, current + 1 if accepted else current


def _reject(session: Session, accepted: list[issuance.Pending], *, reason: str | None, actor: Actor,
            now: datetime) -> None:
    table = VehiclePass.__table__
    session.connection().execute(update(table).where(table.c.id == bindparam("b_id")).values(
        status=PassStatus.REJECTED.value, suspension_cause=None, reason=reason, updated_at=now),
        [{"b_id": vpass.id} for vpass in accepted])
    audit.record_many(session, actor.audit, [
        ("pass.rejected", "pass", vpass.id, {"status": ["pending", "rejected"], "reason": reason})
        for vpass in accepted], at=now)
    counters.mark_changed(session, counters.PASSES_VERSION)  # Core updates: the ORM does not see them


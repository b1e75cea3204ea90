"""The relay-yard handover state machine: which event may follow which state. Pure: no Flask, no session.

A Hong Kong driver brings a sealed load to the yard, the seals are checked, the load is dropped and the
driver leaves by the same route; only then does a mainland driver collect it. The two never meet.
"""
import enum


class HandoverState(enum.StrEnum):
    BOOKED = "booked"
    ARRIVED = "arrived"
    SEALS_OK = "seals_ok"
    HELD = "held"
    DISINFECTED = "disinfected"
    DROPPED = "dropped"
    INBOUND_DEPARTED = "inbound_departed"
    COLLECTED = "collected"
    OUTBOUND_DEPARTED = "outbound_departed"
    COMPLETED = "completed"
    EXCEPTION = "exception"


class EventType(enum.StrEnum):
    BOOKED = "booked"
    ARRIVED = "arrived"
    SEALS_CHECKED = "seals_checked"
    DISINFECTED = "disinfected"
    DROPPED = "dropped"
    INBOUND_DEPARTED = "inbound_departed"
    COLLECTED = "collected"
    OUTBOUND_DEPARTED = "outbound_departed"
    COMPLETED = "completed"
    EXCEPTION = "exception"


S, E = HandoverState, EventType
TERMINAL = {S.COMPLETED, S.EXCEPTION}

# (state, event) -> next state. seals_checked goes to HELD instead when the seals differ (see next_state).
TRANSITIONS: dict[tuple[HandoverState, EventType], HandoverState] = {
    (S.BOOKED, E.ARRIVED): S.ARRIVED,
    (S.ARRIVED, E.SEALS_CHECKED): S.SEALS_OK,
    (S.HELD, E.SEALS_CHECKED): S.SEALS_OK,  # re-inspection after a regulator's check
    (S.SEALS_OK, E.DISINFECTED): S.DISINFECTED,
    (S.SEALS_OK, E.DROPPED): S.DROPPED,
    (S.DISINFECTED, E.DROPPED): S.DROPPED,
    (S.DROPPED, E.INBOUND_DEPARTED): S.INBOUND_DEPARTED,
    (S.INBOUND_DEPARTED, E.COLLECTED): S.COLLECTED,
    (S.COLLECTED, E.OUTBOUND_DEPARTED): S.OUTBOUND_DEPARTED,
    (S.OUTBOUND_DEPARTED, E.COMPLETED): S.COMPLETED,
}
# States in which the load is physically in the yard (for occupancy).
IN_YARD = {S.ARRIVED, S.SEALS_OK, S.HELD, S.DISINFECTED, S.DROPPED, S.INBOUND_DEPARTED, S.COLLECTED}


class TransitionRefused(Exception):
    def __init__(self, state: HandoverState, event: EventType):
        self.state, self.event = state, event
        super().__init__(f"{event.value} is not allowed when the handover is {state.value}")


def allowed_events(state: HandoverState) -> list[str]:
    """Events that may be posted in `state`, in the order of the journey."""
    if state in TERMINAL:
        return []
    events = [event.value for (src, event) in TRANSITIONS if src is state]
    return events + [E.EXCEPTION.value]


def seals_match(expected: list[str], seen: list[str]) -> bool:
    """Seals match when the same numbers are seen, in any order and case, ignoring surrounding spaces."""
    return sorted(s.strip().upper() for s in expected) == sorted(s.strip().upper() for s in seen)


def seal_differences(expected: list[str], seen: list[str]) -> dict[str, list[str]]:
    """Which seals differ: those booked but not seen ("missing") and those seen but not booked ("unexpected"),
    compared as seals_match compares them; both empty when the seals match."""
    want, got = [s.strip().upper() for s in expected], [s.strip().upper() for s in seen]
    return {"missing": [s for s in want if s not in got], "unexpected": [s for s in got if s not in want]}


def next_steps(state: HandoverState) -> dict[str, str]:
    """Each event allowed in `state` and the state it leads to (a seal check may lead to HELD instead, and an
    exception ends the journey): what a station may show, and predict while it works offline."""
    steps = {event.value: target.value for (src, event), target in TRANSITIONS.items() if src is state}
    return {**steps, E.EXCEPTION.value: S.EXCEPTION.value} if state not in TERMINAL else {}


def next_state(state: HandoverState, event: EventType, *, seals_intact: bool = True) -> HandoverState:
    """The state after `event`; raises TransitionRefused. An exception may end any journey not yet over."""
    if event is E.EXCEPTION and state not in TERMINAL:
        return S.EXCEPTION
    target = TRANSITIONS.get((state, event))
    if target is None:
        raise TransitionRefused(state, event)
    if event is E.SEALS_CHECKED and not seals_intact:
        return S.HELD
    return target

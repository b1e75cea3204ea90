"""The relay-yard handover state machine (logistics/handovers.py): pure, no database."""
import pytest
from marshmallow import ValidationError

from logistics.handovers import (IN_YARD, TERMINAL, TRANSITIONS, EventType, HandoverState, TransitionRefused,
                                 allowed_events, next_state, next_steps, seal_differences, seals_match)
from logistics.schemas import InboundIn

S, E = HandoverState, EventType
NON_TERMINAL = [s for s in S if s not in TERMINAL]
JOURNEY = [(E.ARRIVED, S.ARRIVED), (E.SEALS_CHECKED, S.SEALS_OK), (E.DISINFECTED, S.DISINFECTED),
           (E.DROPPED, S.DROPPED), (E.INBOUND_DEPARTED, S.INBOUND_DEPARTED), (E.COLLECTED, S.COLLECTED),
           (E.OUTBOUND_DEPARTED, S.OUTBOUND_DEPARTED), (E.COMPLETED, S.COMPLETED)]


@pytest.mark.parametrize(("state", "event", "target"), [(s, e, t) for (s, e), t in TRANSITIONS.items()],
                         ids=[f"{s.value}-{e.value}" for s, e in TRANSITIONS])
def test_every_listed_transition_leads_to_its_target(state, event, target):
    assert next_state(state, event) is target


def test_the_transition_table_is_exactly_the_documented_journey():
    assert TRANSITIONS == {
        (S.BOOKED, E.ARRIVED): S.ARRIVED,
        (S.ARRIVED, E.SEALS_CHECKED): S.SEALS_OK,
        (S.HELD, E.SEALS_CHECKED): S.SEALS_OK,
        (S.SEALS_OK, E.DISINFECTED): S.DISINFECTED,
        (S.SEALS_OK, E.DROPPED): S.DROPPED,
        (S.DISINFECTED, E.DROPPED): S.DROPPED,
        (S.DROPPED, E.INBOUND_DEPARTED): S.INBOUND_DEPARTED,
        (S.INBOUND_DEPARTED, E.COLLECTED): S.COLLECTED,
        (S.COLLECTED, E.OUTBOUND_DEPARTED): S.OUTBOUND_DEPARTED,
        (S.OUTBOUND_DEPARTED, E.COMPLETED): S.COMPLETED,
    }


def test_a_load_walks_from_booked_to_completed_through_every_step():
    state = S.BOOKED
    for event, expected in JOURNEY:
        state = next_state(state, event)
        assert state is expected
    assert state in TERMINAL


def test_disinfection_is_optional_between_the_seal_check_and_the_drop():
    assert next_state(S.SEALS_OK, E.DROPPED) is S.DROPPED


@pytest.mark.parametrize("state", [S.ARRIVED, S.HELD])
def test_a_seal_mismatch_holds_the_load(state):
    assert next_state(state, E.SEALS_CHECKED, seals_intact=False) is S.HELD


def test_a_matching_seal_check_releases_a_held_load():
    assert next_state(S.HELD, E.SEALS_CHECKED, seals_intact=True) is S.SEALS_OK


def test_the_seal_flag_changes_nothing_for_other_events():
    assert next_state(S.SEALS_OK, E.DROPPED, seals_intact=False) is S.DROPPED


@pytest.mark.parametrize("state", [S.BOOKED, S.SEALS_OK, S.DISINFECTED, S.DROPPED, S.COLLECTED])
def test_seals_cannot_be_checked_outside_arrival_or_a_hold(state):
    with pytest.raises(TransitionRefused):
        next_state(state, E.SEALS_CHECKED, seals_intact=False)


@pytest.mark.parametrize("state", NON_TERMINAL, ids=lambda s: s.value)
def test_an_exception_ends_any_journey_not_yet_over(state):
    assert next_state(state, E.EXCEPTION) is S.EXCEPTION


@pytest.mark.parametrize("state", sorted(TERMINAL), ids=lambda s: s.value)
@pytest.mark.parametrize("event", list(E), ids=lambda e: e.value)
def test_nothing_follows_a_completed_or_failed_journey(state, event):
    with pytest.raises(TransitionRefused) as refused:
        next_state(state, event)
    assert (refused.value.state, refused.value.event) == (state, event)


UNLISTED = [(s, e) for s in NON_TERMINAL for e in E if e is not E.EXCEPTION and (s, e) not in TRANSITIONS]


@pytest.mark.parametrize(("state", "event"), UNLISTED, ids=[f"{s.value}-{e.value}" for s, e in UNLISTED])
def test_every_unlisted_pair_is_refused(state, event):
    with pytest.raises(TransitionRefused) as refused:
        next_state(state, event)
    assert str(refused.value) == f"{event.value} is not allowed when the handover is {state.value}"


def test_collection_straight_after_booking_is_refused():
    with pytest.raises(TransitionRefused):
        next_state(S.BOOKED, E.COLLECTED)


def test_booked_is_never_an_event_that_can_be_posted():
    assert all(e is not E.BOOKED for _, e in TRANSITIONS)
    with pytest.raises(TransitionRefused):
        next_state(S.BOOKED, E.BOOKED)


@pytest.mark.parametrize(("state", "expected"), [
    (S.BOOKED, ["arrived", "exception"]),
    (S.ARRIVED, ["seals_checked", "exception"]),
    (S.HELD, ["seals_checked", "exception"]),
    (S.SEALS_OK, ["disinfected", "dropped", "exception"]),
    (S.DISINFECTED, ["dropped", "exception"]),
    (S.DROPPED, ["inbound_departed", "exception"]),
    (S.INBOUND_DEPARTED, ["collected", "exception"]),
    (S.COLLECTED, ["outbound_departed", "exception"]),
    (S.OUTBOUND_DEPARTED, ["completed", "exception"]),
    (S.COMPLETED, []),
    (S.EXCEPTION, []),
], ids=lambda v: v.value if isinstance(v, S) else "")
def test_allowed_events_are_listed_in_journey_order_with_exception_last(state, expected):
    assert allowed_events(state) == expected


@pytest.mark.parametrize("state", list(S), ids=lambda s: s.value)
def test_allowed_events_are_exactly_the_events_next_state_accepts(state):
    accepted = []
    for event in E:
        try:
            next_state(state, event)
        except TransitionRefused:
            continue
        accepted.append(event.value)
    assert sorted(allowed_events(state)) == sorted(accepted)


def test_a_load_is_in_the_yard_from_arrival_until_it_leaves_with_the_mainland_driver():
    assert IN_YARD == {S.ARRIVED, S.SEALS_OK, S.HELD, S.DISINFECTED, S.DROPPED, S.INBOUND_DEPARTED, S.COLLECTED}


@pytest.mark.parametrize("seen", [
    ["HK2026001", "HK2026002"],
    ["HK2026002", "HK2026001"],
    ["hk2026001", "Hk2026002"],
    ["  HK2026001 ", "\tHK2026002\n"],
    [" hk2026002", "hk2026001  "],
])
def test_seals_match_in_any_order_case_and_surrounding_spaces(seen):
    assert seals_match(["HK2026001", "HK2026002"], seen)


@pytest.mark.parametrize("seen", [
    ["HK2026001"],                              # one missing
    ["HK2026001", "HK2026002", "HK2026003"],    # one extra
    ["HK2026001", "HK2026009"],                 # one replaced
    ["HK2026001", "HK2026001"],                 # a number seen twice is not two seals
    ["HK 2026001", "HK2026002"],                # inner spaces are part of the number
    [],
])
def test_seals_differ_when_a_number_is_missing_extra_or_changed(seen):
    assert not seals_match(["HK2026001", "HK2026002"], seen)


def test_expected_seals_are_normalised_too():
    assert seals_match([" hk2026001 "], ["HK2026001"])


def test_a_booking_listing_the_same_seal_twice_is_refused():
    with pytest.raises(ValidationError) as e:
        InboundIn().load({"driver_id": 1, "vehicle_id": 1, "container_no": "CSQU3054383",
                          "seals": ["HK1", " hk1 "], "sealed_by": "shipper"})
    assert "seals" in e.value.messages


def test_seal_differences_name_the_missing_and_the_unexpected_seal_as_seals_match_compares():
    assert seal_differences(["HK1", "HK2"], [" hk2", "HK1 "]) == {"missing": [], "unexpected": []}
    assert seal_differences(["HK1", "HK2"], ["HK1", "HK9"]) == {"missing": ["HK2"], "unexpected": ["HK9"]}
    assert seal_differences(["HK1"], ["HK1", "HK1X"]) == {"missing": [], "unexpected": ["HK1X"]}


def test_next_steps_give_each_allowed_event_and_where_it_leads():
    assert next_steps(S.SEALS_OK) == {"disinfected": "disinfected", "dropped": "dropped", "exception": "exception"}
    assert next_steps(S.HELD) == {"seals_checked": "seals_ok", "exception": "exception"}
    assert next_steps(S.COMPLETED) == next_steps(S.EXCEPTION) == {}
    assert all(list(next_steps(state)) == allowed_events(state) for state in S)

from datetime import datetime, timedelta, timezone

import pytest

from core.areas import AreaTree, read_reference_areas
from core.errors import InvalidState, Unprocessable
from passes import rules
from passes.models import PassStatus, SuspensionCause, VehiclePass

TREE = AreaTree(read_reference_areas())
NOW = datetime(2026, 3, 14, 8, 0, tzinfo=timezone.utc)


def test_pass_ids_are_eight_readable_characters():
    ids = {rules.new_pass_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(len(i) == 8 and set(i) <= set(rules.ID_ALPHABET) for i in ids)
    assert not set("ILOU") & set(rules.ID_ALPHABET)


@pytest.mark.parametrize("start, end, message", [
    (NOW, NOW, "after valid_from"),
    (NOW - timedelta(days=2), NOW - timedelta(seconds=1), "already over"),
    (NOW, NOW + timedelta(days=7, seconds=1), "at most 7 days"),
])
def test_bad_windows_are_refused_with_the_reason(start, end, message):
    with pytest.raises(Unprocessable) as e:
        rules.check_window(start, end, now=NOW, max_days=7)
    assert message in e.value.fields["valid_until"][0]


def test_a_seven_day_window_that_started_yesterday_is_fine():
    rules.check_window(NOW - timedelta(days=1), NOW + timedelta(days=6), now=NOW, max_days=7)


def test_unknown_scope_codes_are_named_and_duplicates_dropped():
    assert rules.normalise_scope(["440304", "440304", "440305001"], TREE) == ["440304", "440305001"]
    with pytest.raises(Unprocessable) as e:
        rules.normalise_scope(["440304", "440399"], TREE)
    assert e.value.fields == {"scope": ["unknown area code 440399"]}


@pytest.mark.parametrize("jurisdiction, scope, allowed", [
    ("440300", ["440304001", "440305"], True),     # city covers everything
    ("440304", ["440304001", "440304002"], True),  # district covers its streets
    ("440304", ["440304001", "440305"], False),    # but not another district
    ("440304", ["440300"], False),                 # nor a city-wide scope
    ("440304001", ["440304001"], True),            # a street covers itself
    ("440304001", ["440304"], False),              # not its district
    ("440304", [], False),
])
def test_a_regulator_covers_a_scope_only_when_it_contains_every_area(jurisdiction, scope, allowed):
    assert rules.covers_scope(jurisdiction, scope, TREE) is allowed


def test_related_areas_include_the_parents_so_city_wide_passes_concern_a_district():
    related = rules.related_areas("440304", TREE)
    assert "440300" in related and "440304001" in related and "440305" not in related


def _pass(status=PassStatus.PENDING):
    return VehiclePass(status=status, valid_until=NOW + timedelta(days=1))


def test_pass_transitions_follow_the_table_and_name_the_allowed_actions():
    vpass = _pass()
    vpass.apply("approve", at=NOW)
    with pytest.raises(InvalidState) as e:
        vpass.apply("approve", at=NOW)
    assert e.value.details == {"status": "active", "allowed": ["revoke", "suspend"]}
    vpass.apply("suspend", at=NOW)
    vpass.suspension_cause = SuspensionCause.REGULATOR
    vpass.apply("revoke", at=NOW)
    assert vpass.status is PassStatus.REVOKED and vpass.suspension_cause is None
    with pytest.raises(InvalidState):
        vpass.apply("reinstate", at=NOW)


def test_an_active_pass_is_reported_expired_once_its_window_is_over():
    vpass = _pass(PassStatus.ACTIVE)
    assert vpass.status_at(NOW) is PassStatus.ACTIVE
    assert vpass.status_at(NOW + timedelta(days=1)) is PassStatus.EXPIRED
    assert _pass(PassStatus.SUSPENDED).status_at(NOW + timedelta(days=2)) is PassStatus.SUSPENDED


def _smallest_holding(scope: list[str]) -> str:
    """The deepest area on every scope area's path from the city: the tree's own answer."""
    paths = [[r.code for r in TREE.path(code)] for code in scope]
    common = [code for code in paths[0] if all(code in p for p in paths)]
    return common[-1]


def test_the_home_of_a_scope_is_the_smallest_area_holding_all_of_it_for_every_pair_of_areas():
    codes = sorted(TREE.by_code)
    scopes = [[a] for a in codes] + [[a, b] for a in codes for b in codes if a < b]
    assert all(rules.home_area(scope) == _smallest_holding(scope) for scope in scopes)


@pytest.mark.parametrize("scope, home", [
    (["440304001"], "440304001"),
    (["440304001", "440304002"], "440304"),
    (["440304001", "440304"], "440304"),
    (["440304001", "440304002", "440304004"], "440304"),
    (["440304001", "440305001"], "440300"),
    (["440304", "440305"], "440300"),
    (["440304001", "440300"], "440300"),
    ([], None),
])
def test_the_home_of_a_scope(scope, home):
    assert rules.home_area(scope) == home

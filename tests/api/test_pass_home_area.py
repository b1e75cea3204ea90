"""The stored home area of a pass (passes.home_area_code): the smallest area holding its whole scope, set
when the pass is applied for (one by one or in a batch), computed the same way by migration 0010's
backfill, and the "wholly within an area" filter on it keeps exactly the passes the scope rows say."""
import importlib.util
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from passes import rules, services
from passes.models import PassArea, VehiclePass
from tests.api.helpers import API, fetch
from tests.api.pass_helpers import apply, build_world, pass_json

SCOPES = [("440304001",), ("440304001", "440304002"), ("440304001", "440304"), ("440304",),
          ("440304001", "440305001"), ("440304", "440305"), ("440300",), ("440305001", "440300")]
HOMES = ["440304001", "440304", "440304", "440304", "440300", "440300", "440300", "440300"]
MIGRATION = Path(__file__).parents[2] / "migrations" / "versions" / "0010_pass_home_area.py"


@pytest.fixture
def world(session, areas, cipher, now):
    return build_world(session, areas, cipher, now)


def _apply_each(client, world) -> dict[str, tuple]:
    """One pass per scope of SCOPES: four vehicles, a day apart so no window overlaps another."""
    return {apply(client, world, vehicle=i % 4, scope=scope, start_hours=-1 + 30 * (i // 4), days=1)["id"]: scope
            for i, scope in enumerate(SCOPES)}


def _homes(session) -> dict[str, str | None]:
    return dict(fetch(session, select(VehiclePass.id, VehiclePass.home_area_code)).all())


def test_an_application_stores_the_smallest_area_holding_its_whole_scope(client, session, world):
    applied = _apply_each(client, world)
    homes = _homes(session)
    assert [homes[pid] for pid in applied] == HOMES
    assert all(homes[pid] == rules.home_area(list(scope)) for pid, scope in applied.items())


def test_a_batch_application_stores_the_home_of_each_pass(client, session, world):
    rows = [pass_json(world, vehicle=i, scope=scope) for i, scope in enumerate(SCOPES[3:7])]
    response = client.post(f"{API}/passes/batch", json=rows, headers=world.headers("firm"))
    assert response.status_code == 201, response.get_json()
    homes = _homes(session)
    assert [homes[p["id"]] for p in response.get_json()] == HOMES[3:7]


def test_the_migrations_backfill_computes_the_same_home_as_the_rule(client, session, world):
    applied = _apply_each(client, world)
    session.execute(update(VehiclePass).values(home_area_code=None))
    spec = importlib.util.spec_from_file_location("migration_0010", MIGRATION)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    session.execute(text(migration.BACKFILL))
    session.commit()
    homes = _homes(session)
    assert {pid: homes[pid] for pid in applied} == {pid: rules.home_area(list(s)) for pid, s in applied.items()}


def test_the_within_filter_on_the_home_keeps_exactly_the_passes_whose_scope_rows_all_lie_inside(
        client, session, world, areas):
    applied = _apply_each(client, world)
    for code in sorted(areas.by_code):
        inside = areas.descendants(code)
        by_rows = select(VehiclePass.id).where(  # the filter before the home was stored
            VehiclePass.id.in_(select(PassArea.pass_id).where(PassArea.area_code.in_(inside))),
            VehiclePass.id.not_in(select(PassArea.pass_id).where(PassArea.area_code.not_in(inside))))
        by_home = select(VehiclePass.id).where(*services._area_filter(code, rules.AreaMode.WITHIN, areas))
        expected = {pid for pid, scope in applied.items() if areas.contains_all(code, scope)}
        assert set(fetch(session, by_rows).scalars()) == set(fetch(session, by_home).scalars()) == expected, code

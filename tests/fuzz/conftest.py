"""Fixtures for the schemathesis run: a seeded database, the app's own OpenAPI document, one identity per
run, and the number of requests in the terminal summary."""
import time
from dataclasses import dataclass

import pytest
from hypothesis import strategies as st

from core.accounts import SYSTEM
from checkpoints.models import SiteKind
from checkpoints.sites import create_site
from tests.api.helpers import firm_json, person_json, resident_ids, uscc
from tests.api.pass_helpers import DRIVER_ID_NUMBER, build_world, clock, issued, pass_json
from tests.factories import bearer
from tests.fuzz.support import COVERAGE_ROLES, MAX_EXAMPLES, ROLES, TALLY, load_schema


@dataclass
class Seed:
    tokens: dict[str, str]
    ids: dict[str, object]           # path parameter -> a row that exists
    bodies: dict[str, dict]          # operation -> a body the app accepts (from some role)


@dataclass
class Identity:
    role: str
    headers: dict[str, str]


@pytest.fixture
def seed(app, session, areas, cipher, now) -> Seed:
    """A firm with a driver and four vehicles, a relay yard, a checkpoint and one issued pass, so some ids
    resolve; and a valid body for the main writes, so the fuzzer also gets past validation."""
    world = build_world(session, areas, cipher, now)
    yard, checkpoint = (create_site(session, data=data, actor=SYSTEM, areas=areas, now=now) for data in (
        dict(name="福田接驳场 Futian relay yard", kind=SiteKind.RELAY_YARD, area_code="440304001", lat=22.53,
             lon=114.05, capacity=3),
        dict(name="南园检查站 Nanyuan checkpoint", kind=SiteKind.CHECKPOINT, area_code="440304001", lat=22.543,
             lon=114.085, capacity=None)))
    vpass = issued(app.test_client(), world)
    ids = {"firm_id": world.firm_id, "person_id": world.driver_id, "vehicle_id": world.vehicle_ids[0],
           "item_id": world.driver_id, "site_id": checkpoint.id, "yard_id": yard.id, "crossing_id": 1,
           "pass_id": vpass["id"], "code": "440304"}
    bodies = {
        "POST /api/v1/firms": firm_json(uscc=uscc("MA5G0001"), name="第二配送有限公司"),
        "POST /api/v1/people": person_json(firm_id=world.firm_id, id_number=resident_ids(2)[1], name="王师傅"),
        "POST /api/v1/vehicles": {"firm_id": world.firm_id, "plate": "粤B56789", "kind": "van"},
        "POST /api/v1/passes": pass_json(world, vehicle=1),
        "POST /api/v1/sites": {"name": "园岭检查站 Yuanling checkpoint", "kind": "checkpoint",
                               "area_code": "440304002", "lat": 22.52, "lon": 114.03},
        "PATCH /api/v1/sites/{site_id}": {"name": "南园检查站（北）", "lat": 22.544},
        "PUT /api/v1/routes/{crossing_id}/{yard_id}/checkpoints": {"site_ids": [checkpoint.id]},
        "POST /api/v1/health-tests": {"id_type": "cn_resident_id", "id_number": DRIVER_ID_NUMBER, "lab": "test lab",
                                      "sampled_at": clock().isoformat(), "result": "negative"},
    }
    return Seed(world.tokens, ids, bodies)


@pytest.fixture(params=ROLES)
def fuzz_identity(request, seed):
    role = request.param
    started = time.monotonic()
    yield Identity(role, bearer(seed.tokens[role]))
    sent = TALLY.by_role.get(role, 0)
    TALLY.seconds[role] = time.monotonic() - started
    print(f"schemathesis sent {sent} requests as {role}")  # with -s; the terminal summary always has totals
    assert sent > 0, "the fuzzer sent no request"


@pytest.fixture
def fuzz_schema(app, seed, fuzz_identity):
    # Depends on fuzz_identity so that pytest parametrizes the lazy schemathesis test by role.
    schema = load_schema(app, coverage=fuzz_identity.role in COVERAGE_ROLES)

    @schema.hook
    def flatmap_path_parameters(context, path_parameters):
        # Half of the generated paths name the seeded rows, so operations get past their 404.
        known = {name: seed.ids[name] for name in path_parameters or () if name in seed.ids}
        if not known:
            return st.just(path_parameters)
        return st.sampled_from([path_parameters, {**path_parameters, **known}])

    @schema.hook
    def flatmap_body(context, body):
        # Besides the generated body: the valid one, and the valid one with each generated field in turn.
        valid = seed.bodies.get(context.operation.label)
        if valid is None or not isinstance(body, dict):
            return st.just(body)
        return st.sampled_from([body, valid, *({**valid, key: value} for key, value in body.items())])

    return schema


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request):
    # schemathesis 4.32.5's lazy schema reads and renames `Node._nodeid`, which pytest 9.2 no longer has
    # (nodes keep an `_id` now); without it every lazy test fails with AttributeError before it runs.
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


def pytest_terminal_summary(terminalreporter):
    if TALLY.by_role:
        runs = ", ".join(f"{role} {n} in {TALLY.seconds.get(role, 0):.0f} s" for role, n in TALLY.by_role.items())
        terminalreporter.write_line(f"schemathesis: {sum(TALLY.by_role.values())} requests "
                                    f"(max_examples={MAX_EXAMPLES}; {runs})")

"""Every documented operation, fuzzed in-process with schemathesis, as an administrator, the city regulator
and a firm: no server error, and each response has a documented status, content type and body schema.

Inputs that hit a bug already reported go in KNOWN_BUGS and are not sent (their 500 tracebacks would carry
fuzzed text into the logs that the end-of-run secret scan reads), each with a strict xfail reproduction
below that fails as soon as the bug is fixed: then turn it into a plain regression test."""
from dataclasses import dataclass
from typing import Callable

import pytest
import schemathesis
from hypothesis import HealthCheck, assume, settings
from schemathesis.checks import (content_type_conformance, not_a_server_error, response_headers_conformance,
                                 response_schema_conformance, status_code_conformance)

from tests.api.helpers import API
from tests.fuzz.support import MAX_EXAMPLES, TALLY, load_schema

schema = schemathesis.pytest.from_fixture("fuzz_schema")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
SQL_BIGINT = 2**63 - 1


@dataclass(frozen=True)
class KnownBug:
    operations: tuple[str, ...] | None  # None: every operation
    hits: Callable  # (case, areas) -> bool
    reason: str

    def applies(self, case, areas) -> bool:
        return (self.operations is None or case.operation.label in self.operations) and self.hits(case, areas)


KNOWN_BUGS: list[KnownBug] = []  # fixed: huge page numbers (now 422) and unknown pass areas (now empty)


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_answers_within_its_schema(case, fuzz_schema, fuzz_identity, areas):
    assume(not any(bug.applies(case, areas) for bug in KNOWN_BUGS))
    response = case.call(headers=fuzz_identity.headers)
    TALLY.add(fuzz_identity.role)
    case.validate_response(response, checks=CHECKS)


# ---- what the fuzzer found, one request each ------------------------------------------------------------

def test_a_page_beyond_any_offset_is_refused_not_a_server_error(client, seed):
    response = client.get(f"{API}/firms", query_string={"page": SQL_BIGINT // 100 + 2, "page_size": 100},
                          headers={"Authorization": f"Bearer {seed.tokens['admin']}"})
    assert response.status_code == 422 and "page" in response.get_json()["errors"]


def test_listing_passes_in_an_unknown_area_finds_nothing(client, seed):
    response = client.get(f"{API}/passes", query_string={"area": "000000000000"},
                          headers={"Authorization": f"Bearer {seed.tokens['admin']}"})
    assert response.status_code == 200 and response.get_json() == []


def test_pagination_header_matches_its_schema(app, seed):
    operation = load_schema(app)["/api/v1/firms"]["GET"]
    case = operation.Case(query={"page": 1})
    response = case.call(headers={"Authorization": f"Bearer {seed.tokens['admin']}"})
    assert response.status_code == 200 and "x-pagination" in response.headers
    case.validate_response(response, checks=[response_headers_conformance])

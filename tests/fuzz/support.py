"""What the fuzz conftest and test module share: how hard the fuzzer tries, the schema loader, and the
request count (a plain module, so both import the same objects; a conftest is imported under another name)."""
import os
from dataclasses import dataclass, field

import schemathesis

OPENAPI = "/api/v1/openapi.json"

# `make test` keeps the default so each database run stays well under a minute and a half; `make fuzz`
# raises it, which also runs the coverage phase (schemathesis's boundary values, most of the requests) for
# every role rather than for the administrator only (input validation comes before any role rule).
DEFAULT_EXAMPLES = 10
MAX_EXAMPLES = int(os.environ.get("GREENLANE_FUZZ_EXAMPLES", DEFAULT_EXAMPLES))
ROLES = ("admin", "city", "firm")  # administrator, city-wide regulator, the seeded firm (build_world tokens)
COVERAGE_ROLES = ROLES if MAX_EXAMPLES > DEFAULT_EXAMPLES else ("admin",)


@dataclass
class Tally:
    """Requests sent to the app, by role; the issue asks how many ran, so the summary prints them."""

    by_role: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, role: str) -> None:
        self.by_role[role] = self.by_role.get(role, 0) + 1


TALLY = Tally()


def load_schema(app, *, coverage: bool = True):
    """The app's own document, generated deterministically (no example database, no random seed)."""
    config = schemathesis.Config.from_dict({
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none",
                       # The test sends a real bearer token; generated ones would only meet 401s.
                       "with-security-parameters": False},
        "phases": {"coverage": {"enabled": coverage}}})
    return schemathesis.openapi.from_wsgi(OPENAPI, app, config=config)

"""An attacker's review, secrets: no token, key or full identity number in a response or an error page,
and Werkzeug's debugger (which runs code for whoever sees its page) never on outside a demo instance.
Log lines are searched for secrets at the end of every run (tests/conftest.py)."""
from pathlib import Path

import pytest

from core.accounts import Role
from factory import StartupError, create_app
from tests.api.helpers import API
from tests.conftest import KEYS
from tests.factories import RESIDENT_IDS, bearer, make_firm, make_person, make_token

SECRET_TEXT = "gl_" + "S" * 43
MARKER = "select-from-people-where-4f2a"
ROOT = Path(__file__).resolve().parents[2]


def _production_app(database_url, **extra):
    # Not TESTING: errors are handled the way a deployed host handles them.
    return create_app({"DATABASE_URL": database_url, **KEYS, **extra})


def test_an_unexpected_error_page_shows_no_exception_text_and_no_debugger(database_url):
    app = _production_app(database_url)

    @app.get("/api/v1/_boom")
    def boom():
        # A marker, not a real secret: the run's log scan (tests/conftest.py) would rightly flag a token here.
        raise RuntimeError(f"internal detail {MARKER}")

    response = app.test_client().get("/api/v1/_boom")
    text = response.get_data(as_text=True)
    assert response.status_code == 500 and response.mimetype == "application/problem+json"
    assert MARKER not in text and "internal detail" not in text and "Traceback" not in text
    assert "Werkzeug Debugger" not in text and not app.debug


@pytest.mark.parametrize("variable", ["FLASK_DEBUG", "GREENLANE_DEBUG"])
def test_debug_mode_outside_demo_refuses_to_start(database_url, monkeypatch, variable):
    monkeypatch.setenv(variable, "1")
    with pytest.raises(StartupError, match="debug"):
        _production_app(database_url)


def test_debug_mode_is_allowed_for_a_demo_instance(database_url, monkeypatch):
    monkeypatch.setenv("FLASK_DEBUG", "1")
    assert create_app({"DATABASE_URL": database_url, "DEMO": True}).debug


def test_a_bad_token_is_not_echoed_and_a_good_one_never_shown_again(client, session, areas, cipher, now):
    answer = client.get(f"{API}/firms", headers=bearer(SECRET_TEXT))
    assert answer.status_code == 401 and SECRET_TEXT not in answer.get_data(as_text=True)
    firm, token = make_firm(session, areas, now)
    make_person(session, areas, cipher, now, firm_id=firm.id)
    admin = make_token(session, areas, now, Role.ADMIN)
    for path in (f"/firms/{firm.id}", "/firms", "/people", "/me", f"/firms/{firm.id}/users", "/audit"):
        text = client.get(f"{API}{path}", headers=bearer(admin)).get_data(as_text=True)
        assert token not in text and admin not in text, path
        assert RESIDENT_IDS[0] not in text, path  # identity numbers are masked everywhere
    trust = client.get(f"{API}/trust-list").get_data(as_text=True)
    assert "PRIVATE" not in trust and "private" not in trust


def test_the_access_log_format_leaves_out_query_strings():
    # Search terms (identity numbers) travel in query strings: %(U)s is the path alone, %(r)s/%(q)s would leak.
    namespace: dict = {}
    exec((ROOT / "gunicorn.conf.py").read_text(encoding="utf-8"), namespace)  # our own settings file
    assert "%(U)s" in namespace["access_log_format"]
    assert "%(q)s" not in namespace["access_log_format"] and "%(r)s" not in namespace["access_log_format"]

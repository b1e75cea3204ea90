"""The application factory, the composition root: the only module that imports every package, and the only
place that builds the engine, the keys and the blueprints and wires the domains together."""
import http
import logging
from pathlib import Path
from typing import Any, Mapping

import click
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask
from flask_migrate import Migrate
from flask_smorest import Api
from flask_smorest.pagination import PaginationMetadataSchema
from flask_smorest.utils import prepare_response
from werkzeug.middleware.proxy_fix import ProxyFix

from core import audit_areas, cli, counters, db, ratelimit
from core.accounts import Account
from core.groupcommit import GroupCommit
from core.keys import SigningKey
from core import http as core_http
from core.areas import AreaTree, read_reference_areas
from core.config import load_config
from core.keys import KeyRing
from core.errors import PROBLEM_JSON, ProblemSchema, register_error_handlers
from core.passwords import Passwords
from core.pii import PersonalDataCipher, decode_key, demo_key
from core.signin import Throttle
from core.websessions import SessionPolicy
from core.probes import blp as probes_blp
from core.routes import blp as core_blp
from checkpoints import audit_areas as checkpoint_audit_areas
from checkpoints import health, sites
from checkpoints.models import HealthTest, Site
from checkpoints.pii_rotation import pii_cli
from checkpoints.routes import blp as checkpoints_blp
from demo import demo as demo_cli
from logistics import audit_areas as logistics_audit_areas
from logistics import services as logistics_services
from logistics.cli import logistics_cli
from logistics.routes import blp as logistics_blp
from passes import audit_areas as pass_audit_areas
from passes import services as pass_services
from passes.events import drivers_tested_positive, pass_accepted, route_problems
from passes.models import PassDriver, VehiclePass
from passes.routes import blp as passes_blp
from web import auth as web_auth
from web import pages as web_pages
from web import console, pass_print, portal, scan, yard
from web import shell as web_shell  # web shell
from whitelist import audit_areas as whitelist_audit_areas
from whitelist.events import entry_status_changed, firm_status_changed
from whitelist.firm_user_routes import blp as firm_users_blp
from whitelist.models import Firm, Person, Vehicle
from whitelist.routes import blp as whitelist_blp

log = logging.getLogger("greenlane")
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class GreenLaneApi(Api):
    """flask-smorest with our problem+json errors, both in the responses and in the OpenAPI document."""

    def _register_error_handlers(self):
        register_error_handlers(self._app)

    def _register_responses(self):
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = ProblemSchema
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Error (application/problem+json)", "schema": ProblemSchema}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)


    def _register_pagination_header(self):
        # X-Pagination carries JSON, so it is described with `content`, not a (comma-separated) `schema`.
        self.spec.components.header("PAGINATION", {
            "description": "Pagination metadata (JSON)",
            "content": {"application/json": {"schema": PaginationMetadataSchema}}}, lazy=True)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask("greenlane", instance_path=str(Path.cwd() / "instance"))
    load_config(app, config)
    if app.debug and not app.config["DEMO"]:
        # Debug mode serves Werkzeug's debugger, a Python console for whoever reaches an error page.
        raise StartupError("debug mode (FLASK_DEBUG, GREENLANE_DEBUG or flask run --debug) is for demo instances "
                           "only; refusing to start (set GREENLANE_DEMO=1 for a development instance)")
    logging.basicConfig(level=app.config["LOG_LEVEL"],
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    database = db.init_app(app)
    ratelimit.init_app(app)
    core_http.init_app(app)  # UTF-8 JSON answers; deeply nested JSON bodies refused before parsing
    Migrate(app, database, directory=str(MIGRATIONS_DIR))
    app.extensions["areas"] = AreaTree(read_reference_areas())
    data_key = _secret(app, "DATA_KEY")
    app.extensions["pii"] = _personal_data_cipher(app, data_key)
    app.secret_key = _cookie_secret(app, data_key)
    app.extensions["keyring"] = KeyRing(_passphrase(app))
    app.extensions["signed_cache"] = {}
    app.extensions["actor_cache"] = {}
    app.extensions["passwords"] = Passwords.from_config(app.config)
    app.extensions["session_policy"] = SessionPolicy.from_config(app.config)
    app.extensions["signin_throttle"] = Throttle.from_config(app.config)
    # Which area each audited object type lies in, described by its own package (core/audit_areas.py).
    app.extensions["audit_areas"] = {
        **audit_areas.audit_area_resolvers(), **whitelist_audit_areas.audit_area_resolvers(),
        **pass_audit_areas.audit_area_resolvers(), **checkpoint_audit_areas.audit_area_resolvers(),
        **logistics_audit_areas.audit_area_resolvers()}
    # core binds officer and yard accounts to sites, which belong to checkpoints: it finds them through this.
    app.extensions["find_site"] = sites.find_site
    # Every table a per-process cache reads bumps its version when a transaction changes it (core/counters.py);
    # the passes version also covers every table the approval rules read (vehicles: a bulk decision's check).
    counters.watch(database.sessionmaker, {
        Account: counters.ACCOUNTS_VERSION, Site: counters.SITES_VERSION, SigningKey: counters.KEYS_VERSION,
        VehiclePass: counters.PASSES_VERSION, PassDriver: counters.PASSES_VERSION, Firm: counters.PASSES_VERSION,
        Vehicle: counters.PASSES_VERSION, Person: counters.PASSES_VERSION, HealthTest: counters.PASSES_VERSION})
    # Scans from this process's request threads share commits (core/groupcommit.py, docs/performance.md).
    app.extensions["scan_writer"] = GroupCommit()
    # Connected here, not at import: receivers are wired by the composition root only.
    firm_status_changed.connect(pass_services.on_firm_status_changed)
    entry_status_changed.connect(pass_services.on_entry_status_changed)
    pass_accepted.connect(logistics_services.on_pass_accepted)
    drivers_tested_positive.connect(health.drivers_tested_positive)
    route_problems.connect(sites.route_problems)

    api = GreenLaneApi(app, spec_kwargs={"components": {"securitySchemes": {
        "bearer": {"type": "http", "scheme": "bearer"}}}})
    for blp in (core_blp, probes_blp, whitelist_blp, firm_users_blp, passes_blp, checkpoints_blp, logistics_blp):
        api.register_blueprint(blp)
    for page in (pass_print.bp, scan.bp, yard.bp):
        app.register_blueprint(page)
    web_pages.init_app(app)  # CSRF on the forms of every page blueprint
    web_shell.init_app(app)  # web shell: languages, landing and lookup pages, headers of every HTML page
    web_auth.init_app(app)  # sign-in, second factor, account, sign-out; the session cookie
    app.register_blueprint(portal.bp)  # the firm's portal, /portal/...
    app.register_blueprint(console.bp)  # the regulators' console, /console/...
    core_http.require_json_bodies(app)  # after every route is registered
    db.retry_reads(app)  # after every route is registered
    cli.register(app)
    app.cli.add_command(demo_cli)
    app.cli.add_command(logistics_cli)
    app.cli.add_command(pii_cli)
    _trust_proxies(app)  # last, with the log line below: a start refused for a missing secret says only that
    ratelimit.log_storage(app)
    return app


class StartupError(click.ClickException):
    """A missing or unusable secret: the CLI prints this one line and exits with code 1 (no traceback)."""


def _trust_proxies(app: Flask) -> None:
    """GREENLANE_TRUSTED_PROXIES=<hops>: that many reverse proxies in front append to X-Forwarded-For and
    set X-Forwarded-Proto; the client address is then the one they saw. Off by default, because without
    a proxy a client could otherwise name any address it likes."""
    raw = app.config.get("TRUSTED_PROXIES") or 0
    try:
        hops = int(raw)
    except (TypeError, ValueError):
        hops = -1
    if not 0 <= hops <= 10:
        raise StartupError("GREENLANE_TRUSTED_PROXIES must be the number of reverse proxies in front (0-10)")
    if hops:
        # Only X-Forwarded-For and -Proto: nginx sets both on every request; a Host header a proxy merely
        # passes on would be the client's own.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0, x_prefix=0)
        log.info("trusting %d reverse prox%s for the client address", hops, "y" if hops == 1 else "ies")


def _secret(app: Flask, name: str) -> bytes:
    value = app.config.get(name)
    if value:
        try:
            return decode_key(value, f"GREENLANE_{name}")
        except ValueError as e:
            raise StartupError(f"{e}; refusing to start") from None
    if not app.config["DEMO"]:
        raise StartupError(f"GREENLANE_{name} is not set; refusing to start outside demo mode "
                           "(set GREENLANE_DEMO=1 for a development instance)")
    log.warning("GREENLANE_%s is not set: using the published development key (demo mode only)", name)
    return demo_key(name)


def _personal_data_cipher(app: Flask, data_key: bytes) -> PersonalDataCipher:
    """The current pair of personal-data keys (GREENLANE_PII_KEY_VERSION, default 1) and, while they rotate,
    the previous pair (GREENLANE_PREVIOUS_DATA_KEY and GREENLANE_PREVIOUS_INDEX_KEY, version - 1)."""
    previous = None
    if app.config.get("PREVIOUS_DATA_KEY") or app.config.get("PREVIOUS_INDEX_KEY"):
        if not (app.config.get("PREVIOUS_DATA_KEY") and app.config.get("PREVIOUS_INDEX_KEY")):
            raise StartupError("GREENLANE_PREVIOUS_DATA_KEY and GREENLANE_PREVIOUS_INDEX_KEY go together "
                               "(the pair in use before the rotation); refusing to start")
        previous = (_secret(app, "PREVIOUS_DATA_KEY"), _secret(app, "PREVIOUS_INDEX_KEY"))
    try:
        return PersonalDataCipher(data_key, _secret(app, "INDEX_KEY"), version=int(app.config["PII_KEY_VERSION"]),
                                  previous=previous)
    except ValueError as e:
        raise StartupError(f"personal-data keys: {e}; refusing to start") from None


def _cookie_secret(app: Flask, data_key: bytes) -> bytes:
    """The key that signs Flask's own cookie (CSRF tokens, flashed messages): GREENLANE_SECRET_KEY, or
    derived from the data key so a deployment has one secret fewer to manage."""
    if app.config.get("SECRET_KEY"):
        return str(app.config["SECRET_KEY"]).encode("utf-8")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"greenlane flask cookie").derive(data_key)


def _passphrase(app: Flask) -> bytes:
    value = app.config.get("KEY_PASSPHRASE")
    if value:
        return str(value).encode("utf-8")
    if not app.config["DEMO"]:
        raise StartupError("GREENLANE_KEY_PASSPHRASE is not set; refusing to start outside demo mode "
                           "(set GREENLANE_DEMO=1 for a development instance)")
    log.warning("GREENLANE_KEY_PASSPHRASE is not set: signing keys use the development passphrase (demo mode only)")
    return b"greenlane-demo-passphrase-not-secret"

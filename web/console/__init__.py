"""The regulators' console, /console/...: regulators decide on firms and passes in their own area, set risk
levels, work the alerts inbox, trace scans and handovers and read the audit trail; auditors read all of it
and decide nothing; admins work the whole city.

Every view calls the domain services with the signed-in person's Actor, as the API does with a token's;
the services decide what lies in the caller's area (an object outside it is a 404, as in the API)."""
from flask import Blueprint, current_app

from core.accounts import Role
from core.db import get_session
from web.auth import current_user, signed_in
from web.i18n import _l
from web.pages import init_page_blueprint

bp = Blueprint("console", __name__, url_prefix="/console")
init_page_blueprint(bp)

console_page = signed_in(Role.REGULATOR, Role.ADMIN, Role.AUDITOR)  # reading
deciding_page = signed_in(Role.REGULATOR, Role.ADMIN)  # deciding: auditors read but never decide


def actor():
    """The signed-in regulator, admin or auditor, as the services know callers."""
    return current_user().actor


def can_decide() -> bool:
    """Whether the signed-in person may act (templates hide the buttons of those who may not)."""
    user = current_user()
    return user is not None and user.account.role in (Role.REGULATOR, Role.ADMIN)


def areas():
    return current_app.extensions["areas"]


def cipher():
    return current_app.extensions["pii"]


def db():
    return get_session()


# The console's sections, as big tabs under the header; a section shows once its page is registered.
SECTIONS = (("console.queue", _l("待审批通行证")), ("console.firm_queue", _l("待审核企业")),
            ("console.zones", _l("风险等级")), ("console.alerts", _l("预警")),
            ("console.trace", _l("流调查询")), ("console.audit", _l("审计记录")),
            ("console.dashboard", _l("统计图表")))


@bp.app_context_processor
def _console_globals():
    return {"console_sections": lambda: SECTIONS, "console_can_decide": can_decide}


# The pages register themselves on `bp` when imported (one import line per module, below).
from web.console import dashboard  # noqa: E402,F401  (charts: /console/dashboard)
from web.console import firms, records, zones  # noqa: E402,F401  (C2: firms, people, vehicles, risk zones)
from web.console import alerts, audit, trace  # noqa: E402,F401  (alerts inbox, audit trail and chain check, tracing)
from web.console import queue, pass_file  # noqa: E402,F401  (C1: the pending-pass queue and one pass)

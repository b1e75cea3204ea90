"""The firm's portal, /portal/...: a firm's people sign in and manage their firm's white list and passes.

Every view calls the domain services with the signed-in person's Actor, as the API does with a token's;
the services decide what the firm may see (another firm's object is a 404, as in the API)."""
from flask import Blueprint, current_app

from core.accounts import Role
from core.db import get_session
from web.auth import current_user, signed_in
from web.i18n import _l
from web.pages import init_page_blueprint
from whitelist.models import FirmStatus

bp = Blueprint("portal", __name__, url_prefix="/portal")
init_page_blueprint(bp)

firm_page = signed_in(Role.FIRM)  # every portal page but the public application form


def actor():
    """The signed-in firm user, as the services know callers."""
    return current_user().actor


def firm_id() -> int:
    return current_user().account.firm_id


def areas():
    return current_app.extensions["areas"]


def cipher():
    return current_app.extensions["pii"]


def db():
    return get_session()


SECTIONS = (("portal.dashboard", _l("概览")), ("portal.people", _l("人员")), ("portal.vehicles", _l("车辆")),
            ("portal.passes", _l("通行证")), ("portal.users", _l("同事账号")))
FIRM_STATUS_NAMES = {FirmStatus.PENDING: _l("待审核：主管部门审核通过后才能申请通行证"),
                     FirmStatus.APPROVED: _l("已列入白名单"),
                     FirmStatus.SUSPENDED: _l("已暂停：名单已冻结，通行证已停用"),
                     FirmStatus.REJECTED: _l("申请未通过：请按主管部门说明的原因重新申请"),
                     FirmStatus.REVOKED: _l("已撤销：已移出白名单，通行证全部吊销")}


@bp.app_context_processor
def _portal_globals():
    return {"portal_sections": lambda: SECTIONS, "firm_status_names": FIRM_STATUS_NAMES}


# The pages register themselves on `bp` when imported.
from web.portal import dashboard  # noqa: E402,F401
from web.portal import pass_apply, passes  # noqa: E402,F401
from web.portal import firm, imports, people, users, vehicles  # noqa: E402,F401

"""The relay-yard board page, /yards/ID; its data comes from the board API with the token kept by /scan.
The page's words come from the catalog: the template's through gettext, the script's as a JSON block."""
from flask import Blueprint, render_template, request

from core.db import get_session
from logistics import services
from logistics.errors import YardNotFound
from logistics.handovers import HandoverState
from web.i18n import _, _l

bp = Blueprint("yard", __name__, template_folder="templates", static_folder="static/yard",
               static_url_path="/static/yard")
# The board's cards show a load's state; the clerk reads it in words, not as the API's code.
STATE_NAMES = {
    HandoverState.BOOKED: _l("已预约"), HandoverState.ARRIVED: _l("已到达"), HandoverState.SEALS_OK: _l("封条完好"),
    HandoverState.HELD: _l("扣留"), HandoverState.DISINFECTED: _l("已消杀"), HandoverState.DROPPED: _l("已落箱"),
    HandoverState.INBOUND_DEPARTED: _l("来车已离场"), HandoverState.COLLECTED: _l("已提箱"),
    HandoverState.OUTBOUND_DEPARTED: _l("去车已离场"), HandoverState.COMPLETED: _l("已完成"),
    HandoverState.EXCEPTION: _l("异常"),
}


def yard_texts() -> dict:
    """The texts the board's script shows, in the page's language (%(name)s: a value it fills in)."""
    return {
        "sign_in_first": _("请先登录：输入令牌，或在本设备的扫码页登录一次。"),
        "updated": _("更新于 %(time)s"),
        "offline": _("无法连接服务器：%(reason)s"),
        "refused": _("服务器拒绝：%(status)s %(reason)s"),
        "columns": [_("编号"), _("状态"), _("箱号"), _("到达"), _("应返")], "none": _("暂无"),
        "states": {state.value: str(name) for state, name in STATE_NAMES.items()},
    }


@bp.get("/yards/<int(max=2147483647):yard_id>")
def yard_page(yard_id):
    """The yard board page; it reads the board API with the token kept by /scan."""
    services.get_yard(get_session(), yard_id)
    return render_template("yard/yard.html", yard_id=yard_id, texts=yard_texts())


@bp.errorhandler(YardNotFound)
def yard_not_found(error):
    """A short 404 page instead of an empty board for a site that does not exist or is not a relay yard."""
    return render_template("yard/not_found.html", yard_id=request.view_args.get("yard_id")), 404

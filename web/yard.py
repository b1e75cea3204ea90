"""The yard clerk's station: the board, /yards/ID, and one load's page, /yards/ID/loads/HANDOVER_ID, with its
steps and its printable custody record. The pages are shells: their script reads and writes through the
logistics API with the token kept by /scan (one storage key, web/static/scan/store.js), so a step recorded
offline is queued and uploaded when the network returns. The words come from the catalog: the templates'
through gettext, the scripts' as a JSON block; the steps each state allows come from logistics.handovers."""
from flask import Blueprint, current_app, render_template, request

from core.db import get_session
from logistics import services
from logistics.errors import YardNotFound
from logistics.handovers import EventType, HandoverState, next_steps
from web.i18n import _, _l
from web.scan import SCANNER_CSP, scanner_texts

bp = Blueprint("yard", __name__, template_folder="templates", static_folder="static/yard",
               static_url_path="/static/yard")
ID = "<int(max=2147483647):yard_id>"
# The clerk reads a load's state in words, not as the API's code.
STATE_NAMES = {
    HandoverState.BOOKED: _l("已预约"), HandoverState.ARRIVED: _l("已到达"), HandoverState.SEALS_OK: _l("封条完好"),
    HandoverState.HELD: _l("扣留"), HandoverState.DISINFECTED: _l("已消杀"), HandoverState.DROPPED: _l("已落箱"),
    HandoverState.INBOUND_DEPARTED: _l("来车已离场"), HandoverState.COLLECTED: _l("已提箱"),
    HandoverState.OUTBOUND_DEPARTED: _l("去车已离场"), HandoverState.COMPLETED: _l("已完成"),
    HandoverState.EXCEPTION: _l("异常"),
}
# A step as the custody record names it, and as the button that records it says.
EVENT_NAMES = {
    EventType.BOOKED: _l("预约"), EventType.ARRIVED: _l("入场"), EventType.SEALS_CHECKED: _l("核对封条"),
    EventType.DISINFECTED: _l("消杀"), EventType.DROPPED: _l("落箱"), EventType.INBOUND_DEPARTED: _l("来车离场"),
    EventType.COLLECTED: _l("提箱"), EventType.OUTBOUND_DEPARTED: _l("去车离场"), EventType.COMPLETED: _l("完成交接"),
    EventType.EXCEPTION: _l("登记异常"),
}
ACTION_NAMES = {
    EventType.ARRIVED: _l("扫司机通行证入场"), EventType.SEALS_CHECKED: _l("核对封条"),
    EventType.DISINFECTED: _l("已消杀"), EventType.DROPPED: _l("已落箱"), EventType.INBOUND_DEPARTED: _l("来车已离场"),
    EventType.COLLECTED: _l("扫提箱司机通行证"), EventType.OUTBOUND_DEPARTED: _l("去车已离场"),
    EventType.COMPLETED: _l("完成交接"), EventType.EXCEPTION: _l("登记异常"),
}
# Why the server refused a step, by the problem's code or by the field it names, in the clerk's words.
REFUSAL_TEXTS = {
    "event_not_allowed": _l("这一步现在不能做：货物状态是“%(state)s”。现在可以做：%(allowed)s。"),
    "not_whitelisted": _l("收货企业未通过白名单审核或已被暂停，不能提箱。请联系主管部门。"),
    "forbidden": _l("本账号不能在这个接驳场登记。只有本场站的工作人员可以登记（主管部门可以登记异常）。"),
    "handover_not_found": _l("找不到这票货物。请回到看板重新选择。"),
    "unauthorized": _l("令牌无效或已吊销，请重新登录。"),
}
FIELD_TEXTS = {
    "qr": _l("请扫描司机的通行证二维码。"),
    "seals_seen": _l("请输入看到的封条号。"),
    "reason": _l("请写明异常原因。"),
    "outbound": _l("收货企业还没有指定提箱的司机和车辆，请联系收货企业在系统中指定。"),
    "at": _l("登记时间不对：请检查本设备的时钟，或先上传之前排队的步骤。"),
    "collecting_firm_id": REFUSAL_TEXTS["not_whitelisted"],
}
# The reasons the yard adds to the checkpoint rules when a driver scans in (logistics.services._clear_driver).
YARD_REASONS = {
    "pass_not_for_this_leg": _l("通行证不是这票货物指定的车辆或司机"),
    "pass_not_for_this_route": _l("通行证的线路不是这票货物的口岸和接驳场"),
}


def station_texts() -> dict:
    """Every text the station's scripts show, in the page's language, and the scanner's words for the
    verdict it shares with /scan. %(name)s marks a value the script fills in."""
    texts = scanner_texts()
    texts["reasons"] = {**texts["reasons"], **{code: str(text) for code, text in YARD_REASONS.items()}}
    return {
        **texts,
        "states": {state.value: str(name) for state, name in STATE_NAMES.items()},
        "events": {event.value: str(name) for event, name in EVENT_NAMES.items()},
        "actions": {event.value: str(name) for event, name in ACTION_NAMES.items()},
        # The state machine's steps (logistics.handovers), so a step queued offline shows what may follow it.
        "steps": {state.value: next_steps(state) for state in HandoverState},
        "refusals": {code: str(text) for code, text in REFUSAL_TEXTS.items()},
        "fields": {name: str(text) for name, text in FIELD_TEXTS.items()},
        "refused": _("服务器拒绝：%(reason)s"),
        "refused_queued": _("%(time)s 排队的“%(step)s”（%(load)s）被服务器拒绝：%(reason)s"),
        "sign_in_first": _("请先登录：输入本场站的令牌（在扫码页登录过的也可以）。"),
        "wrong_account": _("此账号不能使用接驳场工作台。请使用本场站或主管部门的令牌。"),
        "read_only": _("只读：只有本场站的工作人员可以登记步骤。"),
        "updated": _("更新于 %(time)s"),
        "offline_board": _("离线：显示的是 %(time)s 的数据。登记的步骤会排队，联网后按顺序上传。"),
        "cannot_reach": _("无法连接服务器：%(reason)s"),
        "columns": [_("编号"), _("车牌"), _("箱号"), _("货物"), _("封条"), _("状态"), _("持续"), _("下一步")],
        "overdue_columns": [_("编号"), _("车牌"), _("箱号"), _("逾期"), _("司机所属企业"), _("应返时间")],
        "none": _("暂无"), "open": _("打开"), "view": _("查看"),
        "minutes": _("%(m)s 分钟"), "hours": _("%(h)s 小时 %(m)s 分钟"),
        "held_why": _("封条不符：缺少 %(missing)s；多出 %(unexpected)s。"),
        "held_release": _("放行：主管部门核查后，由本场站工作人员重新核对封条，封条一致即放行。"
                          "也可以由本场站工作人员或主管部门登记异常，结束这票货物。"),
        "overdue": _("来车司机逾期 %(duration)s 未从口岸出境 · 司机所属企业：%(firm)s"),
        "recorded": _("已登记：%(step)s。"),
        "queued": _("已排队：%(step)s。联网后自动上传。"),
        "queued_seals": _("封条核对已排队：联网上传后由服务器判定是否一致。"),
        "pending": _("待上传"),
        "not_this_yard": _("这票货物不属于本接驳场。"),
        "seals_hint": _("多个封条号用空格或逗号分开"),
        "download_failed": _("下载失败：%(reason)s"),
        "none_seen": _("无"),
    }


def _page(template: str, **values):
    response = current_app.make_response(render_template(template, texts=station_texts(), **values))
    # The same policy as the scanner: the page keeps an API token and may use the camera.
    response.headers["Content-Security-Policy"] = SCANNER_CSP
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get(f"/yards/{ID}")
def yard_page(yard_id):
    """The station's board: loads waiting, held, in progress and overdue, each with its next step."""
    yard = services.get_yard(get_session(), yard_id)
    return _page("yard/yard.html", yard_id=yard.id)


@bp.get(f"/yards/{ID}/loads/<int(max=2147483647):handover_id>")
def load_page(yard_id, handover_id):
    """One load: what to compare, the steps its state allows, and its custody record (printable)."""
    yard = services.get_yard(get_session(), yard_id)
    return _page("yard/load.html", yard_id=yard.id, handover_id=handover_id)


@bp.errorhandler(YardNotFound)
def yard_not_found(error):
    """A short 404 page instead of an empty board for a site that does not exist or is not a relay yard."""
    return render_template("yard/not_found.html", yard_id=request.view_args.get("yard_id")), 404

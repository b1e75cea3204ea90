"""The console's firms: the queue of applications (and every firm of the area by status, with a search),
a firm's white-list record with its people, vehicles and passes, and the decisions on it (approve, reject,
suspend, reinstate), each shown with its effect on passes before the regulator confirms."""
from flask import abort, flash, redirect, render_template, request, url_for

from core.clock import utcnow
from core.db import Page
from core.errors import Forbidden, NotFound
from passes import services as pass_services
from passes.effects import passes_changed_by_firm_action
from web.console import actor, areas, bp, cipher, console_page, db, deciding_page
from web.console.decisions import ENTRY_STATUS_NAMES, FIRM_STATUS_NAMES, posted_reason
from web.i18n import _, _l, current_language
from web.portal.dashboard import PASS_STATUS_NAMES
from web.portal.forms import page_count, page_of_request
from web.portal.names import CATEGORY_NAMES, ID_TYPE_NAMES, KIND_NAMES, VEHICLE_KIND_NAMES
from whitelist import queue
from whitelist import services as whitelist_services
from whitelist.models import FIRM_TRANSITIONS, Category, FirmStatus

STATUS_TABS = tuple(FirmStatus)
AGE_NAMES = {1: _l("等待超过 1 天"), 3: _l("等待超过 3 天"), 7: _l("等待超过 7 天")}
# What each decision is called on its button and its confirmation page, and what it does to passes.
ACTIONS = {
    "approve": (_l("批准列入白名单"), _l("批准后，该企业即可申请通行证。")),
    "reject": (_l("驳回申请"), _l("驳回后，该企业不能申请通行证；企业能看到驳回原因。")),
    "suspend": (_l("暂停企业"), _l("暂停后，企业名单冻结，下列有效通行证全部停用，检查站扫码即拒绝。")),
    "reinstate": (_l("恢复企业"), _l("恢复后，下列因暂停企业而停用的通行证随之恢复；因其他原因停用的不恢复。")),
    "revoke": (_l("撤销白名单资格"), _l("撤销后不能恢复：企业移出白名单，下列有效和已停用的通行证全部吊销，"
                                        "检查站扫码即拒绝。")),
}
LIST_LIMIT = 100  # people, vehicles and passes shown on a firm's page; the rest are counted


def _queue_filters() -> tuple[queue.QueueFilters, dict]:
    """The queue's filters from the query string; a value that is not an option is ignored, not an error."""
    args = request.args
    status = args.get("status", FirmStatus.PENDING.value)
    district = args.get("district", "")
    category = args.get("category", "")
    age = args.get("age", "")
    q = args.get("q", "")[:100].strip()
    filters = queue.QueueFilters(
        status=FirmStatus(status) if status in FirmStatus._value2member_map_ else None,
        district=district if district in queue.queue_districts(actor(), areas()) else None,
        category=Category(category) if category in Category._value2member_map_ else None,
        age_days=int(age) if age.isdigit() and int(age) in queue.AGE_DAYS else None,
        q=q or None)
    kept = {"status": filters.status.value if filters.status else "all", "district": filters.district,
            "category": filters.category.value if filters.category else None, "age": filters.age_days, "q": q or None}
    return filters, kept


@bp.get("/firms")
@console_page
def firm_queue():
    """Pending firms of the area, oldest first, filterable; the other statuses and a search beside them."""
    filters, kept = _queue_filters()
    now = utcnow()
    firms, total = queue.firm_queue(db(), actor=actor(), areas=areas(), filters=filters, page=page_of_request(),
                                    now=now)
    counts = queue.queue_counts(db(), actor=actor(), areas=areas(), filters=filters, now=now)
    return render_template("console/firms.html", section="console.firm_queue", firms=firms, total=total,
                           page=page_of_request().number, pages=page_count(total), kept=kept, counts=counts,
                           districts=queue.queue_districts(actor(), areas()), status_tabs=STATUS_TABS,
                           status_names=FIRM_STATUS_NAMES, category_names=CATEGORY_NAMES, age_names=AGE_NAMES,
                           area_name=area_name, area_label=area_label, now=now)


@bp.get("/firms/<int(max=2147483647):firm_id>")
@console_page
def firm_detail(firm_id):
    """A firm's white-list record: the firm, its people (masked) and vehicles, its passes by status."""
    firm = _readable_firm(firm_id)
    now = utcnow()
    people, people_total = whitelist_services.list_people(db(), actor=actor(), areas=areas(), cipher=cipher(),
                                                          filters={"firm_id": firm.id}, page=_first(LIST_LIMIT))
    vehicles, vehicles_total = whitelist_services.list_vehicles(db(), actor=actor(), areas=areas(),
                                                                filters={"firm_id": firm.id}, page=_first(LIST_LIMIT))
    passes, passes_total = pass_services.list_passes(db(), actor=actor(), areas=areas(), filters={"firm": firm.id},
                                                     page=_first(LIST_LIMIT), now=now)
    by_status: dict = {}
    for vpass in passes:
        by_status.setdefault(vpass.reported_status, []).append(vpass)
    return render_template("console/firm.html", section="console.firm_queue", firm=firm,
                           area_path=areas().path(firm.area_code), people=people, people_total=people_total,
                           vehicles=vehicles, vehicles_total=vehicles_total, passes_by_status=by_status,
                           passes_total=passes_total, actions=_allowed_actions(firm), action_names=ACTIONS,
                           **_names())


@bp.route("/firms/<int(max=2147483647):firm_id>/decision", methods=["GET", "POST"])
@deciding_page
def firm_decision(firm_id):
    """Confirm one decision on a firm: the passes it changes are listed first; a reason is required
    (for an approval it is optional). Nothing changes until the regulator confirms."""
    firm = _readable_firm(firm_id)
    action = request.values.get("action", "")
    if action not in ACTIONS:
        abort(404)
    reason_text, errors = "", {}
    if request.method == "POST":
        reason_text, reason, errors = posted_reason(required=action != "approve")
        if not errors:
            whitelist_services.change_firm_status(db(), firm.id, action, actor=actor(), areas=areas(), now=utcnow(),
                                                  reason=reason)
            flash(_("已完成：%(action)s（%(firm)s）", action=ACTIONS[action][0], firm=firm.name), "success")
            return redirect(url_for("console.firm_detail", firm_id=firm.id), code=303)
    affected = passes_changed_by_firm_action(db(), firm.id, action)
    html = render_template("console/decision.html", section="console.firm_queue", subject=firm.name,
                           subject_status=FIRM_STATUS_NAMES[firm.status],
                           back=url_for("console.firm_detail", firm_id=firm.id),
                           action_url=url_for("console.firm_decision", firm_id=firm.id), action=action,
                           title=ACTIONS[action][0], effect=ACTIONS[action][1], affected=affected,
                           allowed=action in _allowed_actions(firm), reason_required=action != "approve",
                           reason=reason_text, errors=errors, danger=action in ("reject", "suspend", "revoke"),
                           **_names())
    return html, 422 if errors else 200


def _readable_firm(firm_id: int):
    """A firm outside the reader's area is a 404, as an unknown one: its existence is not for them."""
    try:
        return whitelist_services.get_firm(db(), firm_id, actor=actor(), areas=areas())
    except Forbidden as e:
        raise NotFound("not found") from e


def _allowed_actions(firm) -> list[str]:
    return [a for a, (sources, _target) in FIRM_TRANSITIONS.items() if firm.status in sources and a in ACTIONS]


def _first(size: int) -> Page:
    return Page(number=1, size=size)


def area_name(code: str) -> str:
    """An area's name in the reader's language (the code itself if it is unknown)."""
    record = areas().get(code)
    if record is None:
        return code
    return record.name_zh if current_language() == "zh" else record.name_en


def area_label(code: str) -> str:
    """A firm's area as the reader looks for it: its district, then its street (the city left out)."""
    return " › ".join(area_name(r.code) for r in areas().path(code) if r.parent_code in areas()) or area_name(code)


def _names() -> dict:
    return {"firm_status_names": FIRM_STATUS_NAMES, "entry_status_names": ENTRY_STATUS_NAMES,
            "pass_status_names": PASS_STATUS_NAMES, "category_names": CATEGORY_NAMES, "kind_names": KIND_NAMES,
            "id_type_names": ID_TYPE_NAMES, "vehicle_kind_names": VEHICLE_KIND_NAMES, "area_name": area_name}

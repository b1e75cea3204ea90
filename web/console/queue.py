"""The pending-pass queue, /console/: the passes waiting in the regulator's area, oldest first, filtered
by district, street, category, firm and waiting time with a count beside every choice; and bulk decisions
on the ticked rows or on every pass that matches the filters (one request to passes/decisions.py)."""
from datetime import datetime, timedelta

from flask import current_app, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError

from core.areas import AreaLevel
from core.clock import utcnow
from core.db import Page
from passes import decisions, review
from passes.rules import QUEUE_AGES
from passes.schemas import DecisionsIn, QueueArgs
from web.console import actor, areas, bp, console_page, db, deciding_page
from web.i18n import _, _l, current_language
from web.pages import error_page
from web.portal.passes import area_name, local_time
from web.shell import CATEGORY_NAMES

PAGE_SIZE = 25
MAX_PAGE = 10_000
FILTER_NAMES = ("district", "street", "category", "firm", "older_than")
REFUSAL_NAMES = {"not_found": _l("找不到此通行证"), "outside_area": _l("不在您的辖区内"),
                 "not_pending": _l("已不是待审批状态（可能已有人处理）"),
                 "window_over": _l("有效期已过，需企业重新申请"),
                 "not_cleared": _l("企业、车辆或司机未通过白名单或健康核验")}


@bp.get("/")
@console_page
def queue():
    """Pending passes in the signed-in person's area, oldest first, with counts per filter value."""
    form = {name: request.args.get(name, "")[:40] for name in FILTER_NAMES}
    try:
        args = QueueArgs().load({k: v for k, v in form.items() if v.strip()})
    except ValidationError:
        return _bad_filter()
    now = utcnow()
    filters = _filters(args, now)
    session, who, tree = db(), actor(), areas()
    counts = review.count_queue(session, actor=who, areas=tree, filters=filters, now=now)
    number = _page_number()
    items, total = review.list_queue(session, actor=who, areas=tree, filters=filters,
                                     page=Page(number, PAGE_SIZE), now=now)
    firms = review.firm_names(session, items)
    own = review.own_area(who)
    return render_template(
        "console/queue.html", section="console.queue", form=form, counts=counts, total=total, page=number,
        pages=(total + PAGE_SIZE - 1) // PAGE_SIZE, rows=[_row(p, firms, now) for p in items],
        own_name=area_name(own), choices=_choices(counts, own, form), bulk=decisions.may_decide_in_bulk(who),
        pinned=_pinned(args, filters), query={k: v for k, v in form.items() if v})


def _filters(args: dict, now: datetime) -> dict:
    """The queue filters of the form: the street if one is chosen, else the district; a waiting time as
    the instant before which the application came in."""
    filters = {k: args[k] for k in ("category", "firm") if k in args}
    if args.get("street") or args.get("district"):
        filters["area"] = args.get("street") or args["district"]
    if "older_than" in args:
        filters["created_before"] = now - timedelta(hours=args["older_than"])
    return filters


def _pinned(args: dict, filters: dict) -> dict:
    """The filters as hidden fields of the bulk form: "all that match" decides on the passes shown now,
    so the waiting time is pinned to the instant this page was made."""
    pinned = {}
    if "category" in args:
        pinned["category"] = args["category"].value
    if "firm" in args:
        pinned["firm"] = str(args["firm"])
    if "area" in filters:
        pinned["area"] = filters["area"]
    if "created_before" in filters:
        pinned["created_before"] = filters["created_before"].isoformat()
    return pinned


def _choices(counts: review.QueueCounts, own: str, form: dict) -> dict:
    """The options of each filter, with counts: the districts of the caller's area (or its own district),
    the streets of the chosen district, categories, the busiest firms, waiting times."""
    tree = areas()
    zh = current_language() == "zh"
    own_record = tree.get(own)
    if own_record.level is AreaLevel.STREET:
        districts, district = [], own_record.parent_code
    elif own_record.level is AreaLevel.DISTRICT:
        districts, district = [], own
    else:
        districts = [(code, n) for code, n in sorted(counts.districts.items())]
        district = form["district"] if form["district"] in counts.districts or form["district"] in tree else ""
    streets = [(code, counts.streets.get(code, 0)) for code in sorted(
        c for c in tree.descendants(district) if tree.get(c).level is AreaLevel.STREET)] if district else []
    if own_record.level is AreaLevel.STREET:
        streets = []
    name = (lambda code: tree.get(code).name_zh if zh else tree.get(code).name_en)
    return {
        "districts": [(code, name(code), n) for code, n in districts],
        "streets": [(code, name(code), n) for code, n in streets if n or code == form["street"]],
        "categories": [(c.value, CATEGORY_NAMES[c], n) for c, n in sorted(counts.categories.items())],
        "firms": [(str(fid), fname, n) for fid, fname, n in counts.firms],
        "ages": [(str(h), h, counts.older_than[h]) for h in QUEUE_AGES],
        "city_wide": counts.city_wide if own_record.level is AreaLevel.CITY else 0,
    }


def _row(vpass, firms: dict, now: datetime) -> dict:
    return {"id": vpass.id, "plate": vpass.plate, "hk_plate": vpass.hk_plate, "firm": firms.get(vpass.firm_id, ""),
            "category": CATEGORY_NAMES[vpass.category], "scope": [area_name(c) for c in vpass.scope],
            "applied": local_time(vpass.created_at), "waited": waited(now - vpass.created_at),
            "valid": f"{local_time(vpass.valid_from)} — {local_time(vpass.valid_until)}"}


def waited(span: timedelta) -> str:
    """How long an application has waited, as a person says it: 40 分钟, 3 小时 20 分, 2 天 5 小时."""
    minutes = max(int(span.total_seconds() // 60), 0)
    days, hours, mins = minutes // 1440, minutes // 60 % 24, minutes % 60
    if days:
        return _("%(d)s 天 %(h)s 小时", d=days, h=hours)
    if hours:
        return _("%(h)s 小时 %(m)s 分", h=hours, m=mins)
    return _("%(m)s 分钟", m=mins)


def _page_number() -> int:
    # Page numbers come from the pager's links: a mangled one shows the first page, not an error.
    value = request.args.get("page", "1")
    return min(max(int(value), 1), MAX_PAGE) if value.isdigit() else 1


def _bad_filter():
    return error_page(422, _("筛选条件无效"), _("请从页面上的选项中选择筛选条件，或点击“清除筛选”。"))


# ---- bulk decisions ------------------------------------------------------------------------------------

@bp.post("/decisions")
@deciding_page
def decide():
    """Approve or reject the ticked passes, or every pass matching the pinned filters, with one reason.
    If some cannot be decided, nothing changes: they are listed with their reasons and the regulator may
    confirm the rest. Afterwards, how many were approved or rejected."""
    fields = {name: request.form.get(name, "").strip()[:600] for name in (
        "action", "reason", "which", "area", "category", "firm", "created_before")}
    ids = [i.strip() for i in request.form.getlist("ids") if i.strip()][:decisions.MAX_ITEMS + 1]
    payload = {"action": fields["action"], "confirm": request.form.get("confirm") == "1"}
    if fields["reason"]:
        payload["reason"] = fields["reason"]
    if fields["which"] == "all":
        payload["filter"] = {k: fields[k] for k in ("area", "category", "firm", "created_before") if fields[k]}
    else:
        payload["ids"] = ids
    try:
        data = DecisionsIn().load(payload)
    except ValidationError as e:
        return _refused_input(e.messages, fields)
    who, tree, now = actor(), areas(), utcnow()
    filters = None
    if "filter" in data:
        filters = review.queue_filters(actor=who, areas=tree, filters=data["filter"])
    try:
        outcome = decisions.decide_passes(db(), ids=data.get("ids"), filters=filters,
                                          action=decisions.Action(data["action"]), reason=data.get("reason"),
                                          confirm=data["confirm"], actor=who, areas=tree, ring=_ring(), now=now)
    except decisions.DecisionsRefused as e:
        refused = e.members["refused"]
        plates = review.plates_of(db(), [r["id"] for r in refused], actor=who, areas=tree, now=now)
        return render_template(
            "console/decisions.html", section="console.queue", action=data["action"], reason=fields["reason"],
            accepted=e.members["accepted"], refused=[_refusal(r, plates) for r in refused], fields=fields,
            ids=data.get("ids") or [], back=_back(),
            carried={k: v[:40] for k, v in request.form.items() if k.startswith("q_")}), 409
    approved = sum(1 for d in outcome if d.outcome is decisions.Outcome.APPROVED)
    rejected = sum(1 for d in outcome if d.outcome is decisions.Outcome.REJECTED)
    skipped = sum(1 for d in outcome if d.outcome is decisions.Outcome.REFUSED)
    if data["action"] == "approve":
        flash(_("已批准并签发 %(n)s 张通行证。", n=approved), "success")
    else:
        flash(_("已对 %(n)s 张通行证作出不予通过决定。", n=rejected), "success")
    if skipped:
        flash(_("另有 %(n)s 张未处理（原因已在上一步列出），仍在队列中或已由他人处理。", n=skipped), "error")
    if not outcome:
        flash(_("没有符合条件的待审批通行证，未作任何改动。"), "error")
    return redirect(_back(), code=303)


def _refusal(item: dict, plates: dict) -> dict:
    code, _sep, detail = item["reason"].partition(": ")
    return {"id": item["id"], "plate": plates.get(item["id"], ""), "why": REFUSAL_NAMES.get(code, code),
            "detail": detail}


def _refused_input(messages: dict, fields: dict):
    """The form could not be loaded: say what to do; nothing was changed."""
    if "reason" in messages:
        text = _("不予通过必须填写原因（企业会看到）。请返回填写原因后再提交。")
    elif "ids" in messages and fields["which"] != "all":
        text = _("请先勾选要处理的通行证，或选择“全部符合筛选条件的”。")
    elif "action" in messages:
        text = _("请点击“批准”或“不予通过”按钮提交。")
    else:
        text = _("筛选条件无效，请返回队列重新筛选后再提交。")
    return error_page(422, _("未作任何改动"), text)


def _back() -> str:
    """The queue with the filters the form came from (only the queue's own filter names are kept)."""
    query = {k: v[:40] for k, v in request.form.items() if k.startswith("q_") and v}
    return url_for("console.queue", **{k[2:]: v for k, v in query.items() if k[2:] in FILTER_NAMES})


def _ring():
    return current_app.extensions["keyring"]

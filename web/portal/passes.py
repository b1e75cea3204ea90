"""The firm's passes in the portal: the list (status tabs, plate search, QR), one pass with its history,
and windscreen sheets as one PDF. Applying (one pass or a fleet) lives in web/portal/pass_apply.py."""
import unicodedata
from datetime import datetime, timedelta, timezone

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError

from checkpoints.sites import list_route_ends
from core.areas import AreaLevel
from core.clock import utcnow
from core.db import Page
from core.errors import Forbidden
from passes import services, sheets
from passes.errors import PassNotFound
from passes.models import PassStatus, SuspensionCause, VehiclePass
from passes.schemas import PassQueryArgs, SheetArgs
from web.i18n import _, _l, current_language
from web.portal import actor, areas, bp, db, firm_page
from web.portal.pass_messages import field_texts
from web.shell import CATEGORY_NAMES

PAGE_SIZE = 20
CHINA_TIME = timezone(timedelta(hours=8))  # every time on these pages is Beijing time; the services use UTC
STATUS_TABS = (PassStatus.PENDING, PassStatus.ACTIVE, PassStatus.SUSPENDED, PassStatus.REJECTED,
               PassStatus.EXPIRED, PassStatus.REVOKED)
STATUS_NAMES = {PassStatus.PENDING: _l("待审批"), PassStatus.ACTIVE: _l("有效"), PassStatus.SUSPENDED: _l("已暂停"),
                PassStatus.REJECTED: _l("未通过"), PassStatus.EXPIRED: _l("已过期"), PassStatus.REVOKED: _l("已吊销")}
HISTORY_NAMES = {"pass.applied": _l("已提交申请"), "pass.approved": _l("批准并签发"), "pass.rejected": _l("未通过审批"),
                 "pass.suspended": _l("暂停"), "pass.reinstated": _l("恢复"), "pass.revoked": _l("吊销")}
STOPPED = (PassStatus.REJECTED, PassStatus.SUSPENDED, PassStatus.REVOKED)  # the ones that show a reason
CAUSE_NAMES = {SuspensionCause.FIRM_SUSPENDED: _l("本单位已被暂停，通行证随之暂停。"),
               SuspensionCause.POSITIVE_TEST: _l("司机最近一次检测结果为阳性。")}
REFUSED_NAMES = {**{s.value: STATUS_NAMES[s] for s in PassStatus}, "not_found": _l("找不到")}


def local_time(instant: datetime | None) -> str:
    """'2026-03-14 16:00' in Beijing time, 24 h."""
    return instant.astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M") if instant else ""


def masked_name(name: str) -> str:
    """A driver's name as lists show it: the first letter, then stars (李师傅 → 李**). Format characters
    (such as a right-to-left override) are skipped, so a name cannot turn the text after it around."""
    letters = [ch for ch in name if not unicodedata.category(ch).startswith(("C", "Z"))]
    return (letters[0] + "**") if letters else "**"


def area_name(code: str) -> str:
    """A scope area in the page's language; a street with its district (streets' names repeat little, but
    a dispatcher thinks in districts)."""
    tree = areas()
    area = tree.get(code)
    if area is None:
        return code
    zh = current_language() == "zh"
    name = area.name_zh if zh else area.name_en
    parent = tree.get(area.parent_code) if area.level is AreaLevel.STREET else None
    if parent is None:
        return name
    return f"{parent.name_zh}{name}" if zh else f"{name}, {parent.name_en}"


def own_pass(pass_id: str) -> VehiclePass:
    """One of the firm's passes; another firm's pass is not found, exactly like an unknown one."""
    try:
        return services.get_pass(db(), pass_id, actor=actor(), areas=areas(), now=utcnow())
    except Forbidden:
        raise PassNotFound(f"no pass {pass_id}") from None


def pass_view(vpass: VehiclePass, people: dict) -> dict:
    """What a page shows of one pass, with every time in Beijing time and every name masked."""
    status = vpass.reported_status
    return {"id": vpass.id, "plate": vpass.plate, "hk_plate": vpass.hk_plate,
            "drivers": [masked_name(people[pid].name) if pid in people else "**" for pid in vpass.driver_ids],
            "category": CATEGORY_NAMES[vpass.category], "scope": [area_name(c) for c in vpass.scope],
            "valid_from": local_time(vpass.valid_from), "valid_until": local_time(vpass.valid_until),
            "status": status.value, "status_name": STATUS_NAMES[status],
            "reason": _reason(vpass) if status in STOPPED else None,
            "purpose": vpass.purpose, "serial": vpass.serial, "created_at": local_time(vpass.created_at),
            "printable": status is PassStatus.ACTIVE}


def _reason(vpass: VehiclePass) -> str | None:
    reason = vpass.reason or CAUSE_NAMES.get(vpass.suspension_cause)
    return str(reason) if reason is not None else None


@bp.get("/passes")
@firm_page
def passes():
    """The firm's passes, newest first: status tabs with counts, plate search, QR, print and PDF."""
    form = {"status": request.args.get("status", ""), "plate": request.args.get("plate", "")[:100]}
    number = _page_number(request.args.get("page"))
    session, now = db(), utcnow()
    counts = services.count_passes_by_status(session, actor=actor(), now=now)
    context = {"form": form, "counts": counts, "total_all": sum(counts.values()), "tabs": STATUS_TABS,
               "status_names": STATUS_NAMES, "rows": [], "total": 0, "page": number, "pages": 0, "errors": {},
               "active_count": counts[PassStatus.ACTIVE], "sheet_batch": sheets.MAX_PASSES}
    try:
        filters = PassQueryArgs().load({k: v for k, v in form.items() if v})
    except ValidationError as e:
        context["errors"] = field_texts(e.messages)
        return render_template("portal/passes.html", **context), 422
    items, total = services.list_passes(session, actor=actor(), areas=areas(), filters=filters,
                                        page=Page(number, PAGE_SIZE), now=now)
    people = services.drivers_of(session, items)
    context.update(rows=[pass_view(p, people) for p in items], total=total,
                   pages=(total + PAGE_SIZE - 1) // PAGE_SIZE)
    return render_template("portal/passes.html", **context)


def _page_number(value: str | None) -> int:
    # A page number only comes from the pager's links: a mangled one shows the first page, not an error.
    try:
        return min(max(int(value or 1), 1), 100_000)
    except ValueError:
        return 1


@bp.get("/passes/<string(length=8):pass_id>")
@firm_page
def pass_detail(pass_id):
    """One pass: its facts, QR, print link, the reason of a rejection or suspension, and its history."""
    session = db()
    vpass = own_pass(pass_id)
    history = services.pass_history(session, pass_id, actor=actor(), areas=areas(), now=utcnow())
    events = [{"at": local_time(e.at), "what": HISTORY_NAMES.get(e.action, e.action),
               "reason": (e.changes or {}).get("reason")} for e in history]
    route = None
    if vpass.route:
        names = {site.id: site.name for group in list_route_ends(session) for site in group}
        route = {end: names.get(vpass.route[f"{end}_site_id"], vpass.route[f"{end}_site_id"])
                 for end in ("crossing", "yard")}
    return render_template("portal/pass_detail.html", p=pass_view(vpass, services.drivers_of(session, [vpass])),
                           events=events, route=route)


@bp.get("/passes/sheets.pdf")
@firm_page
def pass_sheets():
    """Windscreen passes as one A4 PDF (the same service as GET /api/v1/passes/sheets.pdf): the ticked
    passes (?ids=…, repeated or comma-separated), or ?all=active for the firm's active passes, 200 a file
    (&page=2 for the next 200)."""
    per_page = request.args.get("per_page", "2")
    if request.args.get("all") == "active":
        items, _total = services.list_passes(db(), actor=actor(), areas=areas(), filters={"status": PassStatus.ACTIVE},
                                             page=Page(_page_number(request.args.get("page")), sheets.MAX_PASSES),
                                             now=utcnow())
        ids = [p.id for p in items]
        if not ids:
            flash(_("没有可以打印的有效通行证。"), "error")
            return redirect(url_for("portal.passes", status="active"), code=303)
    else:
        ids = [i for value in request.args.getlist("ids") for i in value.split(",") if i.strip()]
    try:
        args = SheetArgs().load({"ids": ",".join(ids), "per_page": per_page})
    except ValidationError as e:
        flash(_("请先勾选要打印的有效通行证（一次最多 %(n)s 张）。", n=sheets.MAX_PASSES) if "ids" in e.messages
              else _("每页张数只能是 1 或 2。"), "error")
        return redirect(url_for("portal.passes", status="active"), code=303)
    font = sheets.find_font(current_app.config.get("PDF_FONT"))
    try:
        printable = sheets.sheets_for(db(), args["ids"], actor=actor(), areas=areas(), now=utcnow())
    except sheets.PassesNotPrintable as e:
        refused = e.details["refused"]
        if any(r["reason"] == "not_found" for r in refused):
            raise PassNotFound("a pass to print is not the firm's") from None
        flash(_("只能打印有效的通行证。不能打印：%(list)s", list="；".join(
            f"{r['id']}（{REFUSED_NAMES.get(r['reason'], r['reason'])}）" for r in refused)), "error")
        return redirect(url_for("portal.passes", status="active"), code=303)
    response = Response(sheets.render_pdf(printable, font=font, per_page=args["per_page"]),
                        mimetype="application/pdf")
    response.headers["Content-Disposition"] = 'inline; filename="passes.pdf"'
    response.cache_control.no_store = True
    return response

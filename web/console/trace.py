"""Tracing (流调) in the console: scans by plate, pass, driver, site and time window, and relay-yard handovers
by container or seal; each list paged, each with a CSV export of the same search.

A driver is looked up by the full identity number typed in, matched through the keyed hash. The number is
never shown back nor put in a URL: the scan search is a POST, and the pages after the first carry an
encrypted reference to the hash (opaque, different every time), not the number."""
import base64
import binascii

from flask import Response, request, stream_with_context, url_for
from marshmallow import Schema, fields, validate

from checkpoints import trace as scan_trace
from core.clock import utcnow
from core.db import Page
from core.errors import Unprocessable
from core.schemas import Id, Text
from core.csvcells import csv_lines
from logistics import trace as handover_trace
from logistics.handovers import HandoverState
from web.console import actor, areas, bp, cipher, console_page, db
from web.console.reading import (CHINA_TIME, MAX_PAGE, PAGE_SIZE, LocalTime, area_label, form_errors, local_time,
                                 results_page)
from web.i18n import _, _l
from web.portal.messages import translate
from web.scan import REASON_TEXTS
from whitelist.models import IdType

ID_TYPE_NAMES = {IdType.CN_RESIDENT_ID: _l("居民身份证"), IdType.HK_ID: _l("香港身份证"),
                 IdType.HK_MACAO_TRAVEL_PERMIT: _l("港澳居民来往内地通行证"), IdType.PASSPORT: _l("护照")}
VERDICT_NAMES = {"accept": _l("通过"), "reject": _l("拒绝")}
STATE_NAMES = {HandoverState.BOOKED: _l("已预约"), HandoverState.ARRIVED: _l("已到场"),
               HandoverState.SEALS_OK: _l("封条相符"), HandoverState.HELD: _l("已扣留"),
               HandoverState.DISINFECTED: _l("已消毒"), HandoverState.DROPPED: _l("已卸柜"),
               HandoverState.INBOUND_DEPARTED: _l("香港司机已离场"), HandoverState.COLLECTED: _l("已提柜"),
               HandoverState.OUTBOUND_DEPARTED: _l("内地车辆已离场"), HandoverState.COMPLETED: _l("已完成"),
               HandoverState.EXCEPTION: _l("异常")}
REF_PURPOSE = "console.trace.driver"  # bound into the encrypted reference: it opens nothing else


class ScanTraceForm(Schema):
    plate = Text(validate=validate.Length(max=32))
    pass_id = Text(validate=validate.Length(max=16))
    id_type = fields.Enum(IdType, by_value=True, load_default=IdType.CN_RESIDENT_ID)
    id_number = Text(validate=validate.Length(max=32))
    driver_ref = Text(validate=validate.Length(max=400))
    site = Id()
    start = LocalTime()
    end = LocalTime()
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))


class HandoverTraceForm(Schema):
    container_no = Text(validate=validate.Length(max=20))
    seal = Text(validate=validate.Length(max=40))
    yard = Id()
    start = LocalTime()
    end = LocalTime()
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))


SCAN_FIELDS = ("plate", "pass_id", "id_type", "id_number", "driver_ref", "site", "start", "end", "page")
HANDOVER_FIELDS = ("container_no", "seal", "yard", "start", "end", "page")


# ---- scans -----------------------------------------------------------------------------------------

@bp.route("/trace", methods=["GET", "POST"])
@console_page
def trace():
    """The scan search. GET with plate, pass or site (links from alerts) searches at once; the driver's
    identity number only ever arrives by POST."""
    values = request.form if request.method == "POST" else request.args
    kept = {name: values.get(name, "")[:400] for name in SCAN_FIELDS if name not in ("id_number",)}
    if request.method == "GET":
        kept.pop("driver_ref", None)
    search, page, errors = _scan_search({**kept, "id_number": request.form.get("id_number", "")})
    context = {"form": _shown(kept), "errors": errors, "sites": _sites(), "id_types": ID_TYPE_NAMES,
               "searched": False, "rows": [], "total": 0, "page": page, "pages": 0, "driver_ref": "",
               "driver_named": False, "export_max": scan_trace.MAX_EXPORT_ROWS}
    results = None
    if search is not None and not errors:
        rows, total = scan_trace.search_scans(db(), actor=actor(), areas=areas(), search=search,
                                              page=Page(page, PAGE_SIZE))
        results = [_scan_row(r) for r in rows], total
        if search.driver_hashes:
            context.update(driver_named=True, driver_ref=_driver_ref(search.driver_hashes))
    return results_page("console/trace.html", context, results)


@bp.post("/trace/scans.csv")
@console_page
def trace_scans_csv():
    """The same scan search as a CSV file (POST: the search may name a driver)."""
    search, _page, errors = _scan_search({name: request.form.get(name, "")[:400] for name in SCAN_FIELDS})
    header = [_("扫码时间（北京时间）"), _("站点"), _("站点区域"), _("通行证号"), _("车牌"), _("现场录入车牌"), _("企业"),
              _("结果"), _("原因")]
    return _export("scans", None if errors else search, scan_trace.count_scans, scan_trace.iter_scans,
                   scan_trace.MAX_EXPORT_ROWS, header, lambda r: [
                       local_time(r.scanned_at, seconds=True), r.site_name, r.site_area, r.pass_id, r.plate,
                       r.plate_seen, r.firm_name, str(VERDICT_NAMES[r.verdict.value]),
                       "; ".join(_reason(c) for c in r.reasons)])


def _scan_search(values: dict) -> tuple[scan_trace.ScanSearch | None, int, dict]:
    """(search or None when nothing was asked, page number, errors beside the fields)."""
    data, errors = form_errors(ScanTraceForm(), values)
    page = data.get("page", 1) if not errors else 1
    if errors:
        return None, page, errors
    driver = None
    if data.get("id_number"):
        try:
            driver = scan_trace.driver_hashes(cipher(), data["id_type"], data["id_number"])
        except Unprocessable as e:
            return None, page, {"id_number": _id_number_problem(e)}
    elif data.get("driver_ref"):
        driver = _driver_of(data["driver_ref"])
        if not driver:
            return None, page, {"id_number": _("请重新输入证件号码后再查询。")}
    problem = _window_problem(data)
    if problem:
        return None, page, problem
    search = scan_trace.ScanSearch(plate=data.get("plate"), pass_id=data.get("pass_id"),
                                   driver_hashes=driver or (),
                                   site_id=data.get("site"), start=data.get("start"), end=data.get("end"))
    if search == scan_trace.ScanSearch():
        return None, page, {}
    return search, page, {}


def _id_number_problem(error: Unprocessable) -> str:
    return translate(error.fields["id_number"][0])


def _driver_ref(id_hashes: tuple[str, ...]) -> str:
    return base64.urlsafe_b64encode(cipher().encrypt(" ".join(id_hashes), purpose=REF_PURPOSE)).decode()


def _driver_of(ref: str) -> tuple[str, ...] | None:
    try:
        return tuple(cipher().decrypt(base64.urlsafe_b64decode(ref.encode()), purpose=REF_PURPOSE).split())
    except (ValueError, binascii.Error):
        return None


def _scan_row(r: scan_trace.ScanRecord) -> dict:
    return {"id": r.id, "at": local_time(r.scanned_at, seconds=True), "site": r.site_name, "area": area_label(r.site_area),
            "pass_id": r.pass_id, "plate": r.plate, "plate_seen": r.plate_seen if r.plate_seen != r.plate else None,
            "firm": r.firm_name, "verdict": r.verdict.value, "verdict_name": VERDICT_NAMES[r.verdict.value],
            "reasons": [_reason(c) for c in r.reasons]}


def _reason(code: str) -> str:
    return str(REASON_TEXTS.get(code, code))


def _sites() -> list[tuple[str, str]]:
    return [(str(s.id), s.name) for s in scan_trace.visible_sites(db(), actor=actor(), areas=areas())]


# ---- handovers -------------------------------------------------------------------------------------

@bp.get("/trace/handovers")
@console_page
def trace_handovers():
    """Handovers by container number or seal, yard and time window (nothing personal: a GET form)."""
    kept = {name: request.args.get(name, "")[:400] for name in HANDOVER_FIELDS}
    search, page, errors = _handover_search(kept)
    context = {"form": _shown(kept), "errors": errors, "yards": _yards(), "searched": False, "rows": [], "total": 0,
               "page": page, "pages": 0, "export_max": handover_trace.MAX_EXPORT_ROWS, "query": _query(kept),
               "csv_url": url_for("console.trace_handovers_csv", **_query(kept))}
    results = None
    if search is not None and not errors:
        rows, total = handover_trace.search_handovers(db(), actor=actor(), areas=areas(), search=search,
                                                      page=Page(page, PAGE_SIZE))
        results = [_handover_row(r) for r in rows], total
    return results_page("console/trace_handovers.html", context, results)


@bp.get("/trace/handovers.csv")
@console_page
def trace_handovers_csv():
    """The same handover search as a CSV file."""
    search, _page, errors = _handover_search({name: request.args.get(name, "")[:400] for name in HANDOVER_FIELDS})
    header = [_("交接单号"), _("集装箱号"), _("封条"), _("接驳场"), _("接驳场区域"), _("状态"), _("预约时间"),
              _("到场时间"), _("提柜时间"), _("香港承运企业"), _("内地提货企业"), _("货物")]
    return _export("handovers", None if errors else search, handover_trace.count_handovers,
                   handover_trace.iter_handovers, handover_trace.MAX_EXPORT_ROWS, header, lambda r: [
                       r.id, r.container_no, " ".join(r.seals), r.yard_name, r.yard_area, str(STATE_NAMES[r.state]),
                       local_time(r.booked_at), local_time(r.arrived_at), local_time(r.collected_at),
                       r.inbound_firm, r.outbound_firm, r.cargo])


def _handover_search(values: dict) -> tuple[handover_trace.HandoverSearch | None, int, dict]:
    data, errors = form_errors(HandoverTraceForm(), values)
    page = data.get("page", 1) if not errors else 1
    if errors:
        return None, page, errors
    problem = _window_problem(data)
    if problem:
        return None, page, problem
    search = handover_trace.HandoverSearch(container_no=data.get("container_no"), seal=data.get("seal"),
                                           yard_id=data.get("yard"), start=data.get("start"), end=data.get("end"))
    return (None if search == handover_trace.HandoverSearch() else search), page, {}


def _handover_row(r: handover_trace.HandoverRecord) -> dict:
    return {"id": r.id, "container_no": r.container_no, "seals": r.seals, "yard": r.yard_name,
            "area": area_label(r.yard_area), "state": r.state.value, "state_name": STATE_NAMES[r.state],
            "booked_at": local_time(r.booked_at), "arrived_at": local_time(r.arrived_at),
            "collected_at": local_time(r.collected_at), "inbound_firm": r.inbound_firm,
            "outbound_firm": r.outbound_firm, "cargo": r.cargo}


def _yards() -> list[tuple[str, str]]:
    return [(str(s.id), s.name) for s in scan_trace.visible_sites(db(), actor=actor(), areas=areas())
            if s.kind.value == "relay_yard"]


# ---- shared ----------------------------------------------------------------------------------------

def _window_problem(data: dict) -> dict:
    start, end = data.get("start"), data.get("end")
    if start and end and start >= end:
        return {"end": _("结束时间须晚于开始时间。")}
    return {}


def _shown(kept: dict) -> dict:
    """The form as typed, to show again; never the identity number nor the driver reference."""
    return {k: v for k, v in kept.items() if k not in ("id_number", "driver_ref")}


def _query(kept: dict) -> dict:
    return {k: v for k, v in kept.items() if v and k != "page"}


def _export(name: str, search, count, rows, limit: int, header: list[str], cells) -> Response:
    """A search's every match as a streamed CSV download (cells made safe by core.csvrows); an invalid or
    empty search, or one matching more than `limit` rows, is an error page instead."""
    if search is None:
        raise Unprocessable("the search is not valid")
    reader, tree = actor(), areas()
    total = count(db(), actor=reader, areas=tree, search=search)
    if total > limit:
        raise Unprocessable(f"{total} rows match; export at most {limit}")

    def lines():
        # Runs after the view has returned and its session was closed at teardown: db() opens another one
        # inside the context stream_with_context pushes again, and that context's teardown closes it.
        found = rows(db(), actor=reader, areas=tree, search=search)
        for line in csv_lines(header, (cells(r) for r in found)):
            yield line.encode("utf-8")
    stamp = utcnow().astimezone(CHINA_TIME).strftime("%Y%m%d-%H%M")
    response = Response(stream_with_context(lines()), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    response.cache_control.no_store = True
    return response

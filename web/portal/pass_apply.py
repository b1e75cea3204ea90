"""Applying for passes in the portal: one pass through a form, or a whole fleet from one CSV file. The
API's schema checks the form and the API's services decide (passes.services.apply_for_pass,
passes.batch.apply_for_fleet): the portal copies no rule."""
import re
from datetime import datetime, timedelta

from flask import current_app, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError

from checkpoints.sites import list_route_ends
from core import ratelimit
from core.areas import CITY_CODE, AreaLevel
from core.clock import utcnow
from core.csvcells import csv_download
from core.db import Page
from core.errors import PayloadTooLarge, Unprocessable
from passes import batch, services
from passes.errors import BatchRejected, OverlappingPass
from passes.schemas import PassIn
from web.i18n import _, _l, current_language, ngettext
from web.portal import actor, areas, bp, cipher, db, firm_page
from web.portal.pass_messages import field_texts, message_text
from web.portal.passes import CHINA_TIME, masked_name
from web.shell import CATEGORY_NAMES
from whitelist import services as whitelist_services
from whitelist.models import Category, EntryStatus, PersonKind

LOCAL_INPUT = "%Y-%m-%dT%H:%M"  # the value of <input type="datetime-local">, read as Beijing time
_LOCAL_VALUE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$")
MAX_CHOICES = 2000  # vehicles and people offered in the form: more than any firm on the list holds
FORM_FIELDS = ("vehicle_id", "category", "valid_from", "valid_until", "purpose", "crossing_site_id", "yard_site_id")
KIND_NAMES = {PersonKind.DRIVER: _l("司机"), PersonKind.CROSS_BORDER_DRIVER: _l("跨境司机"),
              PersonKind.COURIER: _l("快递员")}
CSV_GUIDE = (
    ("plate", _l("车牌号，须是本单位名单上的车辆，例如 粤B12345")),
    ("driver_id_numbers", _l("司机证件号码，1 至 4 个，用分号 ; 分隔，须在本单位人员名单上")),
    ("category", _l("物资类别代码：%(codes)s")),
    ("scope", _l("通行区域代码（6 位区、9 位街道；全市 440300），多个用分号或空格分隔")),
    ("valid_from", _l("开始时间，带时区，例如 2026-03-14T08:00:00+08:00")),
    ("valid_until", _l("结束时间，同上；有效期最长 %(days)s 天")),
    ("purpose", _l("用途，最多 500 字；含逗号时整格加英文双引号")),
)


@bp.route("/passes/new", methods=["GET", "POST"])
@firm_page
def new_pass():
    """Apply for one pass: vehicle, drivers, category, scope from the area tree, window, purpose, route."""
    if request.method == "GET":
        return _apply_page(_default_form(), {})
    form = _posted_form()
    try:
        data = PassIn().load(_payload(form))
    except ValidationError as e:
        return _apply_page(form, field_texts(e.messages), 422)
    try:
        vpass = services.apply_for_pass(db(), data=data, actor=actor(), areas=areas(),
                                        max_days=current_app.config["MAX_PASS_DAYS"], now=utcnow())
    except OverlappingPass as e:
        return _apply_page(form, {"vehicle_id": message_text(e.message)}, 422)
    except Unprocessable as e:
        return _apply_page(form, _service_errors(e), 422)
    flash(_("申请已提交（通行证号 %(id)s），等待主管部门审批。", id=vpass.id), "notice")
    return redirect(url_for("portal.pass_detail", pass_id=vpass.id), code=303)


def _default_form() -> dict:
    # From now for as long as a pass may last: the usual case needs no change.
    start = utcnow().astimezone(CHINA_TIME).replace(second=0, microsecond=0)
    until = start + timedelta(days=current_app.config["MAX_PASS_DAYS"])
    return {"vehicle_id": "", "driver_ids": [], "category": "", "scope": [], "purpose": "",
            "valid_from": start.strftime(LOCAL_INPUT), "valid_until": until.strftime(LOCAL_INPUT),
            "crossing_site_id": "", "yard_site_id": ""}


def _posted_form() -> dict:
    form = {name: request.form.get(name, "")[:1000] for name in FORM_FIELDS}
    form["driver_ids"] = request.form.getlist("driver_ids")[:50]
    form["scope"] = request.form.getlist("scope")[:200]
    return form


def _payload(form: dict) -> dict:
    """The form as the API's PassIn takes it: local times get the Beijing offset, blanks are left out so
    the schema says what is missing."""
    data = {"driver_ids": form["driver_ids"], "scope": form["scope"]}
    for name in ("vehicle_id", "category", "purpose"):
        if form[name].strip():
            data[name] = form[name]
    for name in ("valid_from", "valid_until"):
        value = form[name].strip()
        if value:
            data[name] = value + "+08:00" if _LOCAL_VALUE.match(value) else value
    if form["crossing_site_id"] or form["yard_site_id"]:
        data["route"] = {"crossing_site_id": form["crossing_site_id"], "yard_site_id": form["yard_site_id"]}
    return data


def _service_errors(error: Unprocessable) -> dict[str, str]:
    """A service's refusal beside the fields it names; what names no field of the form goes on top."""
    texts = field_texts(error.fields if isinstance(error.fields, dict) else {})
    for name in list(texts):
        if name not in FORM_FIELDS + ("driver_ids", "scope", "route"):
            texts["_form"] = texts.pop(name)
    if not texts:
        texts["_form"] = message_text(error.message)
    return texts


def _apply_page(form: dict, errors: dict, status: int = 200):
    session = db()
    vehicles, _total = whitelist_services.list_vehicles(session, actor=actor(), areas=areas(),
                                                        filters={"status": EntryStatus.ACTIVE},
                                                        page=Page(1, MAX_CHOICES))
    people, _total = whitelist_services.list_people(session, actor=actor(), areas=areas(), cipher=cipher(),
                                                    filters={"status": EntryStatus.ACTIVE}, page=Page(1, MAX_CHOICES))
    crossings, yards = list_route_ends(session)
    drivers = [{"id": p.id, "name": masked_name(p.name), "id_masked": p.id_masked, "kind": KIND_NAMES[p.kind]}
               for p in sorted(people, key=lambda p: (p.kind is PersonKind.COURIER, p.id))]
    html = render_template("portal/pass_new.html", form=form, errors=errors, vehicles=vehicles, drivers=drivers,
                           categories=CATEGORY_NAMES, districts=_district_tree(form["scope"]),
                           city=_area(CITY_CODE), crossings=crossings, yards=yards,
                           max_days=current_app.config["MAX_PASS_DAYS"])
    return current_app.make_response((html, status))


def _area(code: str) -> dict:
    area = areas().get(code)
    return {"code": code, "name": area.name_zh if current_language() == "zh" else area.name_en}


def _district_tree(chosen: list[str]) -> list[dict]:
    """Shenzhen's districts, each with its streets, as the scope checkboxes show them; a district with a
    chosen area stays open."""
    tree = areas()
    districts = []
    for record in tree.by_code.values():
        if record.level is not AreaLevel.DISTRICT:
            continue
        streets = [_area(s.code) for s in tree.by_code.values()
                   if s.level is AreaLevel.STREET and s.parent_code == record.code]
        districts.append({**_area(record.code), "streets": streets,
                          "open": any(c == record.code or tree.contains(record.code, c) for c in chosen if c in tree)})
    return districts


# ---- a fleet from one CSV file ---------------------------------------------------------------------

@bp.route("/passes/fleet", methods=["GET", "POST"])
@firm_page
def fleet():
    """Apply for many passes from one CSV file: all rows or none, every bad row and column listed."""
    if request.method == "GET":
        return _fleet_page({}, [], None)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _fleet_page({"file": _("请选择要上传的 CSV 文件。")}, [], None, 422)
    body = upload.read(current_app.config["MAX_IMPORT_BYTES"] + 1)
    if len(body) > current_app.config["MAX_IMPORT_BYTES"]:
        return _fleet_page({"file": _("文件太大，请拆分成较小的几份再上传。")}, [], upload.filename, 413)
    try:
        created = batch.apply_for_fleet(db(), firm_id=None, body=body, kind=batch.BatchFormat.CSV, actor=actor(),
                                        areas=areas(), cipher=cipher(), max_days=current_app.config["MAX_PASS_DAYS"],
                                        now=utcnow(), admit=_fleet_allowance)
    except BatchRejected as e:
        rows = [{"row": r["row"], "column": r["column"], "message": message_text(r["message"])} for r in e.fields]
        return _fleet_page({"file": _("文件有错误，没有提交任何申请。请改正下表中的每一处后重新上传。")}, rows,
                           upload.filename, 422)
    except PayloadTooLarge:
        return _fleet_page({"file": _("一次最多申请 %(n)s 张通行证，请把文件拆分后分别上传。", n=batch.MAX_ROWS)}, [],
                           upload.filename, 422)
    except Unprocessable as e:
        return _fleet_page({"file": next(iter(_service_errors(e).values()))}, [], upload.filename, 422)
    flash(ngettext("已提交 %(num)d 张通行证申请，等待主管部门审批。", "已提交 %(num)d 张通行证申请，等待主管部门审批。",
                   len(created)), "notice")
    return redirect(url_for("portal.passes", status="pending"), code=303)


def _fleet_allowance(firm_id: int) -> None:
    # The same per-firm allowance as POST /api/v1/passes/batch: the page is no way around it.
    ratelimit.consume_or_refuse("batch", key=f"firm:{firm_id}",
                                message="too many fleet applications for this firm; try later")


def _fleet_page(errors: dict, rows: list[dict], filename: str | None, status: int = 200):
    codes = ", ".join(c.value for c in Category)
    guide = [(column, str(text) % {"codes": codes, "days": current_app.config["MAX_PASS_DAYS"]})
             for column, text in CSV_GUIDE]
    html = render_template("portal/pass_fleet.html", errors=errors, rows=rows, filename=filename, guide=guide,
                           categories=CATEGORY_NAMES, max_rows=batch.MAX_ROWS)
    return current_app.make_response((html, status))


@bp.get("/passes/fleet/template.csv")
@firm_page
def fleet_template():
    """A CSV file to fill in: the header and one example row (with a BOM, so spreadsheet programs read it
    as UTF-8)."""
    start = (utcnow().astimezone(CHINA_TIME) + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)
    until = start + timedelta(days=current_app.config["MAX_PASS_DAYS"]) - timedelta(hours=1)
    example = ["粤B12345", "440304200001010009", Category.VEGETABLES.value, "440304001 440304002",
               _iso(start), _iso(until), "蔬菜配送"]
    return csv_download("fleet-passes.csv", batch.CSV_COLUMNS, [example])


def _iso(instant: datetime) -> str:
    return instant.isoformat(timespec="seconds")


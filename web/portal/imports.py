"""CSV imports on the portal, people and vehicles: upload, the whitelist.imports service (as the API's),
every refused row in a table in the reader's language, nothing saved unless every row is right."""
from dataclasses import dataclass
from typing import Callable

from flask import current_app, flash, redirect, render_template, request, url_for

from core import ratelimit
from core.csvcells import csv_download
from core.clock import utcnow
from web.i18n import _, _l, ngettext
from web.portal import actor, areas, bp, cipher, db, firm_id, firm_page
from web.portal.messages import translate
from web.portal.names import ID_TYPE_NAMES, KIND_NAMES, VEHICLE_KIND_NAMES
from whitelist import imports
from whitelist.errors import ImportRejected


@dataclass(frozen=True)
class ImportKind:
    """What differs between the people and the vehicle import pages."""

    title: object
    endpoint: str
    template_endpoint: str
    back_endpoint: str
    back: object
    columns: dict          # CSV column → its name on the page
    guide: tuple           # (column, text, ((code, name), ...)) for the column guide
    template: tuple        # the example file: its header and rows
    run: Callable          # body → ImportResult; raises ImportRejected
    done: Callable         # count → the notice after a good import


def import_allowance(firm: int) -> None:
    # The API's per-firm limit (whitelist.routes): the portal and the API share one allowance.
    ratelimit.consume_or_refuse("import", key=f"firm:{firm}", message="too many imports for this firm; try later")


PEOPLE = ImportKind(
    title=_l("从 CSV 文件导入人员"), endpoint="portal.import_people", template_endpoint="portal.people_template",
    back_endpoint="portal.people", back=_l("返回人员列表"),
    columns={"kind": _l("人员类别"), "name": _l("姓名"), "id_type": _l("证件类型"), "id_number": _l("证件号码"),
             "phone": _l("手机号码"), "": _l("整行")},
    guide=(("kind", _l("人员类别"), tuple(KIND_NAMES.items())), ("name", _l("姓名"), ()),
           ("id_type", _l("证件类型"), tuple(ID_TYPE_NAMES.items())), ("id_number", _l("证件号码"), ()),
           ("phone", _l("手机号码（内地或香港）"), ())),
    template=(imports.COLUMNS, [("driver", "李师傅", "cn_resident_id", "440304200001010009", "13900139000")]),
    run=lambda body: imports.import_people(db(), firm_id(), body, actor=actor(), areas=areas(), cipher=cipher(),
                                           now=utcnow(), admit=import_allowance),
    done=lambda n: ngettext("已导入 %(num)d 人。", "已导入 %(num)d 人。", n))

VEHICLES = ImportKind(
    title=_l("从 CSV 文件导入车辆"), endpoint="portal.import_vehicles", template_endpoint="portal.vehicles_template",
    back_endpoint="portal.vehicles", back=_l("返回车辆列表"),
    columns={"plate": _l("车牌号码"), "hk_plate": _l("香港车牌"), "kind": _l("车辆类型"), "": _l("整行")},
    guide=(("plate", _l("车牌号码"), ()), ("hk_plate", _l("香港车牌（仅跨境车辆，其他留空）"), ()),
           ("kind", _l("车辆类型"), tuple(VEHICLE_KIND_NAMES.items()))),
    template=(imports.VEHICLE_COLUMNS, [("粤B12345", "", "van"), ("粤Z1234港", "AB1234", "truck")]),
    run=lambda body: imports.import_vehicles(db(), firm_id(), body, actor=actor(), areas=areas(), now=utcnow(),
                                             admit=import_allowance),
    done=lambda n: ngettext("已导入 %(num)d 辆车。", "已导入 %(num)d 辆车。", n))


def _import_page(kind: ImportKind):
    rows, error = [], None
    if request.method == "POST":
        limit = current_app.config["MAX_IMPORT_BYTES"]
        upload = request.files.get("file")
        body = upload.read(limit + 1) if upload else b""
        if not upload or not upload.filename:
            error = _("请选择要上传的 CSV 文件。")
        elif len(body) > limit:
            error = _("文件太大，请拆分成较小的几份再上传。")
        else:
            try:
                result = kind.run(body)
            except ImportRejected as e:
                rows = [{"row": r["row"], "column": kind.columns.get(r["column"], r["column"]),
                         "message": translate(r["message"])} for r in e.fields]
            else:
                flash(kind.done(result.imported), "success")
                return redirect(url_for(kind.back_endpoint), code=303)
    html = render_template("portal/import.html", kind=kind, rows=rows, error=error,
                           section=kind.back_endpoint)
    return html, 422 if (rows or error) else 200


def _template_file(kind: ImportKind, filename: str):
    return csv_download(filename, *kind.template)


@bp.route("/people/import", methods=["GET", "POST"])
@firm_page
def import_people():
    """Many people from one CSV file: every row is checked and either all are added or none."""
    return _import_page(PEOPLE)


@bp.get("/people/import/template.csv")
@firm_page
def people_template():
    """An example file with the header row and one made-up driver."""
    return _template_file(PEOPLE, "people-template.csv")


@bp.route("/vehicles/import", methods=["GET", "POST"])
@firm_page
def import_vehicles():
    """Many vehicles from one CSV file: every row is checked and either all are added or none."""
    return _import_page(VEHICLES)


@bp.get("/vehicles/import/template.csv")
@firm_page
def vehicles_template():
    """An example file with the header row, one local and one cross-border vehicle."""
    return _template_file(VEHICLES, "vehicles-template.csv")

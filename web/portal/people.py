"""The firm's people (couriers and drivers): list with search, add, correct, and import from CSV."""
from flask import current_app, flash, make_response, redirect, render_template, request, url_for
from marshmallow import ValidationError

from core import ratelimit
from core.clock import utcnow
from core.errors import AppError
from web.i18n import _, _l
from web.portal import actor, areas, bp, cipher, db, firm_id, firm_page
from web.portal.forms import load_form, owned, page_count, page_of_request, refusal_fields
from web.portal.messages import translate, translate_fields
from web.portal.names import ENTRY_STATUS_NAMES, ID_TYPE_NAMES, KIND_NAMES
from whitelist import imports
from whitelist import services as whitelist_services
from whitelist.errors import ImportRejected
from whitelist.schemas import PersonIn, PersonQueryArgs, PersonUpdateIn

PERSON_FIELDS = ("kind", "name", "id_type", "id_number", "phone")
COLUMN_NAMES = {"kind": _l("人员类别"), "name": _l("姓名"), "id_type": _l("证件类型"), "id_number": _l("证件号码"),
                "phone": _l("手机号码"), "": _l("整行")}
# A template a person can open in a spreadsheet: the BOM makes Excel read it as UTF-8.
TEMPLATE_CSV = ("\ufeffkind,name,id_type,id_number,phone\r\n"
                "driver,李师傅,cn_resident_id,440304200001010009,13900139000\r\n")


def _names():
    return {"kind_names": KIND_NAMES, "id_type_names": ID_TYPE_NAMES, "status_names": ENTRY_STATUS_NAMES}


@bp.get("/people")
@firm_page
def people():
    """The firm's people, newest last, searchable by name or the last digits of the identity number."""
    query = {"q": request.args.get("q", "")[:100]}
    args, errors = {}, {}
    if query["q"].strip():
        kept, args, errors = _load_query(query)
    items, total = ([], 0) if errors else whitelist_services.list_people(
        db(), actor=actor(), areas=areas(), cipher=cipher(), filters=args, page=page_of_request())
    page = page_of_request().number
    html = render_template("portal/people.html", people=items, total=total, page=page, pages=page_count(total),
                           query=query, errors=errors, firm=_firm(), **_names())
    return html, 422 if errors else 200


def _load_query(query):
    try:
        return query, PersonQueryArgs(only=("q",)).load(query), {}
    except ValidationError as e:
        return query, {}, translate_fields(e.messages)


@bp.route("/people/new", methods=["GET", "POST"])
@firm_page
def new_person():
    """Add one courier or driver, checked by the API's schema; errors beside the fields."""
    form, errors = {name: "" for name in PERSON_FIELDS}, {}
    if request.method == "POST":
        form, data, errors = load_form(PersonIn(), PERSON_FIELDS)
        if not errors:
            try:
                person = whitelist_services.register_person(db(), data=data, actor=actor(), areas=areas(),
                                                            cipher=cipher(), now=utcnow())
            except AppError as e:
                errors = refusal_fields(e)
            else:
                flash(_("已添加：%(name)s", name=person.name), "success")
                return redirect(url_for("portal.people"), code=303)
    html = render_template("portal/person_form.html", form=form, errors=errors, person=None, **_names())
    return html, 422 if errors else 200


@bp.route("/people/<int(max=2147483647):person_id>", methods=["GET", "POST"])
@firm_page
def edit_person(person_id):
    """A person's record; the name and the phone can be corrected, the identity cannot."""
    person = owned(whitelist_services.get_person, person_id)
    form, errors = {"name": person.name, "phone": ""}, {}
    if request.method == "POST":
        form, data, errors = load_form(PersonUpdateIn(), ("name", "phone"))
        if not errors:
            try:
                person = whitelist_services.update_person(db(), person_id, data=data, actor=actor(), areas=areas(),
                                                          cipher=cipher(), now=utcnow())
            except AppError as e:
                errors = refusal_fields(e)
            else:
                flash(_("已保存：%(name)s", name=person.name), "success")
                return redirect(url_for("portal.people"), code=303)
    html = render_template("portal/person_form.html", form=form, errors=errors, person=person, **_names())
    return html, 422 if errors else 200


@bp.route("/people/import", methods=["GET", "POST"])
@firm_page
def import_people():
    """Many people from one CSV file: every row is checked and either all are added or none."""
    rows, error = [], None
    if request.method == "POST":
        upload = request.files.get("file")
        body = upload.read(current_app.config["MAX_IMPORT_BYTES"] + 1) if upload else b""
        if not upload or not upload.filename:
            error = _("请选择要上传的 CSV 文件。")
        elif len(body) > current_app.config["MAX_IMPORT_BYTES"]:
            error = _("文件太大，请拆分成较小的几份再上传。")
        else:
            try:
                result = imports.import_people(db(), firm_id(), body, actor=actor(), areas=areas(), cipher=cipher(),
                                               now=utcnow(), admit=import_allowance)
            except ImportRejected as e:
                rows = [{"row": r["row"], "column": COLUMN_NAMES.get(r["column"], r["column"]),
                         "message": translate(r["message"])} for r in e.fields]
            else:
                flash(_("已导入 %(count)d 人。", count=result.imported), "success")
                return redirect(url_for("portal.people"), code=303)
    html = render_template("portal/people_import.html", rows=rows, error=error, column_names=COLUMN_NAMES,
                           **_names())
    return html, 422 if (rows or error) else 200


def import_allowance(firm: int) -> None:
    # The API's per-firm limit (whitelist.routes): the portal and the API share one allowance.
    ratelimit.consume_or_refuse("import", key=f"firm:{firm}", message="too many imports for this firm; try later")


@bp.get("/people/import/template.csv")
@firm_page
def people_template():
    """An example file with the header row and one made-up driver."""
    response = make_response(TEMPLATE_CSV)
    response.mimetype = "text/csv"
    response.headers["Content-Disposition"] = 'attachment; filename="people-template.csv"'
    return response


def _firm():
    return whitelist_services.get_firm(db(), firm_id(), actor=actor(), areas=areas())

"""The firm's people (couriers and drivers): list with search, add and correct (the CSV import: imports.py)."""
from flask import render_template, request

from core.clock import utcnow
from web.i18n import _
from web.portal import actor, areas, bp, cipher, db, firm_id, firm_page
from web.portal.forms import load_search, owned, page_count, page_of_request, save_form
from web.portal.names import ENTRY_STATUS_NAMES, ID_TYPE_NAMES, KIND_NAMES
from whitelist import services as whitelist_services
from whitelist.schemas import PersonIn, PersonQueryArgs, PersonUpdateIn

PERSON_FIELDS = ("kind", "name", "id_type", "id_number", "phone")


def _names():
    return {"kind_names": KIND_NAMES, "id_type_names": ID_TYPE_NAMES, "status_names": ENTRY_STATUS_NAMES}


@bp.get("/people")
@firm_page
def people():
    """The firm's people, newest last, searchable by name or the last digits of the identity number."""
    query = {"q": request.args.get("q", "")[:100]}
    args, errors = load_search(PersonQueryArgs(only=("q",)), query["q"])
    items, total = ([], 0) if errors else whitelist_services.list_people(
        db(), actor=actor(), areas=areas(), cipher=cipher(), filters=args, page=page_of_request())
    page = page_of_request().number
    html = render_template("portal/people.html", people=items, total=total, page=page, pages=page_count(total),
                           query=query, errors=errors, firm=_firm(), **_names())
    return html, 422 if errors else 200


@bp.route("/people/new", methods=["GET", "POST"])
@firm_page
def new_person():
    """Add one courier or driver, checked by the API's schema; errors beside the fields."""
    form, errors = {name: "" for name in PERSON_FIELDS}, {}
    if request.method == "POST":
        form, errors, done = save_form(
            PersonIn(), PERSON_FIELDS,
            lambda data: whitelist_services.register_person(db(), data=data, actor=actor(), areas=areas(),
                                                            cipher=cipher(), now=utcnow()),
            lambda saved: _("已添加：%(name)s", name=saved.name), "portal.people")
        if done:
            return done
    html = render_template("portal/person_form.html", form=form, errors=errors, person=None, **_names())
    return html, 422 if errors else 200


@bp.route("/people/<int(max=2147483647):person_id>", methods=["GET", "POST"])
@firm_page
def edit_person(person_id):
    """A person's record; the name and the phone can be corrected, the identity cannot."""
    person = owned(whitelist_services.get_person, person_id)
    form, errors = {"name": person.name, "phone": ""}, {}
    if request.method == "POST":
        form, errors, done = save_form(
            PersonUpdateIn(), ("name", "phone"),
            lambda data: whitelist_services.update_person(db(), person_id, data=data, actor=actor(), areas=areas(),
                                                          cipher=cipher(), now=utcnow()),
            lambda saved: _("已保存：%(name)s", name=saved.name), "portal.people")
        if done:
            return done
    html = render_template("portal/person_form.html", form=form, errors=errors, person=person, **_names())
    return html, 422 if errors else 200


def _firm():
    return whitelist_services.get_firm(db(), firm_id(), actor=actor(), areas=areas())

"""The firm's vehicles: list with plate search, add, and correct the kind."""
from flask import render_template, request

from core.clock import utcnow
from web.i18n import _
from web.portal import actor, areas, bp, db, firm_id, firm_page
from web.portal.forms import load_search, owned, page_count, page_of_request, save_form
from web.portal.names import ENTRY_STATUS_NAMES, VEHICLE_KIND_NAMES
from whitelist import services as whitelist_services
from whitelist.schemas import VehicleIn, VehicleQueryArgs, VehicleUpdateIn

VEHICLE_FIELDS = ("plate", "hk_plate", "kind")


def _names():
    return {"kind_names": VEHICLE_KIND_NAMES, "status_names": ENTRY_STATUS_NAMES}


@bp.get("/vehicles")
@firm_page
def vehicles():
    """The firm's vehicles, searchable by part of a plate."""
    query = {"q": request.args.get("q", "")[:20]}
    args, errors = load_search(VehicleQueryArgs(only=("q",)), query["q"])
    items, total = ([], 0) if errors else whitelist_services.list_vehicles(
        db(), actor=actor(), areas=areas(), filters=args, page=page_of_request())
    firm = whitelist_services.get_firm(db(), firm_id(), actor=actor(), areas=areas())
    html = render_template("portal/vehicles.html", vehicles=items, total=total, page=page_of_request().number,
                           pages=page_count(total), query=query, errors=errors, firm=firm, **_names())
    return html, 422 if errors else 200


@bp.route("/vehicles/new", methods=["GET", "POST"])
@firm_page
def new_vehicle():
    """Add one vehicle, checked by the API's schema; errors beside the fields."""
    form, errors = {name: "" for name in VEHICLE_FIELDS}, {}
    if request.method == "POST":
        form, errors, done = save_form(
            VehicleIn(), VEHICLE_FIELDS,
            lambda data: whitelist_services.register_vehicle(db(), data=data, actor=actor(), areas=areas(),
                                                             now=utcnow()),
            lambda saved: _("已添加：%(plate)s", plate=saved.plate), "portal.vehicles")
        if done:
            return done
    html = render_template("portal/vehicle_form.html", form=form, errors=errors, vehicle=None, **_names())
    return html, 422 if errors else 200


@bp.route("/vehicles/<int(max=2147483647):vehicle_id>", methods=["GET", "POST"])
@firm_page
def edit_vehicle(vehicle_id):
    """A vehicle's record; its kind can be corrected, its plates cannot (a new plate is a new vehicle)."""
    vehicle = owned(whitelist_services.get_vehicle, vehicle_id)
    form, errors = {"kind": vehicle.kind.value}, {}
    if request.method == "POST":
        form, errors, done = save_form(
            VehicleUpdateIn(), ("kind",),
            lambda data: whitelist_services.update_vehicle(db(), vehicle_id, data=data, actor=actor(),
                                                           areas=areas(), now=utcnow()),
            lambda saved: _("已保存：%(plate)s", plate=saved.plate), "portal.vehicles")
        if done:
            return done
    html = render_template("portal/vehicle_form.html", form=form, errors=errors, vehicle=vehicle, **_names())
    return html, 422 if errors else 200

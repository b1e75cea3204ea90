"""Windscreen sheets: many issued passes in one A4 PDF (fpdf2), Chinese first with English beside it,
each QR drawn as vector squares at least 60 mm wide so a handheld reads it at arm's length."""
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from fpdf import FPDF
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts import Actor
from core.areas import AreaTree
from core.errors import AppError, Conflict, Forbidden
from passes import services
from passes.errors import PassNotFound
from passes.models import PassStatus, VehiclePass
from passes.qr import make_qr
from whitelist.models import Category, Firm

MAX_PASSES = 200
QR_MM = 70           # the printed symbol, quiet zone excluded; ≥ 60 mm scans from arm's length
CHINA_TIME = timezone(timedelta(hours=8))  # printed times are local; the QR carries UTC
# Debian's fonts-wqy-microhei (installed by the Makefile), then fonts-noto-cjk.
FONT_CANDIDATES = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
                   "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
CATEGORY_ZH = {Category.GRAIN_OIL: "粮油", Category.VEGETABLES: "蔬菜", Category.MEAT: "肉类",
               Category.MEDICINE: "医药", Category.EXPRESS_DELIVERY: "快递", Category.FOOD_DELIVERY: "外卖",
               Category.UTILITIES: "水电气保障", Category.CROSS_BORDER_FREIGHT: "跨境货运", Category.OTHER: "其他"}
CATEGORY_EN = {Category.GRAIN_OIL: "grain and oil", Category.VEGETABLES: "vegetables", Category.MEAT: "meat",
               Category.MEDICINE: "medicine", Category.EXPRESS_DELIVERY: "express delivery",
               Category.FOOD_DELIVERY: "food delivery", Category.UTILITIES: "utilities",
               Category.CROSS_BORDER_FREIGHT: "cross-border freight", Category.OTHER: "other"}


class PdfFontMissing(AppError):
    """No CJK font on this host: the PDF cannot print Chinese, so none is made."""

    status, code, title = 503, "pdf_font_missing", "PDF font missing"


class PassesNotPrintable(Conflict):
    """Some requested passes may not be printed; `details.refused` lists each id and why."""

    code = "passes_not_printable"
    title = "Passes not printable"


@dataclass(frozen=True)
class Sheet:
    """What one printed pass shows."""

    vpass: VehiclePass
    firm_name: str
    scope_names: list[str]


def find_font(configured: str | None) -> Path:
    """The configured font file (GREENLANE_PDF_FONT), else the first Debian CJK font installed.
    Raises PdfFontMissing naming what was tried."""
    candidates = [configured] if configured else list(FONT_CANDIDATES)
    for candidate in candidates:
        if Path(candidate).is_file():
            return Path(candidate)
    raise PdfFontMissing("no CJK font for the PDF: install fonts-wqy-microhei (make run does) or set "
                         "GREENLANE_PDF_FONT to a TrueType font file", details={"tried": candidates})


def sheets_for(session: Session, pass_ids: list[str], *, actor: Actor, areas: AreaTree,
               now: datetime) -> list[Sheet]:
    """The passes to print, in the order asked: each must be visible to the caller (a firm its own, a
    regulator those touching its area) and active now. Raises PassesNotPrintable listing every refused id
    and why (unknown, pending, rejected, suspended, revoked, expired); a stopped pass is never printed."""
    refused, printable = [], []
    for pass_id in dict.fromkeys(pass_ids):
        try:
            vpass = services.get_pass(session, pass_id, actor=actor, areas=areas, now=now)
        except (PassNotFound, Forbidden):
            # Another firm's pass is "not found" too: the answer must not confirm that it exists.
            refused.append({"id": pass_id, "reason": "not_found"})
            continue
        if vpass.reported_status is not PassStatus.ACTIVE:
            refused.append({"id": pass_id, "reason": vpass.reported_status.value})
        else:
            printable.append(vpass)
    if refused:
        listed = ", ".join(f"{r['id']} ({r['reason']})" for r in refused)
        raise PassesNotPrintable(f"only active passes are printed; refused: {listed}", details={"refused": refused})
    firms = dict(session.execute(select(Firm.id, Firm.name).where(Firm.id.in_({p.firm_id for p in printable}))).all())
    return [Sheet(p, firms[p.firm_id], [_area_name(code, areas) for code in p.scope]) for p in printable]


def render_pdf(sheets: list[Sheet], *, font: Path, per_page: int = 2) -> bytes:
    """A4 portrait, `per_page` (1 or 2) passes a page, with a dashed cut line between two."""
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_creator("GreenLane")
    pdf.set_title("保供车辆通行证 Essential-supply vehicle passes")
    pdf.set_auto_page_break(False)
    pdf.add_font("cjk", "", str(font))
    height = 297 / per_page
    for index, sheet in enumerate(sheets):
        slot = index % per_page
        if slot == 0:
            pdf.add_page()
        elif per_page == 2:
            pdf.set_draw_color(150)
            pdf.set_dash_pattern(dash=3, gap=2)
            pdf.line(5, height, 205, height)
            pdf.set_dash_pattern()
        _draw_pass(pdf, sheet, top=slot * height, height=height)
    return bytes(pdf.output())


def _draw_pass(pdf: FPDF, sheet: Sheet, *, top: float, height: float) -> None:
    vpass = sheet.vpass
    pdf.set_draw_color(10, 122, 51)
    pdf.set_line_width(1.2)
    pdf.rect(10, top + 8, 190, height - 16)
    pdf.set_text_color(10, 122, 51)
    pdf.set_font("cjk", size=17)
    pdf.set_xy(15, top + 12)
    pdf.cell(180, 9, "保供车辆通行证  Essential-supply vehicle pass")
    pdf.set_text_color(0)
    qr_top = top + 26
    _draw_qr(pdf, vpass.qr, x=15, y=qr_top, size=QR_MM)
    x, width = 15 + QR_MM + 8, 200 - (15 + QR_MM + 8) - 5
    pdf.set_xy(x, qr_top)
    pdf.set_font("cjk", size=34)
    pdf.cell(width, 15, vpass.plate)
    y = qr_top + 16
    if vpass.hk_plate:
        pdf.set_font("cjk", size=18)
        pdf.set_xy(x, y)
        pdf.cell(width, 8, f"香港 HK {vpass.hk_plate}")
        y += 9
    lines = [("企业 Firm", sheet.firm_name),
             ("类别 Category", f"{CATEGORY_ZH[vpass.category]} {CATEGORY_EN[vpass.category]}"),
             ("通行范围 Scope", "；".join(sheet.scope_names)),
             ("有效期 Valid (北京时间 Beijing time)",
              f"{_local(vpass.valid_from)} — {_local(vpass.valid_until)}"),
             ("通行证号 Pass", f"{vpass.id}  (serial {vpass.serial})")]
    for label, value in lines:
        pdf.set_xy(x, y)
        pdf.set_font("cjk", size=8.5)
        pdf.set_text_color(90)
        pdf.cell(width, 4.5, label)
        pdf.set_text_color(0)
        pdf.set_font("cjk", size=11)
        pdf.set_xy(x, y + 4.5)
        pdf.multi_cell(width, 5.2, value)
        y = pdf.get_y() + 1.5
    pdf.set_font("cjk", size=9)
    pdf.set_xy(15, qr_top + QR_MM + 4)
    pdf.cell(180, 5, "扫码核验，仅限所列车辆  Scan to verify · valid only for the plate shown")


def _draw_qr(pdf: FPDF, text: str, *, x: float, y: float, size: float) -> None:
    # Vector modules, merged into runs per row: sharp at any printer resolution, and a small file.
    matrix = [list(row) for row in make_qr(text).matrix]
    module = size / len(matrix)
    pdf.set_fill_color(255)
    pdf.rect(x - 4 * module, y - 4 * module, size + 8 * module, size + 8 * module, style="F")  # quiet zone
    pdf.set_fill_color(0)
    for r, row in enumerate(matrix):
        c = 0
        while c < len(row):
            if row[c]:
                start = c
                while c < len(row) and row[c]:
                    c += 1
                pdf.rect(x + start * module, y + r * module, (c - start) * module, module, style="F")
            else:
                c += 1


def _local(instant: datetime) -> str:
    return instant.astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M")


def _area_name(code: str, areas: AreaTree) -> str:
    area = areas.get(code)
    return f"{area.name_zh} {area.name_en}" if area else code

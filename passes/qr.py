"""QR rendering (PNG/SVG) of a text at error correction level M, via segno."""

from __future__ import annotations

import io

import segno

ERROR_LEVEL = "M"
BORDER = 4  # the quiet zone ISO/IEC 18004 requires, in modules


def make_qr(text: str) -> segno.QRCode:
    """The segno symbol for `text`: level M, smallest version."""
    # boost_error=False keeps level M even when a higher level would fit in
    # the same version: scanners and docs can rely on one stated level.
    # segno picks the smallest version and, for base45 text, alphanumeric mode.
    return segno.make_qr(text, error=ERROR_LEVEL, boost_error=False)


def render_png(text: str, *, scale: int = 6) -> bytes:
    """PNG bytes, `scale` pixels per module, with the standard quiet zone."""
    buf = io.BytesIO()
    make_qr(text).save(buf, kind="png", scale=scale, border=BORDER)
    return buf.getvalue()


def render_svg(text: str) -> bytes:
    """Standalone SVG document (UTF-8 bytes) with the standard quiet zone."""
    buf = io.BytesIO()
    make_qr(text).save(buf, kind="svg", scale=4, border=BORDER, xmldecl=True)
    return buf.getvalue()


def render_inline_svg(text: str) -> str:
    """An <svg> element to place inside an HTML page: no XML declaration, no fixed size but a viewBox, so
    the page's stylesheet sets how large it prints (one unit per module, quiet zone included)."""
    buf = io.BytesIO()
    make_qr(text).save(buf, kind="svg", scale=1, border=BORDER, xmldecl=False, omitsize=True, svgclass="qr-code")
    return buf.getvalue().decode("utf-8")


def qr_version(text: str) -> tuple[int, int]:
    """(version, modules per side) that render_* will produce for `text`."""
    qr = make_qr(text)
    return qr.version, qr.symbol_size(scale=1, border=0)[0]

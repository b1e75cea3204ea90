"""Unit tests for passes.qr: level M, smallest version, PNG/SVG, decode round trip."""

import struct
import zlib

import pytest
import zxingcpp  # pinned in requirements-dev.txt: the decode test must run, never skip

from passes.qr import make_qr, qr_version, render_inline_svg, render_png, render_svg

SHORT = "GL1:HELLO WORLD"
# The worked example of docs/pass-format.md (a typical pass, 220 characters).
TYPICAL = (
    "GL1:TWGSLK/-4N69-09-6LZOC-U9/6B35L*7D M9EY9YCA$98-C3WA07487NDCQMPG8QF60R6.Q8$PGDE3.GGMD3"
    "Q+7FQHDE30*GMS0WY0AEDK79I+0JEDBPG27BTKO5*NGIAA4HPS2V4EP HMG4.2JEJUL$6ZDRK:K54OH8PT2A87S6"
    "X6%EUKO8%1QMHI5M6I2JC5UL17W0VC3F1YVYUF8CPAMA"
)


def test_level_m_alphanumeric_smallest_version():
    for text in (SHORT, TYPICAL):
        qr = make_qr(text)
        # boost_error would raise a short text to level Q/H: it must stay M.
        assert qr.error == "M" and qr.mode == "alphanumeric"
    assert qr_version(SHORT) == (1, 21)
    assert qr_version("GL1:" + "A" * 217) == (8, 49)  # 221 chars: v8-M capacity
    assert qr_version("GL1:" + "A" * 218) == (9, 53)
    assert qr_version("GL1:" + "A" * 258) == (9, 53)  # 262 chars: v9-M capacity
    assert qr_version("GL1:" + "A" * 259) == (10, 57)
    assert len(TYPICAL) == 220
    assert qr_version(TYPICAL) == (8, 49)


def test_modules_per_side_formula():
    for n in (1, 50, 200, 600):
        version, modules = qr_version("GL1:" + "9" * n)
        assert modules == 17 + 4 * version


def decode_png_gray(png: bytes) -> tuple[int, int, bytes]:
    """Tiny PNG reader for segno's output: 1-bit greyscale, filters None/Sub/Up."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(png):
        (n,) = struct.unpack(">I", png[pos:pos + 4])
        chunks.setdefault(png[pos + 4:pos + 8], []).append(png[pos + 8:pos + 8 + n])
        pos += 12 + n
    w, h, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"][0])
    assert (depth, color, interlace) == (1, 0, 0)
    raw = zlib.decompress(b"".join(chunks[b"IDAT"]))
    stride, prev, pixels = (w + 7) // 8, bytearray((w + 7) // 8), bytearray()
    for y in range(h):
        start = y * (stride + 1)
        kind, row = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            if kind == 1 and i:
                row[i] = (row[i] + row[i - 1]) & 0xFF
            elif kind == 2:
                row[i] = (row[i] + prev[i]) & 0xFF
            else:
                assert kind in (0, 1)
        pixels += bytes(255 if row[x >> 3] & (0x80 >> (x & 7)) else 0 for x in range(w))
        prev = row
    return w, h, bytes(pixels)


def test_png_and_svg():
    png = render_png(SHORT, scale=6)
    w, h, pixels = decode_png_gray(png)
    assert w == h == (21 + 2 * 4) * 6  # 4-module quiet zone on each side
    assert pixels[:w * 6 * 4] == b"\xff" * (w * 6 * 4)  # quiet zone is white
    svg = render_svg(SHORT)
    assert svg.startswith(b"<?xml") and b"<svg" in svg and svg.rstrip().endswith(b"</svg>")


def test_the_svg_for_a_page_scales_with_its_stylesheet():
    """A page sets the printed size in CSS: that needs a viewBox (one unit per module) and no fixed size."""
    svg = render_inline_svg(SHORT)
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert 'viewBox="0 0 29 29"' in svg  # 21 modules and a 4-module quiet zone each side
    assert " width=" not in svg and " height=" not in svg and " style=" not in svg


@pytest.mark.parametrize("text", [SHORT, TYPICAL])
def test_png_decodes_back_to_the_exact_text(text):
    w, h, pixels = decode_png_gray(render_png(text, scale=4))
    result = zxingcpp.read_barcode(memoryview(pixels).cast("B", (h, w)),
                                   formats=zxingcpp.BarcodeFormat.QRCode)
    assert result is not None and result.text == text
    assert result.format == zxingcpp.BarcodeFormat.QRCode

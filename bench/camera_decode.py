"""The scanner's camera where the browser has no BarcodeDetector (iOS Safari, headless Chromium): the zxing
library the app serves (web/static/vendor/zxing-library-*), through the page's own decoder (canvasDecoder of
web/static/scan/camera.js), in Debian's headless Chromium. Figures: the library's size, and the time to decode
a 640×480 frame showing a typical pass's QR code, and one showing none (what most frames are while aiming)."""
import gzip
import os
import threading
from pathlib import Path

import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from werkzeug.serving import make_server

from bench.world import migrated_app, sqlite_url
from core.signing import Signer
from passes.format import PassClaims, issue_qr_text

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ROOT / "web" / "static" / "vendor" / "zxing-library-0.23.0" / "index.min.js"
CHROMIUM = "/usr/bin/chromium"
WIDTH, HEIGHT = 640, 480

# In the page: draw the code (or nothing) on a grey 640×480 canvas, decode it `runs` times, return each time.
MEASURE = """async ([uri, runs]) => {
    const { canvasDecoder } = await import('/static/scan/camera.js');
    const decode = await canvasDecoder();
    const canvas = document.createElement('canvas');
    canvas.width = %d; canvas.height = %d;
    const context = canvas.getContext('2d', { willReadFrequently: true });
    context.fillStyle = '#c8c8c8';
    context.fillRect(0, 0, canvas.width, canvas.height);
    if (uri) {
        const image = new Image();
        image.src = uri;
        await image.decode();
        context.drawImage(image, 170, 60);
    }
    const times = [];
    let text = null;
    for (let i = 0; i < runs; i++) {
        const start = performance.now();
        text = decode(canvas);
        times.push(performance.now() - start);
    }
    return { text, times };
}""" % (WIDTH, HEIGHT)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def camera_decode(workdir: Path, *, quick: bool) -> dict:
    from playwright.sync_api import sync_playwright
    if not os.path.exists(CHROMIUM):
        return {"error": "needs Debian's chromium"}
    text = issue_qr_text(Signer(Ed25519PrivateKey.generate()), PassClaims(
        pass_id="7K3M9QXA", serial=123456, plate="粤B12345D", scope=(440304001, 440304002, 440305003),
        category="vegetables", valid_from=1773475200, valid_until=1773475200 + 7 * 86400))
    code = segno.make(text, error="M", boost_error=False)
    uri = code.png_data_uri(scale=5, border=4)
    runs = 30 if quick else 200
    library = LIBRARY.read_bytes()
    app = migrated_app(sqlite_url(workdir, "camera"))
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            try:
                page = browser.new_page()
                page.goto(f"http://127.0.0.1:{httpd.server_port}/scan")
                found = page.evaluate(MEASURE, [uri, runs])
                empty = page.evaluate(MEASURE, [None, runs])
            finally:
                browser.close()
    finally:
        httpd.shutdown()
        thread.join(timeout=10)
    first = found["times"][0]  # the first decode also warms the JIT
    found_times = found["times"][1:]
    return {"library": LIBRARY.relative_to(ROOT).as_posix(), "library_bytes": len(library),
            "library_gzip_bytes": len(gzip.compress(library, 9)),
            "frame": f"{WIDTH}x{HEIGHT}", "qr_version": code.version, "qr_chars": len(text), "runs": runs,
            "decoded": found["text"] == text, "first_ms": round(first, 1),
            "p50_ms": _percentile(found_times, .5), "p99_ms": _percentile(found_times, .99),
            "no_code_p50_ms": _percentile(empty["times"], .5), "no_code_p99_ms": _percentile(empty["times"], .99),
            "met": found["text"] == text and empty["text"] is None}

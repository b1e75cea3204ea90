"""The scanner (/scan) at phone size in Debian's headless Chromium: after a scan the verdict, its reasons and the
plate are on the first screen (390×844, zh and en, accepted and refused); its times are Beijing time whatever
the device's time zone, with the age of the synced data; and without BarcodeDetector (headless Chromium, like
iOS Safari) the camera still reads a pass through the zxing decoder the app serves, from a fake camera."""
import os
import re
from datetime import datetime, timedelta, timezone

import pytest
import segno
from sqlalchemy import select

from checkpoints.models import Scan
from core.accounts import SYSTEM
from passes import services
from passes.models import VehiclePass
from tests.browser.conftest import CHROMIUM, TIMEOUT_MS
from tests.browser.shots import CHROMIUM_ARGS, LOCALES, layout_problems, screenshot_dir, watch_errors
from tests.browser.test_scanner_page import PLATES, clock, world  # noqa: F401 -- fixture

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium (apt-get install chromium)")
PHONE = {"width": 390, "height": 844}
BEIJING = timezone(timedelta(hours=8))
FAR_ZONE = "America/New_York"  # the device's own zone: never what the page shows
WORDS = {"zh": {"accept": "通过", "reject": "拒绝", "revoked": "通行证已吊销", "plate": "车牌不符", "bj": "（北京时间）",
                "now": "（刚刚）", "hours": "（3 小时前）"},
         "en": {"accept": "ACCEPT", "reject": "REJECT", "revoked": "Pass revoked", "plate": "Plate does not match",
                "bj": " (Beijing time)", "now": " (just now)", "hours": " (3 h ago)"}}


def signed_in_phone(browser, server: str, token: str, language: str):
    """A phone-sized page in `language`, on a device set to New York time, signed in at /scan and synced."""
    context = browser.new_context(locale=LOCALES[language], viewport=PHONE, timezone_id=FAR_ZONE)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors = watch_errors(context, page)
    sign_in(page, server, token)
    return context, page, errors


def sign_in(page, server: str, token: str) -> None:
    page.goto(f"{server}/scan")
    page.fill("#token", token)
    page.click("#signin-btn")
    page.wait_for_selector("#scanner:not([hidden])")
    page.wait_for_function("() => document.getElementById('last-sync').textContent !== '—'")


def scan(page, qr: str, plate: str = "") -> None:
    page.evaluate("() => { const v = document.getElementById('verdict'); v.hidden = true; delete v.dataset.verdict; }")
    page.fill("#plate", plate)
    page.fill("#qr", qr)
    page.press("#qr", "Enter")
    page.wait_for_selector("#verdict[data-verdict]:not([hidden])")


def off_screen(page) -> list[str]:
    """The parts an officer must see at a glance that are not wholly inside the viewport."""
    return page.evaluate("""() => ['verdict-word', 'verdict-mode', 'plate-big', 'plate-seen', 'reasons'].flatMap(id => {
        const r = document.getElementById(id).getBoundingClientRect();
        if (r.height === 0) return [];  // empty: not shown
        return r.top >= 0 && r.bottom <= window.innerHeight && r.left >= 0 && r.right <= window.innerWidth
            ? [] : [`${id}: ${Math.round(r.top)}..${Math.round(r.bottom)} of ${window.innerHeight}`];
    })""")


def beijing(moment: datetime) -> datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(BEIJING)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_at_phone_size_the_verdict_its_reasons_and_the_plate_are_on_the_first_screen(app, session, server, browser,
                                                                                      world, language):  # noqa: F811
    services.change_pass_status(session, world["revoked"]["id"], "revoke", actor=SYSTEM,
                                areas=app.extensions["areas"], reason="吊销 test", now=clock())
    words = WORDS[language]
    context, page, errors = signed_in_phone(browser, server, world["officer"], language)

    scan(page, world["valid"]["qr"], plate=PLATES[0])
    assert page.text_content("#verdict-word") == words["accept"] and page.text_content("#plate-big") == PLATES[0]
    assert off_screen(page) == [] and layout_problems(page) == []
    page.screenshot(path=str(screenshot_dir() / f"scan-phone-accept-{language}-390x844.png"))

    # The officer scrolled down to read the details; the next verdict comes back up on its own.
    page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
    scan(page, world["revoked"]["qr"], plate="粤B99999")
    assert page.text_content("#verdict-word") == words["reject"] and page.text_content("#plate-big") == PLATES[1]
    reasons = page.eval_on_selector_all("#reasons li", "items => items.map(li => li.textContent)")
    assert reasons[0] == words["revoked"] and reasons[1].startswith(words["plate"]) and len(reasons) == 2
    assert off_screen(page) == [] and layout_problems(page) == []
    page.screenshot(path=str(screenshot_dir() / f"scan-phone-reject-{language}-390x844.png"))

    # A verdict longer than the screen below the form (five reasons, two plates) moves up to the top.
    page.evaluate("""async () => { const view = await import('/static/scan/view.js');
        view.showVerdict({ verdict: 'reject', plateSeen: '粤B99999',
            reasons: ['expired', 'out_of_scope', 'plate_mismatch', 'site_required', 'test_stale'],
            pass: { id: 'X', plate: '粤Z1234港', hk_plate: 'FV1234', validUntil: 0, scope: [], firm: '', drivers: [] } },
            'offline'); }""")
    assert len(page.query_selector_all("#reasons li")) == 5 and off_screen(page) == []
    context.close()
    assert errors == []


def test_times_are_beijing_time_with_the_age_of_the_synced_data(app, server, browser, world):  # noqa: F811
    with app.extensions["db"].sessionmaker() as s:
        valid_until = beijing(s.get(VehiclePass, world["valid"]["id"]).valid_until)
    for language in ("zh", "en"):
        words = WORDS[language]
        context, page, errors = signed_in_phone(browser, server, world["officer"], language)
        synced = page.text_content("#last-sync")
        assert re.fullmatch(r"\d\d:\d\d" + re.escape(words["now"]), synced), synced
        now = datetime.now(BEIJING)
        assert synced[:5] in {(now - timedelta(minutes=m)).strftime("%H:%M") for m in (0, 1)}

        scan(page, world["valid"]["qr"])
        assert f"{valid_until:%Y-%m-%d %H:%M}{words['bj']}" in page.text_content("#details")

        # Offline, the data grows old: the line says how old (here: synced 3 h 5 min ago, per the device).
        page.evaluate("() => localStorage.setItem('gl.scan.lastSync', JSON.stringify(Date.now() - 185 * 60000))")
        context.set_offline(True)
        page.wait_for_selector("#net[data-online='false']")
        then = datetime.now(BEIJING) - timedelta(minutes=185)
        shown = page.text_content("#last-sync")
        # A sync on an earlier Beijing day shows its date too (clock.js beijingTime; a run between 00:00 and
        # 03:05 Beijing time sees it).
        today = datetime.now(BEIJING).date()
        assert shown.endswith(words["hours"]) and shown.removesuffix(words["hours"]) in {
            t.strftime("%H:%M" if t.date() == today else "%Y-%m-%d %H:%M")
            for t in (then - timedelta(minutes=m) for m in (0, 1))}, shown
        context.close()
        assert errors == []


def test_beijing_time_without_the_browsers_time_zone_data_falls_back_to_utc_plus_8(server, browser):
    """An engine without ICU time zones throws a RangeError for timeZone: the fixed +8 hours give the same text."""
    instants = [0, 1767196800000 - 1, 1767196800000, 1780000000000 + 59999, 1700000000000 + 86400000 * 200]
    expected = [datetime.fromtimestamp(ms / 1000, BEIJING).strftime("%Y-%m-%d %H:%M") for ms in instants]
    results = []
    for without_zones in (False, True):
        context = browser.new_context(locale="zh-CN", timezone_id=FAR_ZONE)
        if without_zones:
            context.add_init_script("""{ const Real = Intl.DateTimeFormat;
                Intl.DateTimeFormat = function (locale, options) {
                    if (options && options.timeZone) throw new RangeError('Invalid time zone specified');
                    return new Real(locale, options); }; }""")
        page = context.new_page()
        page.goto(f"{server}/scan")
        results.append(page.evaluate("""async instants => {
            const clock = await import('/static/scan/clock.js');
            return instants.map(ms => clock.beijingDateTime(ms)); }""", instants))
        context.close()
    assert results == [expected, expected]


def fake_camera_video(text: str, path) -> None:
    """A 640×480 YUV4MPEG2 clip (what Chromium's fake camera plays, in a loop) of a QR code of `text` on a
    light grey background, a little off-centre, at three sizes and places in turn, as a hand-held phone sees
    a printed pass move."""
    width, height = 640, 480
    matrix = [list(row) for row in segno.make(text, error="m", micro=False).matrix]
    chroma = bytes([128]) * (width // 2 * height // 2)
    frames = []
    largest = min(400 // (len(matrix) + 8), 8)
    for scale, left, top in ((largest, 150, 30), (largest - 1, 170, 50), (largest - 2, 190, 70)):
        luma = bytearray([200]) * (width * height)
        size = (len(matrix) + 8) * scale
        for y in range(size):
            row = (y // scale) - 4
            for x in range(size):
                column = (x // scale) - 4
                dark = 0 <= row < len(matrix) and 0 <= column < len(matrix) and matrix[row][column]
                luma[(top + y) * width + left + x] = 30 if dark else 245
        frames.append(b"FRAME\n" + bytes(luma) + chroma + chroma)
    path.write_bytes(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode() + b"".join(frames))


@pytest.fixture
def camera_browser(world, tmp_path):  # noqa: F811
    """Chromium whose camera (a fake device) films the valid pass of `world`; pages may use it when their
    context is granted the permission."""
    from playwright.sync_api import sync_playwright
    video = tmp_path / "pass.y4m"
    fake_camera_video(world["valid"]["qr"], video)
    args = CHROMIUM_ARGS + ["--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={video}"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args, timeout=TIMEOUT_MS)
        try:
            yield browser
        finally:
            browser.close()


def test_without_barcode_detector_the_camera_reads_the_pass_with_the_served_zxing(app, server, world,  # noqa: F811
                                                                                 camera_browser):
    context = camera_browser.new_context(locale="zh-CN", viewport=PHONE, timezone_id=FAR_ZONE, permissions=["camera"])
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors = watch_errors(context, page)
    sign_in(page, server, world["officer"])
    assert page.evaluate("() => 'BarcodeDetector' in window") is False  # the zxing path, as on iOS Safari
    page.wait_for_selector("#camera-btn:not([hidden])")
    page.fill("#plate", PLATES[0])
    page.click("#camera-btn")
    try:
        page.wait_for_selector("#verdict[data-verdict]:not([hidden])")
    except Exception:
        shown = page.evaluate("() => ['scan-error', 'camera-btn', 'sync-error'].map(id => "
                              "id + ': ' + document.getElementById(id).textContent).concat([(v => "
                              "`video ${v.videoWidth}x${v.videoHeight} paused=${v.paused} ready=${v.readyState} "
                              "hidden=${v.hidden}`)(document.getElementById('camera'))])")
        decoded = page.evaluate("""async () => { const { canvasDecoder } = await import('/static/scan/camera.js');
            const v = document.getElementById('camera'), c = document.createElement('canvas');
            c.width = v.videoWidth; c.height = v.videoHeight; c.getContext('2d').drawImage(v, 0, 0);
            const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            return [(await canvasDecoder())(c), px[0], px[4 * (c.width * 240 + 320)]]; }""")
        frame = screenshot_dir() / "scan-phone-camera-no-read.png"
        page.locator("#camera").screenshot(path=str(frame))  # what the camera showed, for a look
        frame.with_suffix(".txt").write_text(world["valid"]["qr"], encoding="ascii")  # the code it should read
        raise AssertionError(f"no verdict from the camera; page: {shown}; frame now (decoded text, pixel at "
                             f"0,0 and at the centre): {decoded}, see {frame}; console: {errors}") from None
    assert page.evaluate("() => typeof globalThis.ZXing.QRCodeReader") == "function"
    assert (page.text_content("#verdict-word"), page.get_attribute("#verdict", "data-mode"),
            page.text_content("#plate-big")) == ("通过", "online", PLATES[0])
    assert page.is_hidden("#camera") and page.text_content("#camera-btn") == "摄像头"  # closed after the read
    assert page.input_value("#plate") == "" and off_screen(page) == []
    page.screenshot(path=str(screenshot_dir() / "scan-phone-camera-zh-390x844.png"))

    # A second press while the browser is still opening the camera closes it: nothing is read, nothing scanned.
    page.evaluate("""() => { const v = document.getElementById('verdict'); v.hidden = true; delete v.dataset.verdict;
                             const b = document.getElementById('camera-btn'); b.click(); b.click(); }""")
    page.wait_for_timeout(1500)  # the camera would have read the pass by now
    assert page.is_hidden("#camera") and page.is_hidden("#verdict")
    assert page.evaluate("() => document.getElementById('camera').srcObject") is None
    context.close()
    with app.extensions["db"].sessionmaker() as s:
        scans = list(s.scalars(select(Scan)))
    assert [(x.pass_id, x.verdict.value, x.plate_seen) for x in scans] == [(world["valid"]["id"], "accept", PLATES[0])]
    assert errors == []


def test_a_camera_refused_by_the_officer_says_what_to_do_instead(app, server, world, camera_browser):  # noqa: F811
    context = camera_browser.new_context(locale="en-US", viewport=PHONE)  # no camera permission
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    sign_in(page, server, world["officer"])
    page.click("#camera-btn")
    page.wait_for_function("() => document.getElementById('scan-error').textContent !== ''")
    assert page.text_content("#scan-error").startswith("Camera not allowed. Allow this site to use the camera")
    assert page.is_hidden("#camera") and page.text_content("#camera-btn") == "Camera"
    assert page.is_hidden("#verdict")
    context.close()
    with app.extensions["db"].sessionmaker() as s:
        assert list(s.scalars(select(Scan))) == []


def test_a_device_without_a_camera_is_offered_none_or_told_what_to_use(server, browser, world):  # noqa: F811
    # A computer that lists its devices, none a camera (a checkpoint PC with a handheld scanner): no button.
    context = browser.new_context(locale="en-US", viewport=PHONE)
    context.add_init_script("window.listed = 0; navigator.mediaDevices.enumerateDevices = async () => "
                            "{ window.listed++; return [{kind: 'audioinput', deviceId: '', label: '', groupId: ''}]; };")
    page = context.new_page()
    sign_in(page, server, world["officer"])
    page.wait_for_function("() => window.listed > 0")
    page.wait_for_timeout(100)  # the page's answer to its look at the device list is in by now
    assert page.is_hidden("#camera-btn")
    context.close()
    # A browser that lists nothing before the permission (headless Chromium has no device at all): offered,
    # and a press says to use the handheld scanner or type the code.
    context = browser.new_context(locale="en-US", viewport=PHONE, permissions=["camera"])
    page = context.new_page()
    sign_in(page, server, world["officer"])
    page.click("#camera-btn")
    page.wait_for_function("() => document.getElementById('scan-error').textContent !== ''")
    assert page.text_content("#scan-error") == "No camera found. Use a handheld scanner or type the QR code's text."
    assert page.is_hidden("#camera") and page.text_content("#camera-btn") == "Camera"
    context.close()

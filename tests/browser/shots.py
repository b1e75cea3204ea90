"""Screenshots of pages for a reviewer: PNGs at phone (390×844) and desk (1280×900) size, in zh and en,
written to $GREENLANE_SCREENSHOTS (default: screenshots/ in the repository root, gitignored).

Also the checks every person-facing page should pass at both sizes: no sideways scrolling, no control
smaller than a fingertip, no CSP violation, no console error."""
import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SIZES = {"phone": (390, 844), "desk": (1280, 900)}
LOCALES = {"zh": "zh-CN", "en": "en-US"}
MIN_TARGET_PX = 44
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
# Controls a person taps; plain links inside running text are exempt, as WCAG 2.5.8 allows.
TARGETS = "header a, header button, main button, main input, main select, main .button, main .action"


def screenshot_dir() -> Path:
    folder = Path(os.environ.get("GREENLANE_SCREENSHOTS") or ROOT / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass
class Shot:
    language: str
    size: str
    path: Path
    page: object  # the Playwright page, still open while the check runs


def watch_errors(context, page) -> list[str]:
    """Collect console errors, page errors and CSP violations of a page (the list fills as it runs)."""
    context.add_init_script("document.addEventListener('securitypolicyviolation', e => console.error("
                            "'CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));")
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    return errors


def layout_problems(page) -> list[str]:
    """What a person would trip over: sideways scrolling, small tap targets, small body text."""
    return page.evaluate("""([selector, minimum]) => {
        const problems = [];
        const doc = document.documentElement;
        if (doc.scrollWidth > window.innerWidth) problems.push(`scrolls sideways: ${doc.scrollWidth}px wide`);
        for (const el of document.querySelectorAll(selector)) {
            const r = el.getBoundingClientRect();
            if (r.width === 0 && r.height === 0) continue;  // not shown
            if (r.height < minimum || r.width < minimum)
                problems.push(`small target ${el.tagName} "${el.textContent.trim().slice(0, 30)}": ${r.width}x${r.height}`);
        }
        const size = parseFloat(getComputedStyle(document.body).fontSize);
        if (size < 16) problems.push(`body text ${size}px`);
        return problems;
    }""", [TARGETS, MIN_TARGET_PX])


def take_screenshots(browser, url: str, name: str, *, check=None, status: int = 200,
                     languages=tuple(LOCALES), cookies=None) -> list[Path]:
    """Open `url` in a fresh context per language and size (with `cookies`, e.g. a signed-in session),
    expect `status`, run `check(shot)`, save a full-page PNG named <name>-<language>-<width>x<height>.png.
    Returns the paths written."""
    written = []
    for language in languages:
        for size, (width, height) in SIZES.items():
            context = browser.new_context(locale=LOCALES[language], viewport={"width": width, "height": height},
                                          timezone_id="Asia/Shanghai")
            if cookies:
                context.add_cookies(cookies)
            try:
                page = context.new_page()
                errors = watch_errors(context, page)
                response = page.goto(url, wait_until="networkidle")
                assert response.status == status, f"{name}: HTTP {response.status}"
                path = screenshot_dir() / f"{name}-{language}-{width}x{height}.png"
                if check:
                    check(Shot(language, size, path, page))
                page.screenshot(path=str(path), full_page=True)
                # Chromium logs an expected error status of the page itself as a console error.
                expected = f"the server responded with a status of {status}"
                errors = [e for e in errors if status == 200 or expected not in e]
                assert errors == [], f"{name} {language} {size}: {errors}"
                written.append(path)
            finally:
                context.close()
    return written

"""Languages of the pages: Chinese (zh_Hans_CN) first, English beside it; the gettext helpers to use.

Source strings are written in Chinese; the English catalog (web/translations/en) translates them. The
locale comes from the language-switch cookie, else the browser's Accept-Language, else Chinese.
"""
from pathlib import Path

from flask import Flask, request
from flask_babel import Babel, force_locale, get_locale, gettext, lazy_gettext, ngettext
from markupsafe import Markup

__all__ = ["gettext", "lazy_gettext", "ngettext", "_", "_l", "current_language", "init_app",
           "language_code", "LANGUAGES", "DEFAULT_LOCALE", "LOCALE_COOKIE"]

_ = gettext
_l = lazy_gettext  # for strings built at import time (form labels, schema messages)

TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"
DEFAULT_LOCALE = "zh_Hans_CN"
LOCALE_COOKIE = "greenlane_lang"
# The short code used in URLs and the cookie → the Babel locale it selects.
LANGUAGES = {"zh": DEFAULT_LOCALE, "en": "en"}
# Labels of the switch, each in its own language (a reader must find theirs whatever is shown).
LANGUAGE_NAMES = {"zh": "中文", "en": "English"}


def language_code(value: str | None) -> str | None:
    """The short code ('zh' or 'en') for a code as a person or a browser may write it, or None."""
    if not value:
        return None
    primary = value.strip().replace("_", "-").split("-")[0].lower()
    return primary if primary in LANGUAGES else None


def select_locale() -> str:
    """Cookie set by the language switch, else the browser's preference, else Chinese."""
    chosen = language_code(request.cookies.get(LOCALE_COOKIE))
    if chosen is None:
        chosen = language_code(request.accept_languages.best_match(list(LANGUAGES), default="zh"))
    return LANGUAGES[chosen or "zh"]


def current_language() -> str:
    """'zh' or 'en' for the request being answered."""
    return language_code(str(get_locale())) or "zh"


def html_lang() -> str:
    """The value of <html lang> for the request being answered."""
    return "zh-CN" if current_language() == "zh" else "en"


def N_(message: str) -> str:
    """Mark a string for the catalog without translating it here (`both` translates it twice)."""
    return message


def both(message) -> Markup:
    """Chinese, then English beside it, whatever the reader chose: for what is posted where anyone may read
    it (the windscreen pass and its "must not be used" page). `message` is a msgid marked with N_ or a
    lazy string."""
    texts = []
    for locale in (DEFAULT_LOCALE, "en"):
        with force_locale(locale):
            texts.append(gettext(message) if isinstance(message, str) else str(message))
    if texts[0] == texts[1]:
        return Markup("{}").format(texts[0])
    return Markup('<span lang="zh-CN">{}</span> <span class="en" lang="en">{}</span>').format(*texts)


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS_DIR))
    Babel(app, locale_selector=select_locale)
    app.jinja_env.globals.update(current_language=current_language, html_lang=html_lang,
                                 language_names=LANGUAGE_NAMES, both=both, N_=N_)

"""The English catalog covers every string the web pages mark for translation, and the compiled .mo that
the app loads is the one its .po gives (a stale .mo would show Chinese to English readers)."""
import gettext
from io import BytesIO
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
EN = ROOT / "web" / "translations" / "en" / "LC_MESSAGES"


def marked_strings() -> set[str]:
    """Every msgid marked in web/ (Python and templates), as `pybabel extract -F babel.cfg` finds them."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    found = extract_from_dir(str(ROOT / "web"), method_map, options_map,
                             keywords={"_": None, "gettext": None, "ngettext": (1, 2), "_l": None,
                                       "lazy_gettext": None})
    ids = set()
    for _filename, _lineno, message, _comments, _context in found:
        ids.update(message if isinstance(message, tuple) else (message,))
    return ids


def english_catalog():
    with open(EN / "messages.po", "rb") as f:
        return read_po(f, locale="en")


def test_the_pages_mark_strings_for_translation_at_all():
    assert {"保供车辆，有序通行", "查询白名单企业", "请从列表中选择一个区。"} <= marked_strings()


def test_every_marked_string_has_an_english_translation():
    catalog = english_catalog()
    missing = sorted(m for m in marked_strings() if m not in catalog or not catalog[m].string)
    assert missing == [], "add these to web/translations/en/LC_MESSAGES/messages.po: " + repr(missing)
    fuzzy = sorted(m.id for m in catalog if m.id and m.fuzzy)
    assert fuzzy == [], f"fuzzy (unchecked) translations: {fuzzy}"


def test_translations_keep_every_placeholder():
    problems = [(m.id, [str(e) for e in errors]) for m, errors in english_catalog().check()]
    assert problems == []


def test_the_compiled_catalog_is_up_to_date_with_its_source():
    fresh = BytesIO()
    write_mo(fresh, english_catalog())
    fresh.seek(0)
    with open(EN / "messages.mo", "rb") as f:
        committed = gettext.GNUTranslations(f)
    expected = gettext.GNUTranslations(fresh)
    assert committed._catalog == expected._catalog, "run `pybabel compile -d web/translations` (make does)"

"""The pre-parse JSON nesting check (issue 13, item 7): depth counted outside strings, unbalanced text too."""
import pytest

from core.http import MAX_JSON_DEPTH, json_too_deep


@pytest.mark.parametrize("body,deep", [
    (b"", False),
    (b'{"a": [1, 2, {"b": []}]}', False),
    (b"[" * 64 + b"]" * 64, False),
    (b"[" * 65 + b"]" * 65, True),
    (b'{"a":' * 65 + b"1" + b"}" * 65, True),
    (b"[" * 5000, True),                       # never closed: the parser would still descend 5,000 levels
    (b"[" * 5000 + b"}" * 5000, True),          # mismatched closers
    (b'["' + b"[" * 5000 + b'"]', False),       # brackets inside a string are text
    (b'["\\"' + b"{" * 5000 + b'"]', False),    # an escaped quote does not end the string
    (b'["\\\\"' + b"[" * 100 + b"]" * 100 + b"]", True),  # an escaped backslash does
    (b"[[],[],[]]" * 10_000, False),
    (b"[]" * 40_000 + b"[" * 65, True),                      # past the first 64 KiB slice
    (b"[" * 60 + b"[]" * 50_000 + b"]" * 60, False),        # the depth carries across slices
    (b"[" * 60 + b"[]" * 50_000 + b"[[[[[" + b"]" * 65, True),
])
def test_nesting_is_measured_outside_strings(body, deep):
    assert json_too_deep(body) is deep


def test_the_limit_is_a_parameter():
    assert MAX_JSON_DEPTH == 64
    assert json_too_deep(b"[[[]]]", limit=2) and not json_too_deep(b"[[[]]]", limit=3)

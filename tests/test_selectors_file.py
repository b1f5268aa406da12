"""The locator file is data, validated with messages that name the bad entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.fingerprint import shape, shape_diff
from flows.locators import SelectorFileError, load_selector_book

ROOT = Path(__file__).resolve().parent.parent


def test_the_shipped_file_is_valid_and_role_first() -> None:
    book = load_selector_book(ROOT / "selectors" / "munich.toml")
    assert "7.4" in book.written_for
    for name in ("next", "service_search", "slot_button", "first_name", "reserve", "office_checkbox"):
        assert book.strategies(name)[0].kind in ("role", "label", "text"), name
    assert not list((ROOT / "selectors").glob("*.py"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[meta]\nsite="x"\nwritten_for="y"\n[controls.next]\nstrategies=[{kind="xpath", xpath="//a"}]',
         "controls.next.strategies[0]: kind 'xpath'"),
        ('[meta]\nsite="x"\nwritten_for="y"\n[controls.next]\nstrategies=[{kind="role"}]',
         "controls.next.strategies[0]: missing ['role']"),
        ('[meta]\nsite="x"\nwritten_for="y"\n[controls.slot]\nstrategies=[{kind="css", css="#{office}"}]',
         "controls.slot.strategies[0]: unknown placeholder(s) ['office']"),
        ('[meta]\nsite="x"\nwritten_for="y"\n[controls.next]\nstrategies=[]', "controls.next: needs a non-empty"),
        ('[meta]\nsite="x"\n[controls.next]\nstrategies=[{kind="css", css="a"}]', "[meta].written_for"),
        ('[meta\nsite="x"', "not valid TOML"),
        ('[meta]\nsite="x"\nwritten_for="y"\n[controls.next]\nstrategies=[{kind="css", css="a", colour="red"}]',
         "unknown key(s) ['colour']"),
    ],
)
def test_bad_files_are_refused_with_the_entry_named(tmp_path, text, message) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(SelectorFileError) as caught:
        load_selector_book(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_shapes_ignore_values_and_tolerate_nulls_and_empty_lists() -> None:
    old = shape({"a": 1, "b": "x", "c": [{"d": None}], "e": None})
    new = shape({"a": 2, "b": "y", "c": [], "e": "now set", "f": True})
    assert shape_diff(old, new) == []
    assert shape_diff(shape({"a": 1}), shape({"a": "1"})) == [".a: number became string"]
    assert shape_diff(shape({"a": {"b": 1}}), shape({"a": {}})) == [".a.b: field removed"]

"""docs/backends.md's capability table is the one the engines' declarations generate."""

from pathlib import Path

from snnsim.backends.base import capability_table


def test_the_documented_capability_table_matches_the_declarations():
    text = (Path(__file__).resolve().parent.parent / "docs" / "backends.md").read_text()
    start, end = "<!-- capability-table -->\n", "\n<!-- /capability-table -->"
    assert start in text and end in text
    documented = text[text.index(start) + len(start):text.index(end)]
    assert documented == capability_table()

"""A list cell of the CSV export (sectors, labels, indicator types) read back by cbm's own CSV import: every item
whole, whatever it holds (a comma, a semicolon, a pipe, space at its edges, a bracket, a formula), and feeds
that separate items by ``;`` ``,`` or ``|`` read as they always were
(docs/adr/0277-csv-list-cells-round-trip.md). Through the real reader (``formats.csv.read``), both its paths."""

from __future__ import annotations

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from cbm.measures.indicators import rows as R
from cbm.measures.indicators.formats import Defaults, Item, ReadNotes
from cbm.measures.indicators.formats import csv as csv_format
from cbm.measures.indicators.formats.csv import as_read, spreadsheet_safe
from cbm.measures.indicators.formats.list_cells import list_cell, split_items

# items made mostly of what matters here (separators, space, brackets, quotes, formula starts), so edges come up
HOSTILE = st.text(alphabet=st.sampled_from(",;|[]\"' =+-@\t\\ab") | st.characters(blacklist_categories=("Cs",)),
                  min_size=1, max_size=10)
ITEMS = st.lists(HOSTILE, min_size=1, max_size=5, unique=True)


def _read(header: str, line: str) -> Item:
    """The one item the real CSV reader makes of ``header`` and one data ``line``."""
    items = list(csv_format.read(io.StringIO(header + "\n" + line + "\n"),
                                 Defaults(author="US", tlp="GREEN", now="2026-12-07T00:00:00Z"), ReadNotes()))
    assert len(items) == 1 and isinstance(items[0], Item), items
    return items[0]


def _line(*cells: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)  # as the export writes a line
    return buffer.getvalue()[:-1]


@given(ITEMS)
def test_a_list_cell_gives_back_every_item_exactly(items: list[str]):
    assert split_items(as_read(spreadsheet_safe(list_cell(items)))) == items


@given(ITEMS, ITEMS)
def test_the_csv_import_reads_exported_label_and_type_cells_whole(labels: list[str], types: list[str]):
    cells = [spreadsheet_safe(list_cell(labels)), spreadsheet_safe(list_cell(types))]
    row = _read("value,labels,indicator_types", _line("evil.example", *cells)).row
    assert row[R.LABELS] == labels and row[R.INDICATOR_TYPES] == types


@given(ITEMS)
def test_a_list_cell_never_starts_as_a_formula(items: list[str]):
    assert spreadsheet_safe(list_cell(items))[:1] not in ("=", "+", "-", "@", "\t", "\r")


def test_a_list_that_splits_well_is_written_as_feeds_write_it():
    assert list_cell(["malicious-activity", "c2"]) == "malicious-activity;c2"
    assert list_cell(["APT28, Fancy Bear", "x"]) == '["APT28, Fancy Bear","x"]'


def test_feeds_that_separate_by_comma_semicolon_or_pipe_read_as_before():
    """Third-party cells, fast path (a plain ASCII line) and csv.reader's path (a quoted cell)."""
    plain = _read("value,labels", "evil.example,a;b|c").row
    quoted = _read("value,labels", 'evil.example," a, b ;c|d "').row
    brackets = _read("value,labels", 'evil.example,"[tag1, tag2]"').row  # a feed's brackets: not JSON, split
    not_strings = _read("value,labels", 'evil.example,"[1,2]"').row
    assert plain[R.LABELS] == ["a", "b", "c"] and quoted[R.LABELS] == ["a", "b", "c", "d"]
    assert brackets[R.LABELS] == ["[tag1", "tag2]"] and not_strings[R.LABELS] == ["[1", "2]"]

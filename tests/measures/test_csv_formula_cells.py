"""The CSV export's apostrophe before a cell a spreadsheet would run, and the import's taking it away
(docs/adr/0268-csv-cells-a-spreadsheet-would-run.md): inverse for every text, and never a formula left."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cbm.measures.indicators.formats.csv import as_read, spreadsheet_safe

# texts made mostly of the characters that matter here, so the edge cases come up often
TEXTS = st.text(alphabet=st.sampled_from("'=+-@\t\rab ,;\"") | st.characters(), max_size=12)


@given(TEXTS)
def test_the_import_reads_back_exactly_what_the_export_was_given(text: str):
    assert as_read(spreadsheet_safe(text)) == text


@given(TEXTS)
def test_no_exported_cell_starts_as_a_formula(text: str):
    assert spreadsheet_safe(text)[:1] not in ("=", "+", "-", "@", "\t", "\r")


def test_examples():
    assert spreadsheet_safe("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")"
    assert spreadsheet_safe("'=x") == "''=x" and as_read("''=x") == "'=x"
    assert spreadsheet_safe("it's") == "it's" and as_read("it's") == "it's"
    assert spreadsheet_safe("'quoted'") == "'quoted'" and as_read("'quoted'") == "'quoted'"
    assert spreadsheet_safe("evil.example") == "evil.example" and spreadsheet_safe("") == ""

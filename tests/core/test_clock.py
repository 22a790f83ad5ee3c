"""Times as cbm writes them: ``YYYY`` always four digits (glibc's ``%Y`` writes ``999``), so the strings keep
their shape and sort as the moments do — a record time, a TAXII cursor, a white paper's date."""

from __future__ import annotations

from datetime import UTC, datetime

from cbm.core import clock
from cbm.measures.whitepaper.service import check_date
from cbm.taxii.pull import just_before

MOMENTS = [datetime(1, 1, 1, tzinfo=UTC), datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC),
           datetime(1000, 1, 1, tzinfo=UTC), datetime(2026, 12, 7, 2, 30, tzinfo=UTC)]


def test_iso_times_keep_four_digit_years_and_sort_as_the_moments_do():
    written = [clock.iso(m) for m in MOMENTS]
    assert written[:2] == ["0001-01-01T00:00:00Z", "0999-12-31T23:59:59Z"]
    assert sorted(written) == written
    assert [clock.parse_time(w) for w in written] == MOMENTS


def test_a_taxii_cursor_and_a_white_papers_date_keep_four_digit_years():
    assert just_before("0999-06-01T00:00:00.000Z") == "0999-05-31T23:59:59.999999Z"
    assert check_date("0999-03-04") == "0999-03-04"
    assert check_date("2026-03-04T10:00:00Z") == "2026-03-04"

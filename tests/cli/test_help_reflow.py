"""Help paragraphs wrap at the terminal's width, not at the source file's line breaks (cbm/cli/reflow.py)."""

from __future__ import annotations

from cbm.cli.reflow import reflow
from tests.conftest import run_cli


def test_prose_lines_are_joined_and_structure_is_kept():
    doc = """First line.

        A paragraph written
        over three lines
        of source.

        - a list item
        - another, which goes
          on indented
        1. numbered

        Example:  cbm bundle verify x.cbm \\
                    --deep
    """
    assert reflow(doc) == ("First line.\n\nA paragraph written over three lines of source.\n\n"
                           "- a list item\n- another, which goes\n  on indented\n1. numbered\n\n"
                           "Example:  cbm bundle verify x.cbm \\\n            --deep")
    assert reflow("one line") == "one line" and reflow(None) is None


def test_a_paragraph_fills_the_terminal_at_any_width():
    """Typer keeps a docstring's line breaks: at 80 columns a paragraph of ~110-column source lines came out
    ragged (long, short, long, short), and a wide terminal kept the source's breaks."""
    for width in (80, 120, 200):
        r = run_cli("bundle", "verify", "--help", env={"COLUMNS": str(width), "NO_COLOR": "1"})
        assert r.exit_code == 0, r.stderr
        prose = "Quick (default)" + r.stdout.split("Quick (default)", 1)[1].split("Example", 1)[0]
        lines = [line.strip() for line in prose.splitlines() if line.strip()]
        assert lines[-1].endswith("also when the bundle is refused."), prose
        assert all(len(line) > width * 3 // 4 for line in lines[:-1]), prose  # full lines but the last

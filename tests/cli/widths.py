"""What "fits an 80-column terminal" means in the width tests: every line within the width, except a line that is
a short label and one value scripts need whole (the store's path: as long as the machine's temporary directory
makes it, which the test does not choose). A value is never cut or folded to fit."""

from __future__ import annotations

from collections.abc import Iterable

LABEL = 12  # "store ", "  file ": what may stand beside a whole value on a line that is wider than the terminal


def too_wide(lines: Iterable[str], columns: int = 80, whole: Iterable[str] = ()) -> list[str]:
    """The lines wider than ``columns`` that are not a label and one of the values ``whole`` alone."""
    values = [v for v in whole if v]
    return [line for line in lines if len(line) > columns
            and not any(v in line and len(line.replace(v, "", 1)) <= LABEL for v in values)]

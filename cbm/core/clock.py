"""UTC time, ISO 8601 everywhere. ``CBM_NOW`` fixes the clock (tests, rehearsals, reproducible demos)."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta

from cbm.core.errors import UsageError

_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def now() -> datetime:
    """The current time in UTC, whole seconds; ``$CBM_NOW`` (ISO 8601) overrides it."""
    fixed = os.environ.get("CBM_NOW")
    if fixed:
        return parse_time(fixed, what="CBM_NOW")
    return datetime.now(UTC).replace(microsecond=0)


def iso(moment: datetime) -> str:
    """``2026-11-23T05:13:00Z``."""
    return strftime(moment.astimezone(UTC), _FORMAT)


def strftime(moment: datetime, fmt: str) -> str:
    """``moment.strftime(fmt)`` with ``%Y`` always four digits (``0999``; glibc writes ``999``), so that the
    strings sort as the moments do and keep their ``YYYY-`` shape."""
    return moment.strftime(fmt.replace("%Y", f"{moment.year:04d}"))


def now_iso() -> str:
    return iso(now())


_SHORT_ZONE = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})Z$")


def parse_time(text: str, *, what: str = "time") -> datetime:
    """Parse an ISO 8601 date or date-time. A time without a zone is refused: cbm speaks UTC only.

    Accepts ``2026-12-01``, ``2026-12-01T12:00Z``, ``2026-12-01T12:00:00Z``, ``...+00:00``.
    Raises UsageError with the accepted forms.
    """
    raw = text.strip()
    short = _SHORT_ZONE.match(raw)
    if short:
        raw = short.group(1) + ":00Z"
    try:
        if len(raw) == 10:
            moment = datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as e:
        raise UsageError(
            f"{what}: {text!r} is not an ISO 8601 UTC time",
            hint="use 2026-12-01, 2026-12-01T12:00Z or 2026-12-01T12:00:00Z",
        ) from e
    if moment.tzinfo is None:
        raise UsageError(f"{what}: {text!r} has no time zone", hint="cbm uses UTC: add a trailing Z")
    try:
        return moment.astimezone(UTC).replace(microsecond=0)
    except OverflowError as e:  # 9999-12-31T23:00-05:00 and 0001-01-01T00:00+01:00 have no UTC time
        raise UsageError(f"{what}: {text!r} is outside the years 1-9999 in UTC") from e


def parse_duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``4h``, ``2d``. Raises UsageError."""
    match = re.fullmatch(r"\s*(\d+)\s*([smhd])\s*", text)
    if not match:
        raise UsageError(f"{text!r} is not a duration", hint="use e.g. 30m, 4h or 2d")
    amount, unit = int(match.group(1)), match.group(2)
    try:
        return timedelta(seconds=amount * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit])
    except OverflowError as e:
        raise UsageError(f"{text!r} is longer than any date cbm keeps", hint="use e.g. 30m, 4h or 2d") from e


def days_ahead(moment: datetime, days: int, *, what: str) -> str:
    """The time ``days`` days after ``moment`` (ISO, as :func:`iso`). Raises UsageError when that is past the
    year 9999 or ``days`` is negative (``what`` names the option in the message)."""
    if days < 0:
        raise UsageError(f"{what} must be 0 or more")
    try:
        return iso(moment + timedelta(days=days))
    except OverflowError as e:
        raise UsageError(f"{what} {days} reaches past the year 9999") from e

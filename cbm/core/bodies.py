"""Typed record bodies: the base every measure's ``records.py`` builds on (docs/adr/0102-typed-record-bodies.md).

A record kind is a frozen dataclass deriving from :class:`Body`. ``from_body(body)`` validates a decoded body
and returns the object, or raises :class:`InvalidBody` (an InputRejected: exit 4) naming the first rule broken;
``to_body()`` gives the dict back. Fields the class does not know are kept in ``unrecognized`` and fields a body
leaves out stay out (:data:`ABSENT`), so ``to_body(from_body(b)) == b`` and the canonical bytes are identical:
a record signed by a newer cbm round-trips unchanged (the tuf ``unrecognized_fields`` rule).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

from cbm.core.errors import InputRejected


class InvalidBody(InputRejected):
    """A record's body breaks the rules of its kind (exit 4)."""


class _Absent:
    """A field the body leaves out (distinct from a JSON ``null``)."""

    _instance: _Absent | None = None

    def __new__(cls) -> _Absent:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ABSENT"

    def __bool__(self) -> bool:
        return False


ABSENT: Any = _Absent()

B = TypeVar("B", bound="Body")


@dataclasses.dataclass(frozen=True)
class Body:
    """Base of the typed bodies. Subclasses set ``KIND`` and declare their fields; JSON keys are the field
    names unless a field's metadata says ``{"key": ...}`` (for keys that are Python keywords, like ``from``)."""

    KIND: ClassVar[str] = ""

    unrecognized: Mapping[str, Any] = dataclasses.field(default_factory=dict, kw_only=True, repr=False)

    @classmethod
    def keys(cls) -> dict[str, str]:
        """JSON key -> field name, for the fields this kind knows."""
        return {f.metadata.get("key", f.name): f.name for f in dataclasses.fields(cls) if f.name != "unrecognized"}

    @classmethod
    def split(cls, body: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """(known fields by field name, absent ones as ABSENT; unrecognized keys). Raises InvalidBody if
        ``body`` is not a JSON object."""
        if not isinstance(body, dict):
            raise InvalidBody(f"a {cls.KIND} body must be a JSON object")
        keys = cls.keys()
        known = {name: body.get(key, ABSENT) for key, name in keys.items()}
        return known, {k: v for k, v in body.items() if k not in keys}

    @classmethod
    def from_body(cls: type[B], body: Any) -> B:
        """The typed body, after :meth:`check`; raises InvalidBody naming the first rule broken."""
        known, unrecognized = cls.split(body)
        cls.check(known)
        return cls(**known, unrecognized=unrecognized)

    @classmethod
    def check(cls, values: dict[str, Any]) -> None:
        """Raise InvalidBody if ``values`` (field name -> value or ABSENT) break this kind's rules."""

    def to_body(self) -> dict[str, Any]:
        """The body as a dict: known fields that are present, plus the unrecognized ones verbatim."""
        out = dict(self.unrecognized)
        for key, name in self.keys().items():
            value = getattr(self, name)
            if value is not ABSENT:
                out[key] = value
        return out


def present(value: Any) -> bool:
    """Whether a field was in the body (it may still be ``None``)."""
    return value is not ABSENT


def require(condition: bool, message: str) -> None:
    """Raise InvalidBody(message) unless ``condition``."""
    if not condition:
        raise InvalidBody(message)


def is_int(value: Any, minimum: int | None = None) -> bool:
    """A JSON integer (not a boolean), at least ``minimum`` if given."""
    return isinstance(value, int) and not isinstance(value, bool) and (minimum is None or value >= minimum)


def is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)

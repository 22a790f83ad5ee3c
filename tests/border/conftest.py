"""The real `cbm taxii serve` process fixture of tests/taxii, for the border tests that attack it."""

from tests.taxii.conftest import serve  # noqa: F401  (a fixture, found by name)

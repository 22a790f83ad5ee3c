"""Property tests: any flipped or removed byte of a bundle (plain, gzip, encrypted, armored) is refused, and a
refused import leaves the store exactly as it was."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cbm.bundle.importer import import_bundle
from cbm.bundle.verify import verify_bundle
from cbm.core.errors import CbmError
from cbm.store.db import Store
from cbm.store.trust import create_store
from tests.bundle.forge import snapshot
from tests.bundle.helpers import write
from tests.conftest import Party, introduce

FORMS = {"plain": (), "gzip": ("--gzip",), "encrypted": ("--encrypt",), "armor": ("--armor", "--gzip"),
         "encrypted-armor": ("--encrypt", "--armor")}


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Party, dict[str, bytes]]:
    root = tmp_path_factory.mktemp("properties")
    us, ru = Party("US", root / "US"), Party("RU", root / "RU")
    for p in (us, ru):
        create_store(p.root, p.code, f"{p.code}-CERT", None)
    introduce(us, ru)
    write(us, n=3)
    write(us, to=("US",), tlp="RED")
    with us.open() as store:
        digest, _ = store.blobs.put(io.BytesIO(bytes(range(256)) * 300))
        store.append("whitepaper.publish", {"ref": "p", "blobs": [digest]})
    bundles = {}
    for name, flags in FORMS.items():
        path = root / f"{name}.cbm"
        r = us.cli("bundle", "export", "--to", "RU", "--all", "-o", str(path), *flags)
        assert r.exit_code == 0, r.stderr
        bundles[name] = path.read_bytes()
    return ru, bundles


def check(store: Store, data: bytes) -> None:
    verify_bundle(io.BytesIO(data), store, deep=True, party=store.party, decrypt_with=store.key_pairs)


@pytest.mark.parametrize("form", sorted(FORMS))
def test_the_unaltered_bundle_verifies(setup, form):
    ru, bundles = setup
    with ru.open() as store:
        check(store, bundles[form])


@pytest.mark.parametrize("form", sorted(FORMS))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.floats(min_value=0, max_value=1, exclude_max=True), mask=st.integers(1, 255))
def test_any_flipped_byte_is_refused(setup, form, position, mask):
    ru, bundles = setup
    data = bytearray(bundles[form])
    data[int(position * len(data))] ^= mask
    with ru.open() as store, pytest.raises(CbmError):
        check(store, bytes(data))


@pytest.mark.parametrize("form", sorted(FORMS))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.floats(min_value=0, max_value=1, exclude_max=True))
def test_any_removed_byte_is_refused(setup, form, position):
    ru, bundles = setup
    data = bundles[form]
    i = int(position * len(data))
    with ru.open() as store, pytest.raises(CbmError):
        check(store, data[:i] + data[i + 1:])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.floats(min_value=0, max_value=1, exclude_max=True), mask=st.integers(1, 255))
def test_a_refused_import_leaves_the_store_unchanged(setup, position, mask):
    ru, bundles = setup
    data = bytearray(bundles["plain"])
    data[int(position * len(data))] ^= mask
    before = snapshot(ru)
    with ru.open() as store, pytest.raises(CbmError):
        import_bundle(store, io.BytesIO(bytes(data)))
    assert snapshot(ru) == before


def test_truncation_at_every_line_boundary_is_refused(setup, tmp_path: Path):
    ru, bundles = setup
    data = bundles["plain"]
    cuts = [i + 1 for i, byte in enumerate(data) if byte == 0x0A][:-1] + [0, len(data) - 1]
    with ru.open() as store:
        for cut in cuts:
            with pytest.raises(CbmError):
                check(store, data[:cut])

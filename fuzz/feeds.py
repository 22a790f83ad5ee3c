"""The shared body of the feed targets: a feed file imported as ``cbm indicators import FILE --format F`` does,
through the library call the CLI makes, into a real store (its records signed and landed, its indexes written)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fuzz.harness import Scratch, instrumented, refused_or_fine

with instrumented():
    # every module an import reaches, imported here so the fuzzer sees inside it (cbm defers some of them)
    import cbm.measures.indicators.formats.csv
    import cbm.measures.indicators.formats.misp
    import cbm.measures.indicators.formats.plain
    import cbm.measures.indicators.formats.stix
    import cbm.measures.indicators.patterns
    import cbm.measures.indicators.pipeline  # noqa: F401
    from cbm.measures.indicators import service

_scratch = Scratch("US", renew=500)


def importer(fmt: str) -> Callable[[bytes], None]:
    """``check`` for one format: a crash is any exception that is not a documented refusal."""

    def check(data: bytes) -> None:
        store = _scratch.store()
        path = Path(_scratch.temp_dir()) / f"feed.{fmt}"
        path.write_bytes(data)
        refused_or_fine(lambda: service.import_file(store, str(path), service.Options(), fmt=fmt,
                                                    skip_invalid=data[:1] == b"#"))

    return check

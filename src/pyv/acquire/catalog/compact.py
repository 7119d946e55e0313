"""The compact catalog file pyv ships and ``pyv update`` writes.

Two lines of JSON (optionally gzip'd). Line 1 is a small header (``format``,
``format_version``, ``origin``, ``generated``, ``newest_build``, ``count``) so
that choosing between the bundled and the refreshed catalog reads no more than
that line. Line 2 holds the rows: each download is an array of small ints
(indexes into shared string tables) and strings, and URLs are split into a
shared prefix and the rest. That keeps the file small and parsing it a single
fast ``json.loads``.

``pyv list`` (:mod:`pyv.acquire.catalog.listing`) filters these rows as they are,
without building a :class:`Download` per build.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyv.acquire.catalog.model import (
    ARCH_VARIANTS,
    VARIANTS,
    Catalog,
    Download,
    check_text,
    check_version_part,
    field_pattern,
)
from pyv.core.errors import ConfigError
from pyv.core.requests import IMPLEMENTATIONS
from pyv.core.settings import GRAALPY_DOWNLOAD_PREFIX, PBS_DOWNLOAD_PREFIX, PYPY_DOWNLOAD_PREFIX

FORMAT = "pyv-catalog"
FORMAT_VERSION = 1
#: URL prefixes stored once in the compact format (the rest of each URL follows).
URL_PREFIXES = tuple(
    prefix + "/" for prefix in (PBS_DOWNLOAD_PREFIX, PYPY_DOWNLOAD_PREFIX, GRAALPY_DOWNLOAD_PREFIX)
)
#: Row layout: indexes into the tables or plain values, in this order.
COLUMNS = (
    "implementation", "major", "minor", "patch", "prerelease", "variant", "os", "arch",
    "arch_variant", "libc", "build", "prefix", "url", "sha256",
)
_TABLE_COLUMNS = ("implementation", "variant", "os", "arch", "arch_variant", "libc", "prefix")


@dataclass(frozen=True)
class Rows:
    """A catalog as the file holds it: string tables and rows of indexes and values."""

    tables: dict[str, list[Any]]
    rows: list[list[Any]]
    #: As :class:`~pyv.acquire.catalog.model.Catalog`'s fields of the same names.
    source: str
    generated: str
    origin: str = ""
    warning: str | None = None


def rows_of(catalog: Catalog) -> Rows:
    """``catalog`` in the file's row form."""
    tables: dict[str, list[Any]] = {
        "implementation": list(IMPLEMENTATIONS),
        "variant": list(VARIANTS),
        "arch_variant": list(ARCH_VARIANTS),
        "os": [],
        "arch": [],
        "libc": [],
        "prefix": ["", *URL_PREFIXES],
    }
    indexes: dict[str, dict[Any, int]] = {
        name: {value: i for i, value in enumerate(values)} for name, values in tables.items()
    }

    def index(table: str, value: Any) -> int:
        found = indexes[table].get(value)
        if found is None:
            found = indexes[table][value] = len(tables[table])
            tables[table].append(value)
        return found

    rows = []
    for d in catalog.downloads:
        prefix = next((p for p in URL_PREFIXES if d.url.startswith(p)), "")
        rows.append([
            index("implementation", d.implementation), d.major, d.minor, d.patch, d.prerelease,
            index("variant", d.variant), index("os", d.os), index("arch", d.arch),
            index("arch_variant", d.arch_variant), index("libc", d.libc), d.build,
            index("prefix", prefix), d.url[len(prefix):], d.sha256,
        ])
    return Rows(tables, rows, catalog.source, catalog.generated, catalog.origin, catalog.warning)


def dump_catalog(catalog: Catalog) -> bytes:
    """The file's bytes for ``catalog``."""
    rows = rows_of(catalog)
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "origin": catalog.origin,
        "generated": catalog.generated,
        "newest_build": catalog.newest_build,
        "count": len(rows.rows),
    }
    body = {"tables": rows.tables, "rows": rows.rows}
    return (
        json.dumps(header, separators=(",", ":")) + "\n"
        + json.dumps(body, separators=(",", ":")) + "\n"
    ).encode("utf-8")


def open_text(path: Path) -> Any:
    with open(path, "rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        import gzip

        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def parse_header(line: str) -> dict[str, Any]:
    header = json.loads(line)
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError("not a pyv catalog file")
    if header.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"catalog format {header.get('format_version')!r} is not supported")
    for name in ("generated", "newest_build"):
        if not isinstance(header.get(name), str):
            raise ValueError(f"the header has no {name}")
    if type(header.get("count")) is not int:
        raise ValueError("the header has no count")
    return header


def read_catalog_header(path: Path) -> dict[str, Any]:
    """Read only a catalog file's header (origin, generated, newest_build, count)."""
    try:
        with open_text(path) as fh:
            return parse_header(fh.readline())
    except (OSError, ValueError, EOFError, RecursionError) as exc:
        raise ConfigError(f"cannot read catalog {path}: {_reason(exc)}") from None


def read_rows(path: Path, *, source: str | None = None, validate: bool = True) -> Rows:
    """A catalog file's rows (each field checked when ``validate``; only the bundled
    catalog skips that). ``ConfigError`` names the file, the row and the field."""
    try:
        with open_text(path) as fh:
            header = parse_header(fh.readline())
            body = json.loads(fh.readline())
        if not isinstance(body, dict):
            raise ValueError("the body is not an object")
        tables, rows = body["tables"], body["rows"]
        if not isinstance(rows, list) or len(rows) != header["count"]:
            raise ValueError("row count does not match the header")
        if validate:
            check_body(tables, rows)
    except (OSError, ValueError, EOFError, KeyError, TypeError, IndexError, RecursionError) as exc:
        raise ConfigError(f"cannot read catalog {path}: {_reason(exc)}") from None
    return Rows(tables, rows, source or str(path), str(header.get("generated", "")),
                str(header.get("origin", "")))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    if isinstance(exc, KeyError):
        return f"missing {exc}"
    return str(exc)


def check_body(tables: Any, rows: list[Any]) -> None:
    """Check every table entry and row of a file pyv did not ship.

    Distinct strings are checked once each: thousands of rows share a few
    hundred builds and pre-release tags.
    """
    if not isinstance(tables, dict):
        raise ValueError("the tables are not an object")
    for column in _TABLE_COLUMNS:
        values = tables[column]
        if not isinstance(values, list):
            raise ValueError(f"table {column} is not a list")
        for value in values:
            if column == "prefix":
                url = field_pattern("url")
                if not isinstance(value, str) or (value and not url.fullmatch(value)):
                    raise ValueError(f"prefix: not a valid URL prefix: {value!r:.60}")
            elif column == "variant" and value not in VARIANTS:
                raise ValueError(f"variant: unknown variant {value!r:.60}")
            elif column == "arch_variant" and value not in ARCH_VARIANTS:
                raise ValueError(f"arch: unknown x86-64 level {value!r:.60}")
            elif column not in ("variant", "arch_variant"):
                check_text(column, value)
    sizes = [len(tables[column]) for column in _TABLE_COLUMNS]
    try:
        _check_columns(rows, sizes)
    except (ValueError, TypeError):
        pass  # the row-by-row pass below names the row and the field
    else:
        return
    seen: set[tuple[str, str]] = set()
    for number, row in enumerate(rows, 1):
        try:
            _check_row(row, sizes, seen)
        except ValueError as exc:
            raise ValueError(f"row {number}: {exc}") from None
    raise ValueError("malformed rows")  # pragma: no cover - the passes agree


#: Row positions of the table indexes, in ``_TABLE_COLUMNS`` order.
_INDEX_POSITIONS = (0, 5, 6, 7, 8, 9, 11)


def _check_columns(rows: list[Any], sizes: list[int]) -> None:
    """The row checks of :func:`_check_row`, column by column over distinct values:
    the same rules in a fraction of the time (most columns hold a few values)."""
    if not all(type(row) is list and len(row) == len(COLUMNS) for row in rows):
        raise ValueError("bad row")
    columns = list(zip(*rows)) if rows else [() for _ in COLUMNS]
    for position, size in zip(_INDEX_POSITIONS, sizes):
        if not all(type(v) is int and 0 <= v < size for v in set(columns[position])):
            raise ValueError("bad index")
    for position, name in ((1, "major"), (2, "minor"), (3, "patch")):
        for value in set(columns[position]):
            check_version_part(name, value)
    for position, name in ((4, "prerelease"), (10, "build")):
        for value in set(columns[position]):
            check_text(name, value)
    _check_rest_and_sha(columns[12], columns[13])


def _check_rest_and_sha(rests: Any, shas: Any) -> None:
    url = field_pattern("url")
    for rest in rests:
        if not isinstance(rest, str) or not url.fullmatch("file://" + rest):
            raise ValueError(f"url: not a valid URL: {rest!r:.60}")
    for sha in shas:
        if sha is not None:
            check_text("sha256", sha)


def _check_row(row: Any, sizes: list[int], seen: set[tuple[str, str]]) -> None:
    if not isinstance(row, list) or len(row) != len(COLUMNS):
        raise ValueError(f"expected {len(COLUMNS)} columns")
    impl, major, minor, patch, pre, var, os_i, arch, av, libc, build, px, rest, sha = row
    for column, value, size in zip(_TABLE_COLUMNS, (impl, var, os_i, arch, av, libc, px), sizes):
        if type(value) is not int or not 0 <= value < size:
            raise ValueError(f"{column}: not an index into its table: {value!r:.60}")
    check_version_part("major", major)
    check_version_part("minor", minor)
    check_version_part("patch", patch)
    for name, value in (("prerelease", pre), ("build", build)):
        if (name, value) not in seen:
            check_text(name, value)
            seen.add((name, value))
    _check_rest_and_sha((rest,), (sha,))


def row_download(tables: dict[str, Any], row: list[Any]) -> Download:
    """The :class:`Download` one row describes."""
    d = object.__new__(Download)
    # Building the frozen dataclass through its __dict__ skips 13 guarded setattr
    # calls per object: the difference is most of the load time.
    object.__setattr__(d, "__dict__", {
        "implementation": tables["implementation"][row[0]], "major": row[1], "minor": row[2],
        "patch": row[3], "prerelease": row[4], "variant": tables["variant"][row[5]],
        "os": tables["os"][row[6]], "arch": tables["arch"][row[7]],
        "arch_variant": tables["arch_variant"][row[8]], "libc": tables["libc"][row[9]],
        "build": row[10], "url": tables["prefix"][row[11]] + row[12], "sha256": row[13],
    })
    return d


def read_catalog_file(path: Path, *, source: str | None = None, validate: bool = True) -> Catalog:
    """Read a catalog written by :func:`save_catalog` (or the bundled one).

    ``validate`` checks every field; only the bundled catalog skips that.
    """
    rows = read_rows(path, source=source, validate=validate)
    tables = rows.tables
    return Catalog(
        downloads=tuple(row_download(tables, row) for row in rows.rows),
        source=rows.source,
        generated=rows.generated,
        origin=rows.origin,
    )


def save_catalog(catalog: Catalog, path: Path) -> None:
    """Write ``catalog`` to ``path`` atomically (gzip'd when the name ends in ``.gz``)."""
    data = dump_catalog(catalog)
    if path.name.endswith(".gz"):
        import gzip

        data = gzip.compress(data, compresslevel=9, mtime=0)
    from pyv.core.fsutil import atomic_write

    atomic_write(path, data, durable=True, what=f"the catalog {path}")

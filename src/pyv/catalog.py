"""The catalog of installable interpreter builds, and choosing one for a request.

The catalog ships inside the package (``pyv/data/catalog.json``, written by
``scripts/generate_catalog.py``); ``pyv update`` may write a newer one to
``$PYV_HOME/catalog/catalog.json``; ``PYV_DOWNLOADS_JSON`` replaces both with a
uv-schema JSON. All three are read by :func:`load_catalog`.

On-disk format (bundled and refreshed alike, optionally gzip'd): two lines of
JSON. Line 1 is a small header (``format``, ``format_version``, ``origin``,
``generated``, ``newest_build``, ``count``) so that choosing between the bundled
and the refreshed catalog reads no more than that line. Line 2 holds the rows:
each download is an array of small ints (indexes into shared string tables) and
strings, and URLs are split into a shared prefix and the rest. That keeps the
file small and parsing it a single fast ``json.loads``.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.version import Version

from pyv.errors import ConfigError, NetworkError, NotFound, PlatformError, PyvError
from pyv.platform import Host, check_runs_on, glibc_floor
from pyv.requests import IMPLEMENTATIONS, PythonRequest
from pyv.settings import (
    GRAALPY_DOWNLOAD_PREFIX,
    PBS_DOWNLOAD_PREFIX,
    PYPY_DOWNLOAD_PREFIX,
    Settings,
)

#: Where the catalog that ships with pyv lives.
#: Plain JSON: gzip would save ~800 kB on disk (the wheel is compressed anyway) but
#: costs ~3 ms of every load, a quarter of the total.
BUNDLED_CATALOG = Path(__file__).parent / "data" / "catalog.json"
#: The file name ``pyv update`` writes under ``settings.catalog_dir``.
REFRESHED_NAME = "catalog.json"
FORMAT = "pyv-catalog"
FORMAT_VERSION = 1

#: Operating systems pyv installs on; other entries (e.g. emscripten/pyodide) are dropped.
SUPPORTED_OS = frozenset({"linux", "darwin", "windows"})
VARIANTS = (None, "freethreaded", "debug", "freethreaded+debug")
ARCH_VARIANTS = (None, "v2", "v3", "v4")
_ARCHIVE_SUFFIXES = (
    (".tar.gz", "tar.gz"),
    (".tgz", "tar.gz"),
    (".tar.zst", "tar.zst"),
    (".tar.bz2", "tar.bz2"),
    (".zip", "zip"),
)
#: URL prefixes stored once in the compact format (the rest of each URL follows).
_URL_PREFIXES = tuple(
    prefix + "/" for prefix in (PBS_DOWNLOAD_PREFIX, PYPY_DOWNLOAD_PREFIX, GRAALPY_DOWNLOAD_PREFIX)
)
_PRE_RANK = {"a": 0, "b": 1, "rc": 2}
_VERSIONS: dict[str, Version] = {}


def _version(text: str) -> Version:
    # A few hundred distinct versions are shared by thousands of downloads.
    version = _VERSIONS.get(text)
    if version is None:
        version = _VERSIONS[text] = Version(text)
    return version


@dataclass(frozen=True)
class Download:
    """One installable archive: what it holds and where to get it."""

    implementation: str
    major: int
    minor: int
    patch: int
    prerelease: str
    variant: str | None
    os: str
    arch: str
    arch_variant: str | None
    libc: str
    build: str
    url: str
    sha256: str | None

    @property
    def version_str(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}{self.prerelease}"

    @property
    def version(self) -> Version:
        return _version(self.version_str)

    @property
    def _platform(self) -> str:
        arch = f"{self.arch}_{self.arch_variant}" if self.arch_variant else self.arch
        return f"{self.os}-{arch}-{self.libc}"

    @property
    def key(self) -> str:
        """uv's key, e.g. ``cpython-3.13.1+freethreaded-linux-x86_64_v3-gnu``."""
        variant = f"+{self.variant}" if self.variant else ""
        return f"{self.implementation}-{self.version_str}{variant}-{self._platform}"

    @property
    def minor_key(self) -> str:
        """The key without the patch, e.g. ``cpython-3.13+freethreaded-linux-x86_64_v3-gnu``."""
        variant = f"+{self.variant}" if self.variant else ""
        return f"{self.implementation}-{self.major}.{self.minor}{variant}-{self._platform}"

    @property
    def filename(self) -> str:
        name = self.url.rsplit("/", 1)[-1]
        if "%" not in name:
            return name
        from urllib.parse import unquote

        return unquote(name)

    @property
    def archive_format(self) -> str:
        fmt = archive_format_of(self.filename)
        if fmt is None:
            raise PyvError(f"{self.key}: unsupported archive type {self.filename!r}")
        return fmt

    @property
    def archive_root(self) -> str | None:
        """The member subtree holding the installation (None: the one top-level directory)."""
        if self.implementation != "cpython":
            return None
        return "python" if "install_only" in self.filename else "python/install"

    @property
    def freethreaded(self) -> bool:
        return self.variant is not None and "freethreaded" in self.variant

    @property
    def debug(self) -> bool:
        return self.variant is not None and "debug" in self.variant

    @property
    def level(self) -> int:
        """x86-64 microarchitecture level of the build (1 = baseline)."""
        return int(self.arch_variant[1:]) if self.arch_variant else 1

    def _rank(self) -> tuple[int, int, int, int, int]:
        """Version as sortable ints (final releases after their pre-releases)."""
        if not self.prerelease:
            return (self.major, self.minor, self.patch, 3, 0)
        match = re.match(r"(a|b|rc)(\d+)", self.prerelease)
        kind, number = (_PRE_RANK[match.group(1)], int(match.group(2))) if match else (0, 0)
        return (self.major, self.minor, self.patch, kind, number)


@dataclass(frozen=True)
class Catalog:
    """All known downloads and where they came from."""

    downloads: tuple[Download, ...]
    #: ``"bundled"``, the path of a catalog file, or the URL it was loaded from.
    source: str
    #: ISO 8601 timestamp of when the catalog was generated.
    generated: str
    #: Where the data originally came from (e.g. a release's SHA256SUMS URL).
    origin: str = ""
    #: Why a refreshed catalog was ignored, if it was (for the caller to warn).
    warning: str | None = field(default=None, compare=False)

    @property
    def newest_build(self) -> str:
        """The newest python-build-standalone release tag (``YYYYMMDD``) in the catalog."""
        return _newest_build(self.downloads)

    def find(self, key: str) -> Download | None:
        """The download with this uv key (the newest build when several share it)."""
        found = [d for d in self.downloads if d.key == key]
        return max(found, key=lambda d: d.build) if found else None


def _newest_build(downloads: Iterable[Download]) -> str:
    # PyPy/GraalPy "builds" are their own version numbers, not release dates.
    dated = [d.build for d in downloads if len(d.build) == 8 and d.build.isdigit()]
    return max(dated, default="")


def archive_format_of(filename: str) -> str | None:
    lowered = filename.lower()
    for suffix, fmt in _ARCHIVE_SUFFIXES:
        if lowered.endswith(suffix):
            return fmt
    return None


def now_iso() -> str:
    """The current UTC time as an ISO 8601 string (seconds precision)."""
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


# ----- the compact on-disk format ------------------------------------------------


def _dump_catalog(catalog: Catalog) -> bytes:
    tables: dict[str, list[Any]] = {
        "implementation": list(IMPLEMENTATIONS),
        "variant": list(VARIANTS),
        "arch_variant": list(ARCH_VARIANTS),
        "os": [],
        "arch": [],
        "libc": [],
        "prefix": ["", *_URL_PREFIXES],
    }

    def index(table: str, value: Any) -> int:
        values = tables[table]
        if value not in values:
            values.append(value)
        return values.index(value)

    rows = []
    for d in catalog.downloads:
        prefix = next((p for p in _URL_PREFIXES if d.url.startswith(p)), "")
        rows.append([
            index("implementation", d.implementation), d.major, d.minor, d.patch, d.prerelease,
            index("variant", d.variant), index("os", d.os), index("arch", d.arch),
            index("arch_variant", d.arch_variant), index("libc", d.libc), d.build,
            index("prefix", prefix), d.url[len(prefix):], d.sha256,
        ])
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "origin": catalog.origin,
        "generated": catalog.generated,
        "newest_build": catalog.newest_build,
        "count": len(rows),
    }
    body = {"tables": tables, "rows": rows}
    return (
        json.dumps(header, separators=(",", ":")) + "\n"
        + json.dumps(body, separators=(",", ":")) + "\n"
    ).encode("utf-8")


def _open_text(path: Path) -> Any:
    with open(path, "rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def _parse_header(line: str) -> dict[str, Any]:
    header = json.loads(line)
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError("not a pyv catalog file")
    if header.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"catalog format {header.get('format_version')!r} is not supported")
    for name in ("generated", "newest_build"):
        if not isinstance(header.get(name), str):
            raise ValueError(f"the header has no {name}")
    return header


def read_catalog_header(path: Path) -> dict[str, Any]:
    """Read only a catalog file's header (origin, generated, newest_build, count)."""
    try:
        with _open_text(path) as fh:
            return _parse_header(fh.readline())
    except (OSError, ValueError, EOFError) as exc:
        raise ConfigError(f"cannot read catalog {path}: {exc}") from None


def _check_row(row: list[Any]) -> None:
    """Type-check one compact row (for files pyv did not ship; ~1 ms per 5,000 rows)."""
    ints = row[:4] + row[5:10] + row[11:12]
    strings = (row[4], row[10], row[12])
    if (
        not all(type(n) is int for n in ints)
        or not all(type(t) is str for t in strings)
        or not (row[13] is None or type(row[13]) is str)
    ):
        raise ValueError("malformed download row")


def read_catalog_file(path: Path, *, source: str | None = None, validate: bool = True) -> Catalog:
    """Read a catalog written by :func:`save_catalog` (or the bundled one).

    ``validate`` type-checks every row; only the bundled catalog skips that.
    """
    try:
        with _open_text(path) as fh:
            header = _parse_header(fh.readline())
            body = json.loads(fh.readline())
        tables = body["tables"]
        impls, variants, arch_variants = (
            tables["implementation"], tables["variant"], tables["arch_variant"]
        )
        oses, arches, libcs = tables["os"], tables["arch"], tables["libc"]
        prefixes = tables["prefix"]
        new = object.__new__
        set_dict = object.__setattr__
        downloads = []
        # Building the frozen dataclasses through their __dict__ skips ~14 guarded
        # setattr calls per object: the difference is most of the load time.
        rows = body["rows"]
        if validate:
            for row in rows:
                _check_row(row)
        for impl, major, minor, patch, pre, var, os_i, arch, av, libc, build, px, rest, sha in rows:
            d = new(Download)
            set_dict(d, "__dict__", {
                "implementation": impls[impl], "major": major, "minor": minor, "patch": patch,
                "prerelease": pre, "variant": variants[var], "os": oses[os_i],
                "arch": arches[arch], "arch_variant": arch_variants[av], "libc": libcs[libc],
                "build": build, "url": prefixes[px] + rest, "sha256": sha,
            })
            downloads.append(d)
        if len(downloads) != header.get("count"):
            raise ValueError("row count does not match the header")
    except (OSError, ValueError, EOFError, KeyError, TypeError, IndexError) as exc:
        raise ConfigError(f"cannot read catalog {path}: {exc}") from None
    return Catalog(
        downloads=tuple(downloads),
        source=source or str(path),
        generated=str(header.get("generated", "")),
        origin=str(header.get("origin", "")),
    )


def save_catalog(catalog: Catalog, path: Path) -> None:
    """Write ``catalog`` to ``path`` atomically (gzip'd when the name ends in ``.gz``)."""
    data = _dump_catalog(catalog)
    if path.name.endswith(".gz"):
        data = gzip.compress(data, compresslevel=9, mtime=0)
    from pyv.fsutil import atomic_write

    atomic_write(path, data, durable=True, what=f"the catalog {path}")


# ----- uv's downloads JSON ---------------------------------------------------------


def installable(download: Download) -> bool:
    """Whether pyv can install this download at all (on some host)."""
    return (
        download.implementation in IMPLEMENTATIONS
        and download.os in SUPPORTED_OS
        and archive_format_of(download.filename) is not None
    )


def _entry_download(entry: Mapping[str, Any]) -> Download:
    arch = entry["arch"]
    if isinstance(arch, str):  # old uv files spelled the arch as a plain string
        family, arch_variant = arch, None
    else:
        family, arch_variant = arch["family"], arch.get("variant")
    values = {
        "implementation": str(entry["name"]).lower(),
        "major": entry["major"],
        "minor": entry["minor"],
        "patch": entry["patch"],
        "prerelease": entry.get("prerelease") or "",
        "variant": entry.get("variant") or None,
        "os": entry["os"],
        "arch": family,
        "arch_variant": arch_variant or None,
        "libc": entry["libc"],
        "build": str(entry.get("build") or ""),
        "url": entry["url"],
        "sha256": entry.get("sha256") or None,
    }
    for name in ("major", "minor", "patch"):
        if not isinstance(values[name], int) or isinstance(values[name], bool):
            raise ValueError(f"{name} must be an integer")
    for name in ("prerelease", "os", "arch", "libc", "url"):
        if not isinstance(values[name], str):
            raise ValueError(f"{name} must be a string")
    if values["variant"] not in VARIANTS:
        raise ValueError(f"unknown variant {values['variant']!r}")
    if values["arch_variant"] not in ARCH_VARIANTS:
        raise ValueError(f"unknown x86-64 level {values['arch_variant']!r}")
    if values["sha256"] is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", values["sha256"]):
        raise ValueError("sha256 must be 64 hex digits")
    return Download(**values)


def parse_uv_json(data: bytes | str, source: str) -> Catalog:
    """Read a uv-schema downloads JSON (as uv's ``download-metadata.json``).

    Entries pyv cannot install (unknown implementation, an OS other than
    linux/darwin/windows such as pyodide's emscripten, an unknown archive type)
    are left out. Anything malformed raises :class:`ConfigError` naming ``source``.
    """
    try:
        parsed = json.loads(data)
    except ValueError as exc:
        raise ConfigError(f"{source} is not valid JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise ConfigError(f"{source} is not a downloads JSON (expected an object of entries)")
    downloads = []
    for key, entry in parsed.items():
        try:
            if not isinstance(entry, dict):
                raise ValueError("not an object")
            download = _entry_download(entry)
        except (KeyError, TypeError, ValueError) as exc:
            detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
            raise ConfigError(f"{source}: entry {key!r} is invalid: {detail}") from None
        if installable(download):
            downloads.append(download)
    return Catalog(downloads=tuple(downloads), source=source, generated=now_iso(), origin=source)


def to_uv_json(downloads: Iterable[Download]) -> dict[str, dict[str, Any]]:
    """The uv-schema JSON object for ``downloads`` (newest build wins a shared key)."""
    result: dict[str, dict[str, Any]] = {}
    builds: dict[str, str] = {}
    for d in downloads:
        key = d.key
        if key in builds and builds[key] >= d.build:
            continue
        builds[key] = d.build
        result[key] = {
            "name": d.implementation,
            "arch": {"family": d.arch, "variant": d.arch_variant},
            "os": d.os,
            "libc": d.libc,
            "major": d.major,
            "minor": d.minor,
            "patch": d.patch,
            "prerelease": d.prerelease,
            "url": d.url,
            "sha256": d.sha256,
            "variant": d.variant,
            "build": d.build,
        }
    return result


# ----- python-build-standalone SHA256SUMS -----------------------------------------

_PBS_NAME_RE = re.compile(
    r"""
    cpython-(?P<version>\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?)
    \+(?P<tag>\d+)
    -(?P<arch>[a-z0-9_]+)
    -(?:
        apple-(?P<darwin>darwin)
      | pc-(?P<windows>windows)-msvc(?P<shared>-shared)?
      | unknown-(?P<linux>linux)-(?P<libc>gnu|gnueabi|gnueabihf|musl)
    )
    -(?P<flavour>[a-z0-9_+-]+?)
    \.(?P<ext>tar\.gz|tar\.zst)
    """,
    re.VERBOSE,
)
_INSTALL_ONLY_RE = re.compile(r"(?:(?P<ft>freethreaded)-)?install_only(?P<stripped>_stripped)?")
_FULL_RE = re.compile(r"(?P<options>[a-z+]+)-full")
#: Full-archive build options, best first (uv's preference).
_FULL_OPTIONS = ("pgo+lto", "pgo", "lto", "noopt")
_PBS_ARCHES = {"ppc64le": "powerpc64le", "amd64": "x86_64", "arm64": "aarch64"}


def _pbs_flavour(flavour: str) -> tuple[str | None, int] | None:
    """(variant, rank) for an archive flavour; lower ranks are preferred; None = skip.

    install_only_stripped (0) > install_only (1) > full pgo+lto (2) > pgo > lto > noopt;
    debug variants only come as full archives.
    """
    match = _INSTALL_ONLY_RE.fullmatch(flavour)
    if match:
        variant = "freethreaded" if match.group("ft") else None
        return variant, (0 if match.group("stripped") else 1)
    match = _FULL_RE.fullmatch(flavour)
    if not match:
        return None
    options = match.group("options").split("+")
    freethreaded = "freethreaded" in options
    debug = "debug" in options
    rest = "+".join(o for o in options if o not in ("freethreaded", "debug"))
    if debug:
        if rest:
            return None
        return ("freethreaded+debug" if freethreaded else "debug"), 2
    if rest not in _FULL_OPTIONS:
        return None
    return ("freethreaded" if freethreaded else None), 2 + _FULL_OPTIONS.index(rest)


def download_from_pbs_filename(
    filename: str, sha256: str | None, tag: str, base_url: str = PBS_DOWNLOAD_PREFIX
) -> tuple[Download, int] | None:
    """Describe one python-build-standalone archive by its file name, with its
    flavour rank (lower is preferred); None if it is not an archive pyv installs."""
    match = _PBS_NAME_RE.fullmatch(filename)
    if not match:
        return None
    flavour = _pbs_flavour(match.group("flavour"))
    if flavour is None:
        return None
    variant, rank = flavour
    version = _version(match.group("version"))
    arch = match.group("arch")
    arch_variant = None
    level = re.fullmatch(r"x86_64_(v[2-4])", arch)
    if level:
        arch, arch_variant = "x86_64", level.group(1)
    arch = _PBS_ARCHES.get(arch, arch)
    if match.group("darwin"):
        os_name, libc = "darwin", "none"
    elif match.group("windows"):
        os_name, libc = "windows", "none"
    else:
        os_name, libc = "linux", match.group("libc")
    pre = version.pre
    url = f"{base_url.rstrip('/')}/{tag}/{filename.replace('+', '%2B')}"
    download = Download(
        implementation="cpython",
        major=version.release[0],
        minor=version.release[1],
        patch=version.release[2],
        prerelease=f"{pre[0]}{pre[1]}" if pre else "",
        variant=variant,
        os=os_name,
        arch=arch,
        arch_variant=arch_variant,
        libc=libc,
        build=match.group("tag"),
        url=url,
        sha256=sha256.lower() if sha256 else None,
    )
    # A "-shared" Windows triple is the older spelling of the same build; prefer the plain one.
    return download, rank * 2 + (1 if match.group("shared") else 0)


def downloads_from_sha256sums(
    text: str, tag: str, base_url: str = PBS_DOWNLOAD_PREFIX
) -> list[Download]:
    """The downloads a python-build-standalone release's ``SHA256SUMS`` describes.

    Lines are ``<sha256>  <file name>``. For each (version, platform, variant) the
    archive uv would pick is kept: install_only_stripped, else install_only, else
    the full archive (pgo+lto > pgo > lto > noopt); debug variants only as full
    archives. URLs are ``{base_url}/{tag}/{file name}``.
    """
    best: dict[str, tuple[int, Download]] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 2 or not re.fullmatch(r"[0-9a-fA-F]{64}", parts[0]):
            continue
        sha, name = parts[0], parts[1].lstrip("*")  # "*" marks binary mode in sha256sum output
        described = download_from_pbs_filename(name, sha, tag, base_url)
        if described is None:
            continue
        download, rank = described
        current = best.get(download.key)
        if current is None or rank < current[0]:
            best[download.key] = (rank, download)
    return sorted((d for _, d in best.values()), key=_sort_key_plain)


def merge_downloads(*groups: Iterable[Download]) -> list[Download]:
    """Combine download lists; where several share a key the newest build wins."""
    best: dict[str, Download] = {}
    for group in groups:
        for d in group:
            current = best.get(d.key)
            if current is None or d.build > current.build:
                best[d.key] = d
    return sorted(best.values(), key=_sort_key_plain)


def _sort_key_plain(d: Download) -> tuple[Any, ...]:
    minus = tuple(-n for n in d._rank())
    return (IMPLEMENTATIONS.index(d.implementation), *minus, d.key)


# ----- loading -----------------------------------------------------------------

_CACHE: dict[tuple[str, int, int], Catalog] = {}


def _cached_read(path: Path, source: str, *, validate: bool = True) -> Catalog:
    stat = path.stat()
    cache_key = (str(path), stat.st_mtime_ns, stat.st_size)
    catalog = _CACHE.get(cache_key)
    if catalog is None:
        catalog = read_catalog_file(path, source=source, validate=validate)
        _CACHE[cache_key] = catalog
    return catalog


def bundled_catalog() -> Catalog:
    """The catalog that ships with pyv."""
    try:
        return _cached_read(BUNDLED_CATALOG, "bundled", validate=False)
    except (OSError, ConfigError) as exc:
        raise PyvError(
            f"the catalog bundled with pyv is missing or damaged ({exc})",
            "reinstall pyv, or set PYV_DOWNLOADS_JSON to a downloads JSON",
        ) from None


def _newer(header: Mapping[str, Any], than: Mapping[str, Any]) -> bool:
    mine = (str(header.get("newest_build", "")), str(header.get("generated", "")))
    theirs = (str(than.get("newest_build", "")), str(than.get("generated", "")))
    return mine > theirs


def load_catalog(settings: Settings) -> Catalog:
    """The catalog pyv uses: ``PYV_DOWNLOADS_JSON`` if set, else the refreshed
    catalog when it is newer than the bundled one, else the bundled one.

    A damaged refreshed catalog is ignored: the bundled one is returned with
    :attr:`Catalog.warning` saying why.
    """
    if settings.downloads_json:
        return _load_downloads_json(settings.downloads_json, settings)
    refreshed = settings.catalog_dir / REFRESHED_NAME
    if not refreshed.exists():
        return bundled_catalog()
    try:
        refreshed_header = read_catalog_header(refreshed)
        bundled_header = read_catalog_header(BUNDLED_CATALOG)
        if not _newer(refreshed_header, bundled_header):
            return bundled_catalog()
        return _cached_read(refreshed, str(refreshed))
    except (OSError, ConfigError) as exc:
        reason = exc.message if isinstance(exc, ConfigError) else str(exc)
        bundled = bundled_catalog()
        return Catalog(
            downloads=bundled.downloads, source=bundled.source, generated=bundled.generated,
            origin=bundled.origin,
            warning=f"ignoring the refreshed catalog ({reason}); run `pyv update` to rewrite it",
        )


def _load_downloads_json(location: str, settings: Settings) -> Catalog:
    hint = "fix the file, or unset PYV_DOWNLOADS_JSON to use the bundled catalog"
    if location.startswith(("http://", "https://")):
        from pyv.download import get

        response = get(location, settings)
        if not 200 <= response.status < 300:
            raise NetworkError(
                f"cannot fetch PYV_DOWNLOADS_JSON {location}: HTTP {response.status}",
                "check the URL, or unset PYV_DOWNLOADS_JSON",
            )
        data = response.content
    else:
        if location.startswith("file:"):
            from urllib.parse import urlparse
            from urllib.request import url2pathname

            path = Path(url2pathname(urlparse(location).path))
        else:
            path = Path(os.path.expanduser(location))
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigError(
                f"cannot read PYV_DOWNLOADS_JSON {path}: {exc.strerror or exc}", hint
            ) from None
    try:
        return parse_uv_json(data, location)
    except ConfigError as exc:
        raise ConfigError(f"PYV_DOWNLOADS_JSON: {exc.message}", hint) from None


# ----- choosing ------------------------------------------------------------------


def _host_levels(host: Host) -> int:
    return (host.x86_64_level or 1) if host.arch == "x86_64" else 1


def _explicit_level(request: PythonRequest, arch_variant: str) -> str | None:
    """The x86-64 level the user insisted on (a key's ``_vN`` or ``--arch vN``)."""
    if request.arch_variant:
        return request.arch_variant
    if arch_variant in ("v2", "v3", "v4"):
        return arch_variant
    return None


def _allowed_levels(
    request: PythonRequest, host: Host, arch_variant: str, all_platforms: bool
) -> frozenset[str | None]:
    if request.arch_variant:
        return frozenset({request.arch_variant})
    if request.kind == "key" and request.arch is not None:
        # A key naming the plain arch names the baseline build.
        return frozenset({None})
    if arch_variant in ("", "v1"):
        return frozenset(ARCH_VARIANTS) if all_platforms else frozenset({None})
    if arch_variant == "auto":
        top = 4 if all_platforms else _host_levels(host)
    else:
        top = int(arch_variant[1:])
    return frozenset({None, *(f"v{n}" for n in range(2, top + 1))})


def _runs_on(d: Download, host: Host, *, check_glibc: bool = True) -> bool:
    if d.os != host.os or d.arch != host.arch:
        return False
    if d.os == "linux":
        if d.libc != host.libc:
            return False
        if (
            check_glibc
            and d.libc.startswith("gnu")
            and host.glibc is not None
            and host.glibc < glibc_floor(d.arch)
        ):
            return False
    return not (d.arch_variant and d.level > (host.x86_64_level or 1))


def _filter(
    catalog: Catalog,
    request: PythonRequest,
    host: Host,
    arch_variant: str,
    all_platforms: bool,
    check_glibc: bool = True,
) -> list[Download]:
    if not request.is_download_request:
        return []
    levels = _allowed_levels(request, host, arch_variant, all_platforms)
    seen: dict[tuple[str, str, str | None], bool] = {}
    result = []
    for d in catalog.downloads:
        if d.arch_variant not in levels:
            continue
        if request.os is not None and d.os != request.os:
            continue
        if request.arch is not None and d.arch != request.arch:
            continue
        if request.libc is not None and d.libc != request.libc:
            continue
        if not all_platforms and not _runs_on(d, host, check_glibc=check_glibc):
            continue
        memo = (d.implementation, d.version_str, d.variant)
        ok = seen.get(memo)
        if ok is None:
            ok = seen[memo] = request.matches(d.implementation, d.version, d.variant)
        if ok:
            result.append(d)
    return result


def _rank_key(request: PythonRequest) -> Any:
    demote_pre = not request.allows_prereleases
    prefer_cpython = request.implementation is None

    def key(d: Download) -> tuple[Any, ...]:
        major, minor, patch, pre_kind, pre_number = d._rank()
        return (
            IMPLEMENTATIONS.index(d.implementation) if prefer_cpython else 0,
            1 if (demote_pre and d.prerelease) else 0,
            -major, -minor, -patch, -pre_kind, -pre_number,
            -d.level,
        )

    return key


def matching_downloads(
    catalog: Catalog,
    request: PythonRequest,
    host: Host,
    *,
    arch_variant: str = "",
    all_platforms: bool = False,
) -> list[Download]:
    """The downloads satisfying ``request`` that run on ``host``, best first.

    Best first means: CPython before other implementations unless the request
    names one; final releases before pre-releases unless the request asks for a
    pre-release; newest version; highest allowed x86-64 level; newest build.
    x86-64 levels above baseline are included only when asked for (a key's
    ``_vN``, or ``arch_variant`` ``"v2"``-``"v4"``, or ``"auto"`` = the host's
    level); with ``all_platforms`` the host is not consulted at all.
    """
    found = _filter(catalog, request, host, arch_variant, all_platforms)
    found.sort(key=lambda d: d.build, reverse=True)
    found.sort(key=_rank_key(request))
    return found


def best_download(
    catalog: Catalog, request: PythonRequest, host: Host, *, arch_variant: str = ""
) -> Download:
    """The download to install for ``request`` on ``host``.

    Raises :class:`PlatformError` when the request can only be met by a build
    this host cannot run, :class:`NotFound` (naming the nearest versions) otherwise.
    """
    if not request.is_download_request:
        raise NotFound(
            f"{request.raw!r} names an interpreter, not a version to download",
            "ask for a version such as 3.12",
        )
    level = _explicit_level(request, arch_variant)
    if level and host.arch == "x86_64" and request.arch in (None, "x86_64"):
        # An explicit level above the CPU's is an error, not a silent downgrade.
        check_runs_on(host, os=host.os, arch="x86_64", libc=host.libc, arch_variant=level,
                      what=f"request {request.raw!r}")
    found = matching_downloads(catalog, request, host, arch_variant=arch_variant)
    if found:
        return found[0]
    _raise_platform_error(catalog, request, host, arch_variant)
    raise NotFound(
        f"no build matches {request.raw} for {host.key}{_nearest_text(catalog, request, host)}",
        "see `pyv list` for what is available, or run `pyv update` to refresh the catalog",
    )


def _raise_platform_error(
    catalog: Catalog, request: PythonRequest, host: Host, arch_variant: str
) -> None:
    """Raise PlatformError if the request is met by builds this host cannot run."""
    what = f"request {request.raw!r}"
    if request.os or request.arch or request.libc:
        check_runs_on(
            host,
            os=request.os or host.os,
            arch=request.arch or host.arch,
            libc=request.libc or host.libc,
            arch_variant=None,
            what=what,
        )
    blocked = _filter(catalog, request, host, arch_variant, False, check_glibc=False)
    if blocked:
        d = blocked[0]
        check_runs_on(host, os=d.os, arch=d.arch, libc=d.libc, arch_variant=d.arch_variant,
                      what=f"{what} ({d.key})")
        raise PlatformError(f"{what}: no build for {host.describe()} can run here")


def _reference_version(request: PythonRequest) -> Version | None:
    if request.version_text is not None:
        return Version(request.version_text)
    for spec in request.specifier or ():
        try:
            return Version(spec.version.replace(".*", ""))
        except ValueError:
            continue
    return None


def _nearest_text(catalog: Catalog, request: PythonRequest, host: Host) -> str:
    """``"; nearest: 3.8.20, 3.9.24"``: the newest patch of the closest minor series."""
    runnable = [
        d for d in catalog.downloads
        if d.arch_variant is None
        and d.variant == request.variant
        and (request.implementation is None or d.implementation == request.implementation)
        and _runs_on(d, host)
    ]
    if not runnable:
        return "; this platform has no builds in the catalog"
    stable = [d for d in runnable if not d.prerelease] or runnable
    newest: dict[tuple[int, int], Version] = {}
    for d in stable:
        if d.version > newest.get((d.major, d.minor), Version("0")):
            newest[(d.major, d.minor)] = d.version
    ordered = sorted(newest.values())
    reference = _reference_version(request)
    if reference is None:
        picks = ordered[-3:]
    else:
        below = [v for v in ordered if v < reference]
        above = [v for v in ordered if v > reference]
        picks = below[-1:] + above[:1]
    return "; nearest: " + ", ".join(str(v) for v in picks) if picks else ""


# ----- mirrors -------------------------------------------------------------------


def download_url(download: Download, settings: Settings) -> str:
    """The URL to fetch ``download`` from, after applying the configured mirrors."""
    for prefix, mirror in (
        (PBS_DOWNLOAD_PREFIX, settings.python_install_mirror),
        (PYPY_DOWNLOAD_PREFIX, settings.pypy_install_mirror),
        (GRAALPY_DOWNLOAD_PREFIX, settings.graalpy_install_mirror),
    ):
        if mirror and download.url.startswith(prefix + "/"):
            return mirror.rstrip("/") + download.url[len(prefix):]
    return download.url


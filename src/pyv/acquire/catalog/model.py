"""The catalog's data: one installable build (:class:`Download`) and a set of them.

Every field of a download is checked here, once, whatever file it came from
(:func:`make_download`): a catalog names directories and URLs, so a field that
does not look like what python-build-standalone, PyPy or GraalPy publish is
refused with the field's name rather than carried into a path or a message.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from packaging.version import Version

from pyv.core.errors import PyvError
from pyv.core.requests import IMPLEMENTATIONS

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
_PRE_RANK = {"a": 0, "b": 1, "rc": 2}
_VERSIONS: dict[str, Version] = {}

#: The largest version number part accepted (CPython's are below 100; PyPy's below 100).
MAX_VERSION_PART = 9999
#: What each string field may look like. Platform names become parts of directory
#: names (a download's key), so they are plain lowercase words. Compiled on first
#: use: only catalogs pyv did not ship are checked.
_FIELD_SHAPES = {
    "implementation": r"[a-z][a-z0-9_]{0,31}",
    "prerelease": r"(?:(?:a|b|rc)[0-9]{1,4})?",
    "os": r"[a-z][a-z0-9_]{0,31}",
    "arch": r"[a-z][a-z0-9_]{0,31}",
    "libc": r"[a-z][a-z0-9_]{0,31}",
    # Release tags (YYYYMMDD) for python-build-standalone, version numbers for PyPy/GraalPy.
    "build": r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}|",
    "url": r"(?:https?|file)://[^\s\x00-\x1f\x7f]{1,2040}",
    "sha256": r"[0-9a-fA-F]{64}",
}


@functools.cache
def field_pattern(name: str) -> re.Pattern[str]:
    """The compiled shape of a string field (see ``_FIELD_SHAPES``)."""
    return re.compile(_FIELD_SHAPES[name])


def cached_version(text: str) -> Version:
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
        return cached_version(self.version_str)

    @property
    def key(self) -> str:
        """uv's key, e.g. ``cpython-3.13.1+freethreaded-linux-x86_64_v3-gnu``."""
        return format_key(self.implementation, self.version_str, self.variant, self.os,
                          self.arch, self.arch_variant, self.libc)

    @property
    def minor_key(self) -> str:
        """The key without the patch, e.g. ``cpython-3.13+freethreaded-linux-x86_64_v3-gnu``."""
        return format_key(self.implementation, f"{self.major}.{self.minor}", self.variant,
                          self.os, self.arch, self.arch_variant, self.libc)

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
        return version_rank(self.major, self.minor, self.patch, self.prerelease)


def format_key(
    implementation: str, version: str, variant: str | None, os: str, arch: str,
    arch_variant: str | None, libc: str,
) -> str:
    """A download's key (uv's spelling) from its parts."""
    return key_head(implementation, version, variant) + key_tail(os, arch, arch_variant, libc)


def key_head(implementation: str, version: str, variant: str | None) -> str:
    """A key's first half: ``cpython-3.13.1+freethreaded``."""
    return f"{implementation}-{version}+{variant}" if variant else f"{implementation}-{version}"


def key_tail(os: str, arch: str, arch_variant: str | None, libc: str) -> str:
    """A key's platform half: ``-linux-x86_64_v3-gnu``."""
    level = f"_{arch_variant}" if arch_variant else ""
    return f"-{os}-{arch}{level}-{libc}"


def version_rank(
    major: int, minor: int, patch: int, prerelease: str
) -> tuple[int, int, int, int, int]:
    """A version as sortable ints (final releases after their pre-releases)."""
    if not prerelease:
        return (major, minor, patch, 3, 0)
    match = re.match(r"(a|b|rc)(\d+)", prerelease)
    kind, number = (_PRE_RANK[match.group(1)], int(match.group(2))) if match else (0, 0)
    return (major, minor, patch, kind, number)


def make_download(values: Mapping[str, Any]) -> Download:
    """A :class:`Download` from its 13 fields, each checked; ``ValueError`` names the field."""
    check_fields(values)
    return Download(**values)


def check_fields(values: Mapping[str, Any]) -> None:
    """Check a download's fields (types, ranges, shapes); ``ValueError`` names the first bad one."""
    for name in ("major", "minor", "patch"):
        check_version_part(name, values[name])
    for name in _FIELD_SHAPES:
        value = values[name]
        if name == "sha256" and value is None:
            continue
        check_text(name, value)
    if values["variant"] not in VARIANTS:
        raise ValueError(f"variant: unknown variant {_shown(values['variant'])}")
    if values["arch_variant"] not in ARCH_VARIANTS:
        raise ValueError(f"arch: unknown x86-64 level {_shown(values['arch_variant'])}")


def check_version_part(name: str, value: object) -> None:
    if type(value) is not int:
        raise ValueError(f"{name}: must be an integer, got {_shown(value)}")
    if not 0 <= value <= MAX_VERSION_PART:
        raise ValueError(f"{name}: must be between 0 and {MAX_VERSION_PART}, got {_shown(value)}")


def check_text(name: str, value: object) -> None:
    if not isinstance(value, str):
        raise ValueError(f"{name}: must be a string, got {_shown(value)}")
    if not field_pattern(name).fullmatch(value):
        raise ValueError(f"{name}: not a valid {name}: {_shown(value)}")


def _shown(value: object) -> str:
    """``repr`` of a bad value, cut short: the error stays one readable line."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


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
        return newest_build(d.build for d in self.downloads)

    def find(self, key: str) -> Download | None:
        """The download with this uv key (the newest build when several share it)."""
        found = [d for d in self.downloads if d.key == key]
        return max(found, key=lambda d: d.build) if found else None


def newest_build(builds: Iterable[str]) -> str:
    # PyPy/GraalPy "builds" are their own version numbers, not release dates.
    return max((b for b in builds if len(b) == 8 and b.isdigit()), default="")


def archive_format_of(filename: str) -> str | None:
    lowered = filename.lower()
    for suffix, fmt in _ARCHIVE_SUFFIXES:
        if lowered.endswith(suffix):
            return fmt
    return None


def installable(download: Download) -> bool:
    """Whether pyv can install this download at all (on some host)."""
    return (
        download.implementation in IMPLEMENTATIONS
        and download.os in SUPPORTED_OS
        and archive_format_of(download.filename) is not None
    )


def catalog_order(d: Download) -> tuple[Any, ...]:
    """The order catalogs are kept in: implementation, newest version first, then key."""
    minus = tuple(-n for n in d._rank())
    return (IMPLEMENTATIONS.index(d.implementation), *minus, d.key)


def now_iso() -> str:
    """The current UTC time as an ISO 8601 string (seconds precision)."""
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()

"""Python requests: what a user means by ``3.12``, ``pypy@3.10``, ``3.13t`` or ``>=3.11``.

:func:`parse_request` turns the text a user types (on the command line, in a
``.python-version`` file, in ``PYV_*`` settings) into a :class:`PythonRequest`,
which can then be matched against downloads and installations. The accepted
syntax is documented in ``docs/requests.md``.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.version import Version

from pyv.errors import InvalidRequest
from pyv.platform import normalize_arch

if TYPE_CHECKING:
    # packaging.specifiers pulls in packaging.tags (subprocess, logging): ~12 ms that
    # plain version requests, the common case, never need. It is imported on demand.
    from packaging.specifiers import SpecifierSet

#: Implementations pyv can install, in preference order (CPython first).
IMPLEMENTATIONS = ("cpython", "pypy", "graalpy")

#: Where ``pyv list`` puts a row: implementation, newest release first, pre-releases
#: before their final release, then the key.
ListOrder = tuple[int, int, int, int, int, str]


def list_order(
    implementation: str, major: int, minor: int, patch: int, prerelease: str, key: str
) -> ListOrder:
    impl = IMPLEMENTATIONS.index(implementation) if implementation in IMPLEMENTATIONS else 9
    return (impl, -major, -minor, -patch, 1 if not prerelease else 0, key)

#: Spellings of implementation names (lower case) -> canonical name; ``None`` = any.
_IMPL_NAMES: dict[str, str | None] = {
    "cpython": "cpython",
    "cp": "cpython",
    "pypy": "pypy",
    "pp": "pypy",
    "graalpy": "graalpy",
    "gp": "graalpy",
    "python": None,
    "py": None,
}

_OS_NAMES = {"linux": "linux", "darwin": "darwin", "macos": "darwin", "windows": "windows"}
_LIBCS = frozenset({"gnu", "gnueabi", "gnueabihf", "musl", "none"})
_ARCH_VARIANTS = frozenset({"v2", "v3", "v4"})

#: One line listing every accepted form; the hint of every InvalidRequest.
ACCEPTED_FORMS = (
    "use a version (3, 3.12, 3.12.4, 3.13.0rc1, 312), a variant (3.13t, 3.12d, 3.13+freethreaded), "
    "an implementation (cpython@3.12, pypy3.10, graalpy@3.11, cp312), a specifier (>=3.11,<3.13), "
    "a key (cpython-3.12.4-linux-x86_64-gnu), any, latest, system, or a path to an interpreter"
)

# A version as users type it: 1-3 release numbers, an optional pre-release, then a
# variant written as a suffix (t, d, td) and/or as +freethreaded / +debug.
_VERSION_RE = re.compile(
    r"""
    (?P<release>\d+(?:\.\d+){0,2})
    (?P<pre>(?:a|b|rc)\d+)?
    (?P<short>td|t|d)?
    (?P<long>(?:\+(?:freethreaded|debug))*)
    """,
    re.VERBOSE,
)
# Implementation glued to a version: ``cpython3.12``, ``pypy3.10``, ``cp312``, ``python3``.
_GLUED_RE = re.compile(r"(?P<impl>cpython|pypy|graalpy|python|cp|pp|gp|py)(?P<version>\d.*)")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_SPECIFIER_START = ("<", ">", "=", "!", "~")


@dataclass(frozen=True)
class PythonRequest:
    """A parsed request for a Python interpreter."""

    raw: str
    #: ``any`` | ``version`` | ``key`` | ``path`` | ``system`` | ``name``
    kind: str
    implementation: str | None = None
    #: A specifier set as the user wrote it (``>=3.11,<3.13``); see :attr:`specifier`.
    explicit_specifier: SpecifierSet | None = None
    freethreaded: bool = False
    debug: bool = False
    os: str | None = None
    arch: str | None = None
    arch_variant: str | None = None
    libc: str | None = None
    path: Path | None = None
    #: The version as written, normalised (``"3.12"``, ``"3.12.4"``, ``"3.13.0rc1"``);
    #: ``None`` for specifier sets and requests without a version.
    version_text: str | None = None

    # ----- derived facts -------------------------------------------------
    @property
    def specifier(self) -> SpecifierSet | None:
        """The version constraint: the written specifier set, or ``==3.12.*`` for ``3.12``."""
        if self.explicit_specifier is not None:
            return self.explicit_specifier
        if self.version_text is None:
            return None
        from packaging.specifiers import SpecifierSet

        exact = len(_wanted(self.version_text)[0]) >= 3
        return SpecifierSet(f"=={self.version_text}" if exact else f"=={self.version_text}.*")

    @property
    def variant(self) -> str | None:
        """The download variant this request asks for (uv spelling)."""
        if self.freethreaded and self.debug:
            return "freethreaded+debug"
        if self.freethreaded:
            return "freethreaded"
        if self.debug:
            return "debug"
        return None

    @property
    def version_prefix(self) -> tuple[int, ...]:
        """The release numbers written (``(3, 12)`` for ``3.12``); empty without a version."""
        if self.version_text is None:
            return ()
        return Version(self.version_text).release[: self.version_text.count(".") + 1]

    @property
    def is_exact(self) -> bool:
        """True when the request names one exact version (``3.12.4``, ``3.13.0rc1``)."""
        if self.version_text is None:
            return False
        return len(self.version_prefix) >= 3 or Version(self.version_text).is_prerelease

    @property
    def is_minor(self) -> bool:
        """True when the request names a minor series (``3.12``), not an exact patch."""
        return len(self.version_prefix) == 2 and not self.is_exact

    @property
    def is_download_request(self) -> bool:
        """True when downloads can satisfy the request (not a path, system or name)."""
        return self.kind in ("any", "version", "key")

    @property
    def allows_prereleases(self) -> bool:
        """True when the request itself names a pre-release (``3.13.0rc1``, ``>=3.14.0b1``)."""
        if self.version_text is not None:
            return Version(self.version_text).is_prerelease
        if self.explicit_specifier is not None:
            return bool(self.explicit_specifier.prereleases)
        return False

    @property
    def normalized(self) -> str:
        """Canonical text: ``3.12``, ``3.13t``, ``pypy3.10``, ``>=3.11,<3.13``, ``any``, a key…

        Two spellings of the same request (``cpython@3.12``, ``cp312``) normalise alike,
        so it serves as a lookup key (e.g. for minor links and shim indexes).
        """
        if self.kind in ("system", "name", "path"):
            return self.raw
        if self.kind == "any":
            return "any"
        suffix = ("t" if self.freethreaded else "") + ("d" if self.debug else "")
        impl = "" if self.implementation in (None, "cpython") else self.implementation
        if self.kind == "key":
            version = self.version_text or "any"
            variant = f"+{self.variant}" if self.variant else ""
            arch = (self.arch or "any") + (f"_{self.arch_variant}" if self.arch_variant else "")
            return (
                f"{self.implementation or 'cpython'}-{version}{variant}-{self.os or 'any'}-"
                f"{arch}-{self.libc or 'any'}"
            )
        if self.version_text is not None:
            return f"{impl}{self.version_text}{suffix}"
        if self.explicit_specifier is not None:
            # Specifiers take the long variant spelling: ``>=3.13t`` would not parse.
            text = str(self.explicit_specifier) + (f"+{self.variant}" if self.variant else "")
            return f"{impl}@{text}" if impl else text
        return f"{self.implementation or 'any'}{suffix}"

    def matches(self, implementation: str, version: Version, variant: str | None) -> bool:
        """Whether an interpreter of this implementation, version and variant satisfies it.

        Pre-releases match here whenever the version does; preferring final releases
        is the caller's ranking decision (see :func:`pyv.catalog.matching_downloads`).
        """
        if not self.is_download_request:
            return False
        if self.implementation is not None and implementation != self.implementation:
            return False
        if variant != self.variant:
            return False
        if self.explicit_specifier is not None:
            return self.explicit_specifier.contains(version, prereleases=True)
        if self.version_text is None:
            return True
        # The same answer as ``==3.12.*`` / ``==3.12.4`` with pre-releases allowed,
        # without a SpecifierSet: this runs once per catalog entry.
        release, pre = _wanted(self.version_text)
        if len(release) >= 3:
            return version.release[:3] == release[:3] and version.pre == pre
        return version.release[: len(release)] == release

    def __str__(self) -> str:
        return self.raw


@functools.lru_cache(maxsize=64)
def _wanted(version_text: str) -> tuple[tuple[int, ...], tuple[str, int] | None]:
    """(release numbers as written, pre-release) of a request's version text."""
    parsed = Version(version_text)
    return parsed.release[: version_text.count(".") + 1], parsed.pre


def _invalid(text: str, why: str = "") -> InvalidRequest:
    detail = f" ({why})" if why else ""
    return InvalidRequest(f"invalid Python request {text!r}{detail}", ACCEPTED_FORMS)


def _parse_version(text: str, raw: str) -> tuple[str, bool, bool]:
    """``3.13.0rc1t`` -> (version text, freethreaded, debug)."""
    match = _VERSION_RE.fullmatch(text)
    if match is None:
        raise _invalid(raw)
    release, pre, short, long = (match.group(g) or "" for g in ("release", "pre", "short", "long"))
    parts = release.split(".")
    if len(parts) == 1 and len(release) > 1:
        # ``312`` means 3.12 (the wheel-tag spelling); more than 3 digits is ambiguous.
        if len(release) > 3:
            raise _invalid(raw, "too many digits for a version without dots")
        parts = [release[0], release[1:]]
    if pre and len(parts) != 3:
        raise _invalid(raw, "a pre-release needs a full version, e.g. 3.13.0rc1")
    numbers = [int(p) for p in parts]
    variants = long.split("+")[1:]
    freethreaded = "t" in short or "freethreaded" in variants
    debug = "d" in short or "debug" in variants
    if len(variants) != len(set(variants)) or (short and variants):
        raise _invalid(raw, "variant given twice")
    version_text = ".".join(str(n) for n in numbers) + pre
    return version_text, freethreaded, debug


def _parse_specifier(text: str, raw: str) -> tuple[SpecifierSet, bool, bool]:
    """``>=3.11,<3.13`` (optionally with a ``+freethreaded``/``t`` suffix) -> specifier set."""
    freethreaded = debug = False
    body = text
    for suffix, ft, dbg in (("+freethreaded+debug", True, True), ("+freethreaded", True, False),
                            ("+debug", False, True)):
        if body.endswith(suffix):
            body, freethreaded, debug = body[: -len(suffix)], ft, dbg
            break
    if any(not part.strip() for part in body.split(",")):
        raise _invalid(raw, "empty part in the version specifier")
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        spec = SpecifierSet(body)
    except InvalidSpecifier:
        raise _invalid(raw, "not a valid version specifier") from None
    if not list(spec):
        raise _invalid(raw, "empty version specifier")
    return spec, freethreaded, debug


def _parse_key(parts: list[str], raw: str) -> PythonRequest:
    """A key such as ``cpython-3.12.4+freethreaded-linux-x86_64_v3-gnu``.

    Trailing parts are optional and any part may be ``any``.
    """
    impl_text, version_part, *platform_parts = parts
    if impl_text not in IMPLEMENTATIONS:
        raise _invalid(raw, f"unknown implementation {impl_text!r}")
    implementation = impl_text
    if len(platform_parts) > 3:
        raise _invalid(raw, "a key is implementation-version-os-arch-libc")
    version_text: str | None = None
    freethreaded = debug = False
    if version_part != "any":
        version_text, freethreaded, debug = _parse_version(version_part, raw)
    os_name = arch = arch_variant = libc = None
    values = [*platform_parts, "any", "any", "any"][:3]
    if values[0] != "any":
        os_name = _OS_NAMES.get(values[0])
        if os_name is None:
            raise _invalid(raw, f"unknown operating system {values[0]!r}")
    if values[1] != "any":
        arch_text = values[1]
        level = re.fullmatch(r"(x86_64|amd64)_(v[1-4])", arch_text)
        if level:
            arch_text = level.group(1)
            arch_variant = None if level.group(2) == "v1" else level.group(2)
        arch = normalize_arch(arch_text)
        if not re.fullmatch(r"[a-z0-9_]+", arch):
            raise _invalid(raw, f"unknown architecture {values[1]!r}")
    if values[2] != "any":
        if values[2] not in _LIBCS:
            raise _invalid(raw, f"unknown libc {values[2]!r}")
        libc = values[2]
    return PythonRequest(
        raw=raw, kind="key", implementation=implementation,
        freethreaded=freethreaded, debug=debug, os=os_name, arch=arch,
        arch_variant=arch_variant, libc=libc, version_text=version_text,
    )


def _looks_like_path(text: str) -> bool:
    # ``~=3.11`` is a specifier, ``~`` / ``~/bin/python`` a path.
    if text.startswith("~="):
        return False
    return "/" in text or "\\" in text or text.startswith((".", "~"))


def parse_request(text: str, *, allow_names: bool = False) -> PythonRequest:
    """Parse what a user typed into a :class:`PythonRequest`.

    ``allow_names`` accepts a plain word that is no other form (``astro-env``) as the
    name of a virtual environment; otherwise such a word is an :class:`InvalidRequest`.
    """
    raw = text.strip()
    if not raw:
        raise _invalid(text, "empty")
    if _looks_like_path(raw):
        return PythonRequest(raw=raw, kind="path", path=Path(os.path.expanduser(raw)))
    lowered = raw.lower()
    if lowered in ("any", "latest"):
        return PythonRequest(raw=raw, kind="any")
    if lowered == "system":
        return PythonRequest(raw=raw, kind="system")
    try:
        return _parse_interpreter_request(raw, lowered)
    except InvalidRequest:
        if allow_names and _NAME_RE.fullmatch(raw) and not _is_reserved_word(lowered):
            return PythonRequest(raw=raw, kind="name")
        raise


def _is_reserved_word(lowered: str) -> bool:
    """Words that start like a request are never environment names (``cpython-x`` is a typo)."""
    head = re.split(r"[-@]", lowered, maxsplit=1)[0]
    return head in IMPLEMENTATIONS and lowered != head


def _parse_interpreter_request(raw: str, lowered: str) -> PythonRequest:
    if lowered.startswith(_SPECIFIER_START):
        spec, ft, dbg = _parse_specifier(lowered, raw)
        return PythonRequest(raw=raw, kind="version", explicit_specifier=spec, freethreaded=ft,
                             debug=dbg)
    if lowered[0].isdigit():
        version_text, ft, dbg = _parse_version(lowered, raw)
        return PythonRequest(raw=raw, kind="version", freethreaded=ft, debug=dbg,
                             version_text=version_text)
    if "@" in lowered:
        impl_text, _, rest = lowered.partition("@")
        implementation = _IMPL_NAMES.get(impl_text, "")
        if implementation == "" or impl_text in ("cp", "pp", "gp", "py"):
            raise _invalid(raw, f"unknown implementation {impl_text!r}")
        if not rest:
            raise _invalid(raw, "missing version after '@'")
        if rest in ("any", "latest"):
            return PythonRequest(raw=raw, kind="version", implementation=implementation)
        if rest.startswith(_SPECIFIER_START):
            spec, ft, dbg = _parse_specifier(rest, raw)
            return PythonRequest(raw=raw, kind="version", implementation=implementation,
                                 explicit_specifier=spec, freethreaded=ft, debug=dbg)
        version_text, ft, dbg = _parse_version(rest, raw)
        return PythonRequest(raw=raw, kind="version", implementation=implementation,
                             freethreaded=ft, debug=dbg, version_text=version_text)
    if "-" in lowered:
        return _parse_key(lowered.split("-"), raw)
    if lowered in _IMPL_NAMES and lowered in (*IMPLEMENTATIONS, "python"):
        return PythonRequest(raw=raw, kind="version", implementation=_IMPL_NAMES[lowered])
    glued = _GLUED_RE.fullmatch(lowered)
    if glued:
        impl_text = glued.group("impl")
        version = glued.group("version")
        # ``cp312``/``pp310`` are wheel-tag spellings (no dots); ``cpython3.12`` has dots.
        if impl_text in ("cp", "pp", "gp", "py") and not re.fullmatch(r"\d{2,3}[td]*", version):
            raise _invalid(raw)
        version_text, ft, dbg = _parse_version(version, raw)
        return PythonRequest(raw=raw, kind="version", implementation=_IMPL_NAMES[impl_text],
                             freethreaded=ft, debug=dbg, version_text=version_text)
    raise _invalid(raw)


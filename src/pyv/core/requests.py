"""Python requests: what a user means by ``3.12``, ``pypy@3.10``, ``3.13t`` or ``>=3.11``.

:func:`parse_request` turns the text a user types (on the command line, in a
``.python-version`` file, in ``PYV_*`` settings) into a :class:`PythonRequest`,
which can then be matched against downloads and installations. The accepted
syntax is documented in ``docs/requests.md``.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from packaging.version import Version

from pyv.core.errors import InvalidRequest
from pyv.core.platform import KNOWN_ARCHS, normalize_arch
from pyv.core.records import record

TYPE_CHECKING = False  # not typing's: see pyv.cli.main
if TYPE_CHECKING:
    # packaging.specifiers pulls in packaging.tags (subprocess, logging): ~12 ms that
    # plain version requests, the common case, never need. It is imported on demand.
    from packaging.specifiers import SpecifierSet

#: Implementations pyv can install, in preference order (CPython first).
IMPLEMENTATIONS = ("cpython", "pypy", "graalpy")

#: Where ``pyv list`` puts a row: implementation, newest release first, pre-releases
#: before their final release, then the key.
ListOrder = tuple[int, int, int, int, int, str]


def implementation_rank(implementation: str) -> int:
    """Where ``implementation`` stands in :data:`IMPLEMENTATIONS` (unknown ones last)."""
    return IMPLEMENTATIONS.index(implementation) if implementation in IMPLEMENTATIONS else 9


def list_order(
    implementation: str, major: int, minor: int, patch: int, prerelease: str, key: str
) -> ListOrder:
    return (implementation_rank(implementation), -major, -minor, -patch,
            1 if not prerelease else 0, key)

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
#: The operating systems and C libraries a platform key names (as the catalog writes them).
OSES = frozenset(_OS_NAMES.values())
LIBCS = frozenset({"gnu", "gnueabi", "gnueabihf", "musl", "none"})

#: One line listing every accepted form; the hint of every InvalidRequest.
ACCEPTED_FORMS = (
    "use a version (3, 3.12, 3.12.4, 3.13.0rc1, 312), a variant (3.13t, 3.12d, 3.13+freethreaded), "
    "an implementation (cpython@3.12, pypy3.10, graalpy@3.11, cp312), a specifier (>=3.11,<3.13), "
    "a key (cpython-3.12.4-linux-x86_64-gnu), any, latest, system, or a path to an interpreter"
)

#: The most digits one number of a request may have (``3.123456`` at most): more than
#: any Python version needs, and far below what ``int()`` refuses (4,300 digits).
MAX_NUMBER_DIGITS = 6

# The parsers below are written out rather than as regular expressions: compiling
# those cost more than parsing, on the path of every command that reads a request.
_DIGITS = frozenset("0123456789")
_NAME_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_NAME_CHARS = _NAME_START | _DIGITS | frozenset(".-")
#: Implementation spellings a version may be glued to (``cpython3.12``, ``pp310``), tried
#: in this order.
_GLUED_PREFIXES = ("cpython", "pypy", "graalpy", "python", "cp", "pp", "gp", "py")
_PRE_TAGS = ("rc", "a", "b")
_SPECIFIER_START = ("<", ">", "=", "!", "~")


@record(frozen=True)
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

    def matches(self, implementation: str, version: Version, variant: str | None) -> bool:
        """Whether an interpreter of this implementation, version and variant satisfies it.

        Pre-releases match here whenever the version does; preferring final releases
        is the caller's ranking decision (see :func:`pyv.acquire.catalog.matching_downloads`).
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

    def describe(self) -> str:
        """What pyv understood, for ``-v``: ``'3.12t': cpython, ==3.12.*, freethreaded, …``."""
        if self.kind == "name":
            return f"{self.raw!r}: the environment named {self.raw}"
        if self.kind in ("path", "system"):
            return f"{self.raw!r}: the interpreter {self.path or 'on PATH outside pyv'}"
        spec = self.specifier
        parts = [self.implementation or "any implementation, CPython first",
                 str(spec) if spec is not None else "any version",
                 self.variant or "default build"]
        platform = "-".join(p for p in (self.os, self.arch, self.libc) if p)
        parts.append(f"for {platform}" if platform else "for this host")
        if self.arch_variant:
            parts.append(f"x86-64 level {self.arch_variant}")
        return f"{self.raw!r}: " + ", ".join(parts)

    def __str__(self) -> str:
        return self.raw


@functools.lru_cache(maxsize=64)
def _wanted(version_text: str) -> tuple[tuple[int, ...], tuple[str, int] | None]:
    """(release numbers as written, pre-release) of a request's version text."""
    parsed = Version(version_text)
    return parsed.release[: version_text.count(".") + 1], parsed.pre


#: Characters of a refused request that its error line shows (it may be a megabyte).
_SHOWN = 80


def _invalid(text: str, why: str = "") -> InvalidRequest:
    detail = f" ({why})" if why else ""
    shown = repr(text) if len(text) <= _SHOWN else f"{text[:_SHOWN]!r}... ({len(text)} characters)"
    return InvalidRequest(f"invalid Python request {shown}{detail}", ACCEPTED_FORMS)


def _check_numbers(text: str, raw: str) -> None:
    """Refuse a number longer than :data:`MAX_NUMBER_DIGITS` anywhere in ``text``."""
    run = 0
    for char in text:
        if char in _DIGITS:
            run += 1
            if run > MAX_NUMBER_DIGITS:
                raise _invalid(raw, f"a number longer than {MAX_NUMBER_DIGITS} digits")
        else:
            run = 0


def _digits_end(text: str, start: int) -> int:
    """The index after the ASCII digits starting at ``start``."""
    end = start
    while end < len(text) and text[end] in _DIGITS:
        end += 1
    return end


def _split_version(text: str) -> tuple[str, str, str, str] | None:
    """(release, pre-release, short variant, long variants) of ``3.13.0rc1t+debug``.

    A version as users type it: 1-3 release numbers, an optional pre-release, then a
    variant written as a suffix (t, d, td) and/or as +freethreaded / +debug.
    """
    end = _digits_end(text, 0)
    if end == 0:
        return None
    for _ in range(2):
        if text.startswith(".", end) and _digits_end(text, end + 1) > end + 1:
            end = _digits_end(text, end + 1)
    release, pos = text[:end], end
    pre = ""
    for tag in _PRE_TAGS:
        if text.startswith(tag, pos) and _digits_end(text, pos + len(tag)) > pos + len(tag):
            end = _digits_end(text, pos + len(tag))
            pre, pos = text[pos:end], end
            break
    short = next((s for s in ("td", "t", "d") if text.startswith(s, pos)), "")
    pos += len(short)
    long = text[pos:]
    if long and any(v not in ("freethreaded", "debug") for v in long.split("+")[1:]):
        return None
    if long and not long.startswith("+"):
        return None
    return release, pre, short, long


def _parse_version(text: str, raw: str) -> tuple[str, bool, bool]:
    """``3.13.0rc1t`` -> (version text, freethreaded, debug)."""
    split = _split_version(text)
    if split is None:
        raise _invalid(raw)
    release, pre, short, long = split
    parts = release.split(".")
    if len(parts) == 1 and len(release) > 1:
        # ``312`` means 3.12 (the wheel-tag spelling); more than 3 digits is ambiguous.
        if len(release) > 3:
            raise _invalid(raw, "too many digits for a version without dots")
        parts = [release[0], release[1:]]
    if pre and len(parts) == 2:
        parts.append("0")  # ``3.13rc1`` is uv's canonical spelling of 3.13.0rc1
    if pre and len(parts) != 3:
        raise _invalid(raw, "a pre-release needs a minor version, e.g. 3.13rc1")
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
                            ("+debug", False, True), ("td", True, True), ("t", True, False),
                            ("d", False, True)):
        # A short suffix follows a number (``>=3.13t``), never a word (``.post``).
        short_ok = suffix[0] == "+" or body[-len(suffix) - 1:-len(suffix)] in _DIGITS
        if body.endswith(suffix) and short_ok:
            body, freethreaded, debug = body[: -len(suffix)], ft, dbg
            break
    clauses = [part.strip() for part in body.split(",")]
    if not all(clauses):
        raise _invalid(raw, "empty part in the version specifier")
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        spec = SpecifierSet(",".join(_series_clause(c) for c in clauses))
    except InvalidSpecifier:
        raise _invalid(raw, "not a valid version specifier") from None
    if not list(spec):
        raise _invalid(raw, "empty version specifier")
    return spec, freethreaded, debug


def _series_clause(clause: str) -> str:
    """``==3.12`` names the 3.12 series (as ``3.12`` does), not 3.12.0: ``==3.12.*``.

    PEP 440 pads ``==3.12`` to 3.12.0, an unpatched release nobody means; uv reads
    it as the series too. Three numbers, a pre-release or a wildcard stay as written.
    """
    if not clause.startswith("==") or clause.startswith("==="):
        return clause
    version = clause[2:].strip()
    numbers = version.split(".")
    if len(numbers) < 3 and all(n and set(n) <= _DIGITS for n in numbers):
        return f"=={version}.*"
    return clause


#: The parts of a key, in order; each may be left out or be ``any``.
_KEY_PARTS = ("implementation", "version", "os", "arch", "libc")
#: Implementation spellings a key accepts (uv's, short ones included).
_KEY_IMPLEMENTATIONS = {"cpython": "cpython", "cp": "cpython", "pypy": "pypy", "pp": "pypy",
                        "graalpy": "graalpy", "gp": "graalpy"}
_KEY_FORM = "a key is [implementation-][version-][os-][arch-][libc], any part may be 'any'"


def _key_part_kind(part: str, after: int) -> int | None:
    """The index in :data:`_KEY_PARTS`, from ``after`` on, of the first kind ``part`` can be."""
    for index in range(after, len(_KEY_PARTS)):
        kind = _KEY_PARTS[index]
        if (
            (kind == "implementation" and part in _KEY_IMPLEMENTATIONS)
            or (kind == "version" and part[:1] in _DIGITS)
            or (kind == "os" and part in _OS_NAMES)
            or (kind == "arch" and _split_arch(part)[0] in KNOWN_ARCHS)
            or (kind == "libc" and part in LIBCS)
        ):
            return index
    return None


def _split_arch(text: str) -> tuple[str, str | None]:
    """``x86_64_v3`` -> (``x86_64``, ``v3``); other architectures have no level."""
    base, _, level = text.rpartition("_")
    if base in ("x86_64", "amd64") and level in ("v1", "v2", "v3", "v4"):
        return normalize_arch(base), None if level == "v1" else level
    return normalize_arch(text), None


def _parse_key(parts: list[str], raw: str) -> PythonRequest:
    """A key such as ``cpython-3.12.4+freethreaded-linux-x86_64_v3-gnu``.

    Parts come in the order of :data:`_KEY_PARTS`; any of them may be left out
    (``pypy-linux``, ``3.12-aarch64``) or be ``any`` (``any-3.13.2``).
    """
    values: dict[str, str] = {}
    position = 0
    for part in parts:
        if part == "any":
            index: int | None = position
        else:
            index = _key_part_kind(part, position)
        if index is None or index >= len(_KEY_PARTS):
            raise _invalid(raw, f"unexpected {part!r}: {_KEY_FORM}")
        if part != "any":
            values[_KEY_PARTS[index]] = part
        position = index + 1
    version_text: str | None = None
    freethreaded = debug = False
    if "version" in values:
        version_text, freethreaded, debug = _parse_version(values["version"], raw)
    arch, arch_variant = _split_arch(values["arch"]) if "arch" in values else (None, None)
    os_name = values.get("os")
    impl = values.get("implementation")
    return PythonRequest(
        raw=raw, kind="key", implementation=None if impl is None else _KEY_IMPLEMENTATIONS[impl],
        freethreaded=freethreaded, debug=debug, os=None if os_name is None else _OS_NAMES[os_name],
        arch=arch, arch_variant=arch_variant, libc=values.get("libc"), version_text=version_text,
    )


def _looks_like_path(text: str) -> bool:
    # ``~=3.11`` is a specifier, ``~`` / ``~/bin/python`` a path.
    if text.startswith("~="):
        return False
    return "/" in text or "\\" in text or text.startswith((".", "~"))


def request_text(implementation: str | None, version: str, variant: str | None = None) -> str:
    """How a request for a build is written, the inverse of :func:`parse_request` for
    these forms: ``3.13.15t``, ``3.8.20d``, ``pypy@3.10.16`` (what hints and pins show)."""
    prefix = "" if implementation in (None, "cpython") else f"{implementation}@"
    variants = (variant or "").split("+")
    suffix = ("t" if "freethreaded" in variants else "") + ("d" if "debug" in variants else "")
    return f"{prefix}{version}{suffix}"


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
    if lowered in ("any", "latest", "default"):
        return PythonRequest(raw=raw, kind="any")
    if lowered == "system":
        return PythonRequest(raw=raw, kind="system")
    try:
        return _parse_interpreter_request(raw, lowered)
    except InvalidRequest:
        if allow_names and _could_be_name(raw, lowered):
            return PythonRequest(raw=raw, kind="name")
        raise


def _could_be_name(raw: str, lowered: str) -> bool:
    """Whether a word that is no request may name an environment (see pyv.venv.names)."""
    from pyv.core.locations import MAX_NAME_LENGTH

    return (
        len(raw) <= MAX_NAME_LENGTH
        and raw[0] in _NAME_START
        and _NAME_CHARS.issuperset(raw)
        and not _is_reserved_word(lowered)
    )


def _is_reserved_word(lowered: str) -> bool:
    """Words that start like a request are never environment names (``cpython-x`` is a typo)."""
    head = lowered.replace("@", "-").partition("-")[0]
    return head in IMPLEMENTATIONS and lowered != head


def _parse_interpreter_request(raw: str, lowered: str) -> PythonRequest:
    _check_numbers(lowered, raw)
    if lowered.startswith(_SPECIFIER_START):
        spec, ft, dbg = _parse_specifier(lowered, raw)
        return PythonRequest(raw=raw, kind="version", explicit_specifier=spec, freethreaded=ft,
                             debug=dbg)
    if "-" in lowered and "@" not in lowered:
        return _parse_key(lowered.split("-"), raw)
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
    if lowered in _IMPL_NAMES and lowered != "py":
        return PythonRequest(raw=raw, kind="version", implementation=_IMPL_NAMES[lowered])
    glued = _glued_implementation(lowered)
    if glued is None:
        raise _invalid(raw)
    version = lowered[len(glued):]
    # ``cp``/``pp``/``gp`` are short names (``cp312``, ``cp3.12``, as uv reads them);
    # ``py`` is pyv's own and takes only the wheel-tag spelling (``py312``).
    digits = _digits_end(version, 0)
    if glued == "py" and not (
        2 <= digits <= 3 and set(version[digits:]) <= {"t", "d"}
    ):
        raise _invalid(raw)
    version_text, ft, dbg = _parse_version(version, raw)
    return PythonRequest(raw=raw, kind="version", implementation=_IMPL_NAMES[glued],
                         freethreaded=ft, debug=dbg, version_text=version_text)


def _glued_implementation(lowered: str) -> str | None:
    """The implementation spelling a version is glued to (``pypy`` of ``pypy3.10``), if any."""
    for prefix in _GLUED_PREFIXES:
        if lowered.startswith(prefix) and lowered[len(prefix):len(prefix) + 1] in _DIGITS:
            return prefix
    return None


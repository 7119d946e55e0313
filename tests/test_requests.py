"""Request parsing: every accepted form, the normalised spelling, and the rejected ones."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from pyv.errors import ExitCode, InvalidRequest
from pyv.requests import PythonRequest, parse_request

# text -> (kind, implementation, specifier, variant, normalized)
VALID: list[tuple[str, str, str | None, str | None, str | None, str]] = [
    ("3", "version", None, "==3.*", None, "3"),
    ("3.12", "version", None, "==3.12.*", None, "3.12"),
    ("3.12.4", "version", None, "==3.12.4", None, "3.12.4"),
    ("3.13.0rc1", "version", None, "==3.13.0rc1", None, "3.13.0rc1"),
    ("312", "version", None, "==3.12.*", None, "3.12"),
    ("cpython@3.12", "version", "cpython", "==3.12.*", None, "3.12"),
    ("cpython3.12", "version", "cpython", "==3.12.*", None, "3.12"),
    ("cp312", "version", "cpython", "==3.12.*", None, "3.12"),
    ("python3.12", "version", None, "==3.12.*", None, "3.12"),
    ("3.13t", "version", None, "==3.13.*", "freethreaded", "3.13t"),
    ("3.13+freethreaded", "version", None, "==3.13.*", "freethreaded", "3.13t"),
    ("3.12d", "version", None, "==3.12.*", "debug", "3.12d"),
    ("3.12+debug", "version", None, "==3.12.*", "debug", "3.12d"),
    ("3.13td", "version", None, "==3.13.*", "freethreaded+debug", "3.13td"),
    ("3.13+freethreaded+debug", "version", None, "==3.13.*", "freethreaded+debug", "3.13td"),
    ("313t", "version", None, "==3.13.*", "freethreaded", "3.13t"),
    ("pypy@3.10", "version", "pypy", "==3.10.*", None, "pypy3.10"),
    ("pypy3.10", "version", "pypy", "==3.10.*", None, "pypy3.10"),
    ("PyPy3.10", "version", "pypy", "==3.10.*", None, "pypy3.10"),
    ("pp310", "version", "pypy", "==3.10.*", None, "pypy3.10"),
    ("graalpy@3.11", "version", "graalpy", "==3.11.*", None, "graalpy3.11"),
    ("CPython@3.12", "version", "cpython", "==3.12.*", None, "3.12"),
    ("pypy", "version", "pypy", None, None, "pypy"),
    (">=3.11,<3.13", "version", None, ">=3.11,<3.13", None, "<3.13,>=3.11"),
    ("==3.12.*", "version", None, "==3.12.*", None, "==3.12.*"),
    ("~=3.11", "version", None, "~=3.11", None, "~=3.11"),
    ("cpython@>=3.12", "version", "cpython", ">=3.12", None, ">=3.12"),
    (">=3.13+freethreaded", "version", None, ">=3.13", "freethreaded", ">=3.13+freethreaded"),
    ("any", "any", None, None, None, "any"),
    ("latest", "any", None, None, None, "any"),
    ("  3.12  ", "version", None, "==3.12.*", None, "3.12"),
]


@pytest.mark.parametrize(("text", "kind", "impl", "spec", "variant", "normalized"), VALID)
def test_valid_forms(
    text: str, kind: str, impl: str | None, spec: str | None, variant: str | None, normalized: str
) -> None:
    request = parse_request(text)
    assert request.kind == kind
    assert request.implementation == impl
    assert request.specifier == (SpecifierSet(spec) if spec else None)
    assert request.variant == variant
    assert request.freethreaded == (variant is not None and "freethreaded" in variant)
    assert request.debug == (variant is not None and "debug" in variant)
    assert request.normalized == normalized
    assert request.raw == text.strip()


@pytest.mark.parametrize(
    ("text", "os", "arch", "arch_variant", "libc", "variant", "version"),
    [
        ("cpython-3.12.4-linux-x86_64-gnu", "linux", "x86_64", None, "gnu", None, "3.12.4"),
        ("cpython-3.12-linux-x86_64_v3-gnu", "linux", "x86_64", "v3", "gnu", None, "3.12"),
        ("cpython-3.13.1+freethreaded-linux-x86_64-gnu", "linux", "x86_64", None, "gnu",
         "freethreaded", "3.13.1"),
        ("pypy-3.10.16-darwin-aarch64-none", "darwin", "aarch64", None, "none", None, "3.10.16"),
        ("cpython-3.12-macos-arm64", "darwin", "aarch64", None, None, None, "3.12"),
        ("cpython-3.12", None, None, None, None, None, "3.12"),
        ("cpython-any-linux-any-musl", "linux", None, None, "musl", None, None),
    ],
)
def test_keys(
    text: str, os: str | None, arch: str | None, arch_variant: str | None, libc: str | None,
    variant: str | None, version: str | None,
) -> None:
    request = parse_request(text)
    assert request.kind == "key"
    assert (request.os, request.arch, request.arch_variant, request.libc) == (
        os, arch, arch_variant, libc
    )
    assert request.variant == variant
    assert request.version_text == version


def test_full_key_normalises_to_itself() -> None:
    key = "cpython-3.13.1+freethreaded-linux-x86_64_v3-gnu"
    assert parse_request(key).normalized == key
    assert parse_request(key.upper()).normalized == key


@pytest.mark.parametrize(
    ("text", "exact", "minor", "prefix"),
    [
        ("3", False, False, (3,)),
        ("3.12", False, True, (3, 12)),
        ("cpython@3.12", False, True, (3, 12)),
        ("3.12.4", True, False, (3, 12, 4)),
        ("3.13.0rc1", True, False, (3, 13, 0)),
        ("3.13t", False, True, (3, 13)),
        (">=3.11", False, False, ()),
        ("any", False, False, ()),
    ],
)
def test_exact_and_minor(text: str, exact: bool, minor: bool, prefix: tuple[int, ...]) -> None:
    request = parse_request(text)
    assert request.is_exact is exact
    assert request.is_minor is minor
    assert request.version_prefix == prefix


@pytest.mark.parametrize("text", ["./bin/python", "/usr/bin/python3", "~/py/bin/python", "..", "~"])
def test_paths(text: str) -> None:
    request = parse_request(text)
    assert request.kind == "path"
    assert request.path is not None
    assert "~" not in str(request.path)
    assert request.path == Path(text).expanduser()


def test_system() -> None:
    assert parse_request("system").kind == "system"
    assert parse_request("SYSTEM").kind == "system"


@pytest.mark.parametrize("text", ["astro-env", "myenv_2", "foo", "Data.Science"])
def test_names_only_when_allowed(text: str) -> None:
    assert parse_request(text, allow_names=True) == PythonRequest(raw=text, kind="name")
    with pytest.raises(InvalidRequest):
        parse_request(text)


@pytest.mark.parametrize(
    "text",
    [
        "3.x", "foo", ">=", "cpython@", "3.12.4.5.6", "", "   ", "3124", "cpython-foo",
        "3.12tt", "3.12t+freethreaded", "3.12+freethreaded+freethreaded", "3.12rc1", "rust@1.0",
        "cpython-3.12-plan9", "cpython-3.12-linux-x86_64-glibc", "cp3.12", ">=3.11,", "3..12",
    ],
)
def test_invalid(text: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        parse_request(text)
    line = info.value.render()
    assert "\n" not in line
    assert "3.12" in line and "pypy" in line and ">=3.11" in line  # lists the accepted forms
    assert info.value.exit_code == ExitCode.USAGE


@pytest.mark.parametrize("text", ["3.x", "cpython-foo", "pypy-env", "3.12.4.5.6", ">="])
def test_invalid_even_with_names(text: str) -> None:
    # Version-looking or implementation-prefixed words are typos, not environment names.
    with pytest.raises(InvalidRequest):
        parse_request(text, allow_names=True)


@pytest.mark.parametrize(
    ("text", "impl", "version", "variant", "expected"),
    [
        ("3.12", "cpython", "3.12.4", None, True),
        ("3.12", "pypy", "3.12.1", None, True),
        ("3.12", "cpython", "3.13.0", None, False),
        ("3.12", "cpython", "3.12.4", "freethreaded", False),
        ("3.13t", "cpython", "3.13.1", "freethreaded", True),
        ("3.13t", "cpython", "3.13.1", None, False),
        ("3.13t", "cpython", "3.13.1", "freethreaded+debug", False),
        ("3.13td", "cpython", "3.13.1", "freethreaded+debug", True),
        ("pypy@3.10", "cpython", "3.10.4", None, False),
        ("pypy@3.10", "pypy", "3.10.16", None, True),
        ("3.15", "cpython", "3.15.0rc1", None, True),
        (">=3.11,<3.13", "cpython", "3.12.9", None, True),
        (">=3.11,<3.13", "cpython", "3.13.0", None, False),
        ("any", "graalpy", "3.11.0", None, True),
        ("cpython-3.12.4-linux-x86_64-gnu", "cpython", "3.12.4", None, True),
        ("cpython-3.12.4-linux-x86_64-gnu", "cpython", "3.12.5", None, False),
        ("system", "cpython", "3.12.4", None, False),
        ("./python", "cpython", "3.12.4", None, False),
    ],
)
def test_matches(text: str, impl: str, version: str, variant: str | None, expected: bool) -> None:
    assert parse_request(text).matches(impl, Version(version), variant) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("3.13.0rc1", True), ("3.13", False), (">=3.14.0b1", True), (">=3.14", False),
     ("any", False), ("pypy", False)],
)
def test_allows_prereleases(text: str, expected: bool) -> None:
    assert parse_request(text).allows_prereleases is expected


@pytest.mark.parametrize("text", [t[0] for t in VALID])
def test_normalized_parses_back_to_the_same_request(text: str) -> None:
    request = parse_request(text)
    again = parse_request(request.normalized)
    cpython_or_any = (None, "cpython")
    assert (again.implementation in cpython_or_any) == (request.implementation in cpython_or_any)
    assert (again.specifier, again.variant, again.kind) == (
        request.specifier, request.variant, request.kind
    )


def test_equivalent_spellings_are_equal() -> None:
    assert parse_request("cp312") == replace(parse_request("cpython@3.12"), raw="cp312")
    assert len({parse_request(t).normalized for t in ("3.13t", "313t", "3.13+freethreaded")}) == 1

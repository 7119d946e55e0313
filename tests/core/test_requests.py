"""Request parsing: every accepted form, the normalised spelling, and the rejected ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from pyv.core.errors import ExitCode, InvalidRequest
from pyv.core.records import replace
from pyv.core.requests import MAX_NUMBER_DIGITS, PythonRequest, parse_request, request_text

# text -> (kind, implementation, specifier, variant)
VALID: list[tuple[str, str, str | None, str | None, str | None]] = [
    ("3", "version", None, "==3.*", None),
    ("3.12", "version", None, "==3.12.*", None),
    ("3.12.4", "version", None, "==3.12.4", None),
    ("3.13.0rc1", "version", None, "==3.13.0rc1", None),
    ("3.13rc1", "version", None, "==3.13.0rc1", None),
    ("312", "version", None, "==3.12.*", None),
    ("cpython@3.12", "version", "cpython", "==3.12.*", None),
    ("cpython3.12", "version", "cpython", "==3.12.*", None),
    ("cp312", "version", "cpython", "==3.12.*", None),
    # uv reads cp/pp/gp as cpython/pypy/graalpy, dotted versions included.
    ("cp3.12", "version", "cpython", "==3.12.*", None),
    ("cp3", "version", "cpython", "==3.*", None),
    ("pp3.10", "version", "pypy", "==3.10.*", None),
    ("gp3.11.0", "version", "graalpy", "==3.11.0", None),
    ("cp3.13t", "version", "cpython", "==3.13.*", "freethreaded"),
    ("python3.12", "version", None, "==3.12.*", None),
    ("3.13t", "version", None, "==3.13.*", "freethreaded"),
    ("3.13+freethreaded", "version", None, "==3.13.*", "freethreaded"),
    ("3.12d", "version", None, "==3.12.*", "debug"),
    ("3.12+debug", "version", None, "==3.12.*", "debug"),
    ("3.13td", "version", None, "==3.13.*", "freethreaded+debug"),
    ("3.13+freethreaded+debug", "version", None, "==3.13.*", "freethreaded+debug"),
    ("313t", "version", None, "==3.13.*", "freethreaded"),
    ("pypy@3.10", "version", "pypy", "==3.10.*", None),
    ("pypy3.10", "version", "pypy", "==3.10.*", None),
    ("PyPy3.10", "version", "pypy", "==3.10.*", None),
    ("pp310", "version", "pypy", "==3.10.*", None),
    ("graalpy@3.11", "version", "graalpy", "==3.11.*", None),
    ("CPython@3.12", "version", "cpython", "==3.12.*", None),
    ("pypy", "version", "pypy", None, None),
    (">=3.11,<3.13", "version", None, ">=3.11,<3.13", None),
    ("==3.12.*", "version", None, "==3.12.*", None),
    ("~=3.11", "version", None, "~=3.11", None),
    ("cpython@>=3.12", "version", "cpython", ">=3.12", None),
    (">=3.13+freethreaded", "version", None, ">=3.13", "freethreaded"),
    ("any", "any", None, None, None),
    ("latest", "any", None, None, None),
    ("  3.12  ", "version", None, "==3.12.*", None),
    # uv's spellings: short implementation names, `default`, variants on ranges, and
    # `==3.12` as the series (PEP 440 alone would pad it to the unpatched 3.12.0).
    ("cp", "version", "cpython", None, None),
    ("PP", "version", "pypy", None, None),
    ("gp", "version", "graalpy", None, None),
    ("default", "any", None, None, None),
    (">=3.13t", "version", None, ">=3.13", "freethreaded"),
    (">=3.12,<3.14t", "version", None, ">=3.12,<3.14", "freethreaded"),
    ("<3.14td", "version", None, "<3.14", "freethreaded+debug"),
    (">=3.12d", "version", None, ">=3.12", "debug"),
    ("==3.12", "version", None, "==3.12.*", None),
    ("==3", "version", None, "==3.*", None),
    ("==3.12.4", "version", None, "==3.12.4", None),
    ("==3.13.0rc1", "version", None, "==3.13.0rc1", None),
    (">=3.11,==3.12", "version", None, ">=3.11,==3.12.*", None),
    ("cpython@==3.12", "version", "cpython", "==3.12.*", None),
]


@pytest.mark.parametrize(("text", "kind", "impl", "spec", "variant"), VALID)
def test_valid_forms(
    text: str, kind: str, impl: str | None, spec: str | None, variant: str | None
) -> None:
    request = parse_request(text)
    assert request.kind == kind
    assert request.implementation == impl
    assert request.specifier == (SpecifierSet(spec) if spec else None)
    assert request.variant == variant
    assert request.freethreaded == (variant is not None and "freethreaded" in variant)
    assert request.debug == (variant is not None and "debug" in variant)
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
        # Parts may be left out or be `any`, in any case (uv's key syntax).
        ("any-3.13.2", None, None, None, None, None, "3.13.2"),
        ("ANY-3.11-any-x86_64-any", None, "x86_64", None, None, None, "3.11"),
        ("pypy-linux", "linux", None, None, None, None, None),
        ("cpython-macos-aarch64-none", "darwin", "aarch64", None, "none", None, None),
        ("3.12-aarch64", None, "aarch64", None, None, None, "3.12"),
        ("3.13-x86_64", None, "x86_64", None, None, None, "3.13"),
        ("3.13t-linux-x86_64_v3", "linux", "x86_64", "v3", None, "freethreaded", "3.13"),
        ("cp-3.12-musl", None, None, None, "musl", None, "3.12"),
        ("pp-3.10-amd64", None, "x86_64", None, None, None, "3.10"),
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


@pytest.mark.parametrize(
    ("text", "impl"),
    [("any-3.13.2", None), ("3.12-aarch64", None), ("pypy-linux", "pypy"), ("cp-3.12", "cpython"),
     ("gp-linux", "graalpy"), ("cpython-3.12", "cpython")],
)
def test_key_implementations(text: str, impl: str | None) -> None:
    assert parse_request(text).implementation == impl


def test_keys_are_case_insensitive() -> None:
    key = "cpython-3.13.1+freethreaded-linux-x86_64_v3-gnu"
    assert parse_request(key.upper()) == replace(parse_request(key), raw=key.upper())


@pytest.mark.parametrize(
    ("text", "exact", "prefix"),
    [
        ("3", False, (3,)),
        ("3.12", False, (3, 12)),
        ("cpython@3.12", False, (3, 12)),
        ("3.12.4", True, (3, 12, 4)),
        ("3.13.0rc1", True, (3, 13, 0)),
        ("3.13t", False, (3, 13)),
        (">=3.11", False, ()),
        ("any", False, ()),
    ],
)
def test_exact_and_prefix(text: str, exact: bool, prefix: tuple[int, ...]) -> None:
    request = parse_request(text)
    assert request.is_exact is exact
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
        "3.12tt", "3.12t+freethreaded", "3.12+freethreaded+freethreaded", "3rc1", "rust@1.0",
        "cpython-3.12-plan9", "cpython-3.12-linux-x86_64-glibc", "cp3.x", ">=3.11,", "3..12",
        "3.12-foo", "3.12-linux-linux", "pypy-3.10-linux-sparc", "any-any-any-any-any-any",
        "linux-cpython", "3.12-", "py", "python-3.12", "py3.12", "cp3124",
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
        ("==3.12", "cpython", "3.12.14", None, True),
        ("==3.12", "cpython", "3.13.0", None, False),
        ("==3.12.0", "cpython", "3.12.14", None, False),
        (">=3.13t", "cpython", "3.14.1", "freethreaded", True),
        (">=3.13t", "cpython", "3.14.1", None, False),
        ("3.12-aarch64", "pypy", "3.12.1", None, True),
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


def test_equivalent_spellings_are_equal() -> None:
    assert parse_request("cp312") == replace(parse_request("cpython@3.12"), raw="cp312")
    variants = {replace(parse_request(t), raw="") for t in ("3.13t", "313t", "3.13+freethreaded")}
    assert len(variants) == 1


LONG = "1" * 5000  # past int()'s 4,300-digit limit


@pytest.mark.parametrize(
    "text",
    [f"3.{LONG}", f"{LONG}", f"3.12.{LONG}", f"3.13.0rc{LONG}", f">=3.{LONG}", f"cpython@3.{LONG}",
     f"pypy3.{LONG}", f"cpython-3.{LONG}-linux", "3.1234567", f"3.{LONG}t"],
)
def test_a_number_longer_than_the_bound_is_an_invalid_request(text: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        parse_request(text, allow_names=True)
    line = info.value.render()
    assert "\n" not in line and len(line) < 600, line
    assert f"longer than {MAX_NUMBER_DIGITS} digits" in line


def test_the_digit_bound_itself_is_accepted() -> None:
    digits = "1" * MAX_NUMBER_DIGITS
    assert parse_request(f"3.12.{digits}").version_text == f"3.12.{digits}"


@pytest.mark.parametrize("text", ["3.\u0661\u0662", "\uff13.12", "3.12\u00b2", "\u00b2"])
def test_only_ascii_digits_make_a_version(text: str) -> None:
    # The shims compare bytes: a version written in other scripts' digits is no version.
    with pytest.raises(InvalidRequest):
        parse_request(text)


def test_a_word_longer_than_an_environment_name_is_no_name() -> None:
    from pyv.core.locations import MAX_NAME_LENGTH

    longest = "e" * MAX_NAME_LENGTH
    assert parse_request(longest, allow_names=True).kind == "name"
    with pytest.raises(InvalidRequest) as info:
        parse_request(longest + "e", allow_names=True)
    assert len(info.value.render()) < 600


def test_an_invalid_request_line_shows_a_bounded_excerpt() -> None:
    with pytest.raises(InvalidRequest) as info:
        parse_request("x" * 100_000)
    assert "(100000 characters)" in info.value.render()
    assert len(info.value.render()) < 600


@pytest.mark.parametrize(("implementation", "version", "variant", "text"), [
    ("cpython", "3.13.15", "freethreaded", "3.13.15t"),
    ("cpython", "3.8.20", "debug", "3.8.20d"),
    ("cpython", "3.13.2", "freethreaded+debug", "3.13.2td"),
    (None, "3.12", None, "3.12"),
    ("pypy", "3.10.16", None, "pypy@3.10.16"),
    ("graalpy", "3.11", None, "graalpy@3.11"),
])
def test_request_text_is_read_back_as_the_same_build(implementation, version, variant,
                                                     text) -> None:
    """The one spelling hints, pins and completion show: parse_request reads it back."""
    assert request_text(implementation, version, variant) == text
    parsed = parse_request(text)
    assert (parsed.implementation or "cpython", parsed.version_text, parsed.variant) == (
        implementation or "cpython", version, variant)

"""Bad catalog input: every field is checked and a bad one is one line naming it (exit 10)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pyv.acquire.catalog import BUNDLED_CATALOG, REFRESHED_NAME, Download, to_uv_json
from pyv.core.errors import ExitCode
from pyv.core.settings import PBS_DOWNLOAD_PREFIX

NAME = "cpython-3.12.4+20240713-x86_64-unknown-linux-gnu-install_only.tar.gz"
GOOD = Download("cpython", 3, 12, 4, "", None, "linux", "x86_64", None, "gnu", "20240713",
                f"{PBS_DOWNLOAD_PREFIX}/20240713/{NAME.replace('+', '%2B')}", "a" * 64)


def _entry(**changes: Any) -> dict[str, Any]:
    entry = dict(to_uv_json([GOOD])[GOOD.key])
    entry.update(changes)
    return entry


def _one_error_line(result: Any, *needles: str) -> str:
    assert result.returncode == ExitCode.CONFIG, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"patch": -1}, "patch"),
        ({"major": 10**30}, "major"),
        ({"minor": "12"}, "minor"),
        ({"minor": True}, "minor"),
        ({"prerelease": "; rm -rf /"}, "prerelease"),
        ({"os": "../../etc"}, "os"),
        ({"arch": {"family": "x86_64/..", "variant": None}}, "arch"),
        ({"arch": 7}, "arch"),
        ({"libc": None}, "libc"),
        ({"build": ["20240713"]}, "build"),
        ({"build": "2024 0713; echo"}, "build"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"url": 5}, "url"),
        ({"sha256": "0" * 63 + "g"}, "sha256"),
        ({"variant": "turbo"}, "variant"),
        ({"name": 3}, "name"),
    ],
)
def test_bad_downloads_json_field_is_one_line(
    run_pyv: Any, tmp_path: Path, changes: dict[str, Any], field: str
) -> None:
    path = tmp_path / "downloads.json"
    path.write_text(json.dumps({"k": _entry(**changes)}))
    result = run_pyv("list", "--available", env={"PYV_DOWNLOADS_JSON": str(path)})
    _one_error_line(result, "PYV_DOWNLOADS_JSON", f"{field}:")


def test_deeply_nested_downloads_json_is_one_line(run_pyv: Any, tmp_path: Path) -> None:
    path = tmp_path / "downloads.json"
    path.write_text('{"k": ' + "[" * 5000 + "]" * 5000 + "}")
    result = run_pyv("install", "3.12", env={"PYV_DOWNLOADS_JSON": str(path)})
    _one_error_line(result, "PYV_DOWNLOADS_JSON", "nested too deeply")


def test_good_downloads_json_still_loads(run_pyv: Any, tmp_path: Path) -> None:
    path = tmp_path / "downloads.json"
    path.write_text(json.dumps({"k": _entry()}))
    result = run_pyv("list", "--available", "--all-platforms",
                     env={"PYV_DOWNLOADS_JSON": str(path)}, check=True)
    assert GOOD.key in result.stdout


def _refreshed_with(pyv_home: Path, mutate: Any) -> None:
    header, body = BUNDLED_CATALOG.read_text().splitlines()
    data = json.loads(body)
    mutate(data)
    target = pyv_home / "catalog" / REFRESHED_NAME
    target.parent.mkdir(parents=True)
    newer = json.loads(header)
    newer["newest_build"] = "29991231"
    target.write_text(json.dumps(newer) + "\n" + json.dumps(data) + "\n")


@pytest.mark.parametrize(
    ("column", "value", "field"),
    [(3, -1, "patch"), (4, "; rm -rf /", "prerelease"), (10, "../x", "build"),
     (13, "xyz", "sha256"), (6, 99, "os"), (1, 2.5, "major")],
)
def test_bad_refreshed_catalog_field_is_named_and_ignored(
    run_pyv: Any, pyv_home: Path, column: int, value: Any, field: str
) -> None:
    def mutate(data: dict[str, Any]) -> None:
        data["rows"][7][column] = value

    _refreshed_with(pyv_home, mutate)
    result = run_pyv("list", "--available")
    assert result.returncode == 0, result.stderr
    warning = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and f"row 8: {field}:" in warning[0], result.stderr
    assert "Traceback" not in result.stderr


def test_bad_refreshed_table_entry_is_named(run_pyv: Any, pyv_home: Path) -> None:
    def mutate(data: dict[str, Any]) -> None:
        data["tables"]["libc"].append("gnu/../../x")

    _refreshed_with(pyv_home, mutate)
    result = run_pyv("list", "--available")
    assert result.returncode == 0 and "libc:" in result.stderr, result.stderr


def test_deeply_nested_refreshed_catalog_is_ignored(run_pyv: Any, pyv_home: Path) -> None:
    target = pyv_home / "catalog" / REFRESHED_NAME
    target.parent.mkdir(parents=True)
    target.write_text("[" * 5000 + "]" * 5000 + "\n")
    result = run_pyv("list", "--available")
    assert result.returncode == 0, result.stderr
    assert "nested too deeply" in result.stderr and "Traceback" not in result.stderr


def test_release_file_lines_with_bad_fields_are_skipped() -> None:
    from pyv.acquire.catalog import downloads_from_sha256sums

    good = f"{'a' * 64}  {NAME}"
    rest = "+20240713-x86_64-unknown-linux-gnu-install_only.tar.gz"
    huge = f"{'b' * 64}  cpython-3.{'9' * 5000}.1{rest}"
    big = f"{'c' * 64}  cpython-3.12.99999{rest}"
    found = downloads_from_sha256sums("\n".join([good, huge, big]), "20240713")
    assert [d.key for d in found] == [GOOD.key]

"""`pyv find REQUEST` and `pyv list --all-platforms --all-versions` before argparse
(pyv.cli.fast): the full path's output exactly, or nothing and the full path runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures_venv import HOST_PLATFORM, ManagedPython, add_installation
from pyv.acquire.catalog import loading
from pyv.choose import shims
from pyv.cli import fast
from pyv.cli.commands.listing import whole_catalog_listing
from pyv.cli.entry import GLOBAL_FLAGS
from pyv.cli.main import main as full_main
from pyv.core import report
from pyv.core.settings import load_settings
from pyv.venv import index_reader

REAL_MINOR = f"{sys.version_info[0]}.{sys.version_info[1]}"
VERSION = ".".join(map(str, sys.version_info[:3]))


@pytest.fixture(autouse=True)
def only_pyv_home(monkeypatch: pytest.MonkeyPatch) -> None:
    """As users run pyv: no PYV_* setting but PYV_HOME (the suite sets a few). The full
    path run in-process sets the process's reporter (lock waits): undone after."""
    for name in list(os.environ):
        if name.startswith("PYV_") and name != "PYV_HOME":
            monkeypatch.delenv(name)
    monkeypatch.setattr(report, "_process", list(report._process))


def _rehash() -> None:
    shims.rehash(load_settings())


@pytest.fixture
def indexed(managed_python: ManagedPython) -> ManagedPython:
    _rehash()
    return managed_python


def _fast(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int | None, str, str]:
    capsys.readouterr()
    words = [a for a in args if a not in GLOBAL_FLAGS]
    code = fast.run(words, dict(os.environ), quiet="-q" in args or "--quiet" in args,
                    verbose="-v" in args or "--verbose" in args)
    out, err = capsys.readouterr()
    if code is None:
        assert (out, err) == ("", ""), "a fast path that hands over must print nothing"
    return code, out, err


def _full(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    code = full_main(args)
    out, err = capsys.readouterr()
    return code, out, err


def _same(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The fast path answers, and as the full path does; returns the output."""
    code, out, err = _fast(args, capsys)
    assert code is not None, "the fast path handed over a case it should answer"
    assert (code, out, err) == _full(args, capsys)
    return out


def _hands_over(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert _fast(args, capsys)[0] is None


# ----- find ------------------------------------------------------------------------------
@pytest.mark.parametrize("spelling", [
    REAL_MINOR, VERSION, REAL_MINOR.split(".")[0], f"cpython@{REAL_MINOR}", "any", "latest",
    f"cpython-{VERSION}-{HOST_PLATFORM}", f"cpython-{REAL_MINOR}-{HOST_PLATFORM}",
    REAL_MINOR.replace(".", ""), f"cp{REAL_MINOR.replace('.', '')}",
])
def test_find_answers_as_the_full_path(spelling, indexed, capsys):
    out = _same(["find", spelling], capsys)
    # What the shims run: through the minor link, the installation's own directory only
    # for an exact version or a key (which names one build).
    root = indexed.path if VERSION in spelling or "-" in spelling else indexed.minor_link
    assert out == f"{root / 'bin' / f'python{REAL_MINOR}'}\n"


@pytest.mark.parametrize("args", [
    ["-q", "find", REAL_MINOR], ["find", REAL_MINOR, "--offline"],
    ["find", "--managed-only", REAL_MINOR], ["--no-progress", "find", REAL_MINOR, "--quiet"],
])
def test_find_with_options_that_change_nothing(args, indexed, capsys):
    _same(args, capsys)


@pytest.mark.parametrize("args", [
    ["find"], ["find", REAL_MINOR, "--json"], ["find", REAL_MINOR, "3"], ["find", "--", "3"],
    ["find", "--managed", REAL_MINOR], ["find", "-h"], ["find", "3.1"], ["find", "system"],
    ["find", "/usr/bin/python3"], ["find", "3..1"], ["find", "../version"], ["find", ".inputs"],
    ["find", f" {REAL_MINOR}"], ["find", REAL_MINOR.upper() + "T"], ["which", REAL_MINOR],
    ["find", "-v", REAL_MINOR], ["--verbose", "list", "--all-versions", "--all-platforms"],
])
def test_find_leaves_other_forms_to_the_full_path(args, indexed, capsys):
    _hands_over(args, capsys)


def test_find_leaves_settings_to_the_full_path(indexed, capsys, monkeypatch, pyv_home):
    monkeypatch.setenv("PYV_LOCK_TIMEOUT", "soon")  # a bad setting: the full path says so
    _hands_over(["find", REAL_MINOR], capsys)
    assert _full(["find", REAL_MINOR], capsys)[0] != 0
    monkeypatch.delenv("PYV_LOCK_TIMEOUT")
    (pyv_home / "config.toml").write_text("external = true\n")
    _hands_over(["find", REAL_MINOR], capsys)


def test_find_needs_an_index_built_for_this_environment(indexed, capsys, pyv_home, monkeypatch):
    (pyv_home / "index" / ".installed").unlink()  # an index of an older pyv
    _hands_over(["find", REAL_MINOR], capsys)
    _rehash()
    _same(["find", REAL_MINOR], capsys)
    monkeypatch.setenv("PYV_STORES", str(pyv_home / "other"))
    _rehash()
    monkeypatch.delenv("PYV_STORES")
    _hands_over(["find", REAL_MINOR], capsys)  # .inputs says it was built with other stores


def test_find_notices_a_store_changed_since_the_index(indexed, capsys, pyv_home,
                                                     unpacked_real_python):
    newer = add_installation(pyv_home / "pythons", unpacked_real_python, f"{REAL_MINOR}.99",
                             link_minor=False)  # published by hand, no rehash
    _hands_over(["find", REAL_MINOR], capsys)
    found = _full(["find", REAL_MINOR], capsys)[1]
    assert found == f"{newer.path / 'bin' / f'python{REAL_MINOR}'}\n"
    _rehash()
    assert _same(["find", REAL_MINOR], capsys) == _full(["find", REAL_MINOR], capsys)[1]
    shutil.rmtree(newer.path)  # removed by hand: the index names a missing interpreter
    _hands_over(["find", REAL_MINOR], capsys)
    _rehash()
    _same(["find", REAL_MINOR], capsys)


def test_find_leaves_stores_of_several_platforms_to_the_full_path(indexed, capsys, pyv_home):
    other = pyv_home / "pythons" / f"cpython-{VERSION}-linux-aarch64-gnu"
    shutil.copytree(indexed.path, other, symlinks=True)
    record = json.loads((other / ".pyv-install.json").read_text())
    record.update(key=other.name, arch="aarch64")
    (other / ".pyv-install.json").write_text(json.dumps(record))
    _rehash()
    # Which one a version request selects depends on the host asking.
    _hands_over(["find", REAL_MINOR], capsys)
    assert _full(["find", REAL_MINOR], capsys)[1] == (
        f"{indexed.minor_link / 'bin' / f'python{REAL_MINOR}'}\n")


def test_find_through_the_console_script(indexed, run_pyv):
    fast_run = run_pyv("find", REAL_MINOR)
    full_run = run_pyv("find", REAL_MINOR, env={"PYV_PROGRESS": "0"})  # takes the full path
    assert (fast_run.returncode, fast_run.stdout, fast_run.stderr) == (
        full_run.returncode, full_run.stdout, full_run.stderr)
    assert fast_run.stdout == f"{indexed.minor_link / 'bin' / f'python{REAL_MINOR}'}\n"


# ----- list ------------------------------------------------------------------------------
WHOLE = ["list", "--all-platforms", "--all-versions"]


def _catalog_version(platform: str = HOST_PLATFORM) -> str:
    """A CPython version the bundled catalog has a default build of for ``platform``."""
    for line in loading.BUNDLED_LISTING.read_text().splitlines()[2:]:
        key = line.split()[0]
        if key.startswith("cpython-3.") and key.endswith(f"-{platform}") and "+" not in key:
            version = key.split("-")[1]
            if version.replace(".", "").isdigit():
                return version
    raise AssertionError("no such build in the catalog")


@pytest.fixture
def in_catalog(pyv_home: Path, unpacked_real_python: Path) -> ManagedPython:
    managed = add_installation(pyv_home / "pythons", unpacked_real_python, _catalog_version())
    _rehash()
    return managed


def test_the_listing_is_the_full_commands_output_for_the_bundled_catalog():
    assert loading.BUNDLED_LISTING.read_text(encoding="utf-8") == whole_catalog_listing(), (
        "regenerate it: python scripts/generate_catalog.py --listing-only")


def test_fast_paths_read_the_files_the_full_path_writes():
    assert str(loading.BUNDLED_CATALOG) == fast.BUNDLED_CATALOG
    assert str(loading.BUNDLED_LISTING) == fast.BUNDLED_LISTING
    assert (index_reader.INPUTS, index_reader.INSTALLED) == (shims.INPUTS, shims.INSTALLED)


@pytest.mark.parametrize("args", [
    WHOLE, [*WHOLE, "-q"], ["list", "--all-versions", "--no-progress", "--all-platforms"],
    ["--quiet", *WHOLE, "--offline"],
])
def test_list_with_nothing_installed_answers_as_the_full_path(args, capsys):
    _rehash()
    out = _same(args, capsys)
    assert out.count("\n") > 1000 and "<download available>" in out


def test_list_shows_installed_interpreters_in_their_lines(in_catalog, capsys):
    out = _same(WHOLE, capsys)
    assert f"{in_catalog.path / 'bin' / f'python{REAL_MINOR}'}\n" in out
    width = len(out.split("<")[0])  # the first line's key column
    executable = in_catalog.path / "bin" / f"python{REAL_MINOR}"
    assert [line for line in out.splitlines() if line.startswith(in_catalog.key)] == [
        f"{in_catalog.key:<{width}}{executable}"]


def test_list_hands_over_an_installation_the_catalog_does_not_list(indexed, in_catalog, capsys):
    # The running Python's own version may or may not be in the bundled catalog.
    keys = {line.split()[0] for line in loading.BUNDLED_LISTING.read_text().splitlines()[2:]}
    if indexed.key in keys:
        _same(WHOLE, capsys)
    else:
        _hands_over(WHOLE, capsys)
        assert indexed.key in _full(WHOLE, capsys)[1]


@pytest.mark.parametrize("args", [
    ["list"], ["list", "--all-versions"], [*WHOLE, "--json"], [*WHOLE, "--available"],
    [*WHOLE, "3.12"], [*WHOLE, "--installed"], ["list", "--all-platforms", "--all-version"],
])
def test_list_leaves_other_forms_to_the_full_path(args, in_catalog, capsys):
    _hands_over(args, capsys)


def test_list_leaves_other_catalogs_to_the_full_path(in_catalog, capsys, pyv_home, monkeypatch,
                                                     tmp_path):
    (pyv_home / "catalog").mkdir()  # a refreshed catalog, or the refresh state, lives here
    _hands_over(WHOLE, capsys)
    (pyv_home / "catalog").rmdir()
    monkeypatch.setenv("PYV_DOWNLOADS_JSON", str(tmp_path / "downloads.json"))
    _hands_over(WHOLE, capsys)
    monkeypatch.delenv("PYV_DOWNLOADS_JSON")
    other = tmp_path / "listing.txt"
    other.write_text('{"another":"catalog"}\n' + loading.BUNDLED_LISTING.read_text().split(
        "\n", 1)[1])
    monkeypatch.setattr(fast, "BUNDLED_LISTING", str(other))
    _hands_over(WHOLE, capsys)


def test_list_notices_a_store_changed_since_the_index(in_catalog, capsys):
    shutil.rmtree(in_catalog.path)
    _hands_over(WHOLE, capsys)
    _rehash()
    assert in_catalog.key in _same(WHOLE, capsys)  # as a download again


def test_list_through_the_console_script(in_catalog, run_pyv):
    fast_run = run_pyv(*WHOLE)
    full_run = run_pyv(*WHOLE, env={"PYV_PROGRESS": "0"})  # takes the full path
    assert (fast_run.returncode, fast_run.stdout, fast_run.stderr) == (
        full_run.returncode, full_run.stdout, full_run.stderr)
    assert "days old" in fast_run.stderr


def test_list_into_a_closed_pipe_exits_quietly(in_catalog):
    exe = Path(sys.executable).parent / "pyv"
    proc = subprocess.Popen([str(exe), *WHOLE], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 0
    assert b"Traceback" not in err

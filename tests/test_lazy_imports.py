"""Start-up budgets, as modules loaded (not milliseconds): each command imports what it uses.

Commands that do not download never import httpx or tqdm; ``pyv --version`` imports
nothing beyond the entry point; the hot commands load one command module, no catalog,
no specifier machinery and no download stack.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: Runs the console script's entry point and prints the modules it loaded (the probe
#: itself imports nothing before, so nothing is hidden).
PROBE = """
import sys
before = set(sys.modules)
from pyv.cli.entry import main
import io
out, err = sys.stdout, sys.stderr
sys.stdout, sys.stderr = io.StringIO(), io.StringIO()
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
loaded = sorted(set(sys.modules) - before)
text = sys.stderr.getvalue()
sys.stdout, sys.stderr = out, err
import json
print(json.dumps({"code": code, "loaded": loaded, "err": text}))
"""

DOWNLOAD_STACK = ("httpx", "tqdm", "httpcore", "anyio", "h11", "certifi", "ssl")
#: Never on a command that only reads the store, the version files or PATH.
NOT_ON_HOT_PATHS = (
    *DOWNLOAD_STACK, "packaging.specifiers", "packaging.tags", "pyv.acquire.catalog", "pyv.acquire.installer",
    "pyv.acquire.download", "pyv.acquire.archive", "pyv.acquire.update", "pyv.acquire.mirror", "platform", "tomllib",
)


#: Standard-library modules the read-only commands never need: deleting trees (shutil, which
#: pulls bz2/lzma) and writing install records (datetime) belong to the commands that do them;
#: their records are built without dataclasses (and its inspect): see pyv.core.records.
NOT_ON_READ_PATHS = ("shutil", "bz2", "lzma", "datetime", "dataclasses", "inspect")
#: The commands that only read the store, the version files or PATH.
READ_COMMANDS = [("find", "3.12"), ("find",), ("which", "python"), ("version",), ("pin",),
                 ("list", "--installed")]


def run_probe(*args: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True
    )
    data: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


def _loaded(data: dict[str, object], names: tuple[str, ...]) -> list[str]:
    loaded = data["loaded"]
    assert isinstance(loaded, list)
    return sorted(n for n in names if n in loaded or any(m.startswith(n + ".") for m in loaded))


@pytest.mark.parametrize(
    "args",
    [
        ("list", "--installed"),
        ("find", "3.12"),
        ("find",),
        ("dir",),
        ("version",),
        ("which", "python"),
        ("envs",),
        ("pin",),
    ],
)
def test_hot_commands_stay_light(args: tuple[str, ...]) -> None:
    data = run_probe(*args)
    budget = NOT_ON_HOT_PATHS
    if args[0] == "find" and data["code"] == 3:
        # Nothing found: the error reads the catalog to hint only an install that can work.
        budget = tuple(n for n in NOT_ON_HOT_PATHS if n != "pyv.acquire.catalog")
    assert _loaded(data, budget) == [], data
    loaded = data["loaded"]
    assert isinstance(loaded, list)
    commands = [m for m in loaded if m.startswith("pyv.cli.commands.")]
    assert len(commands) == 1, commands  # only the invoked command's module


@pytest.mark.parametrize("args", READ_COMMANDS)
def test_read_commands_leave_out_the_write_and_record_machinery(args: tuple[str, ...]) -> None:
    data = run_probe(*args)
    budget = NOT_ON_READ_PATHS
    if args[0] == "find" and data["code"] == 3:
        # Nothing found: the catalog (frozen dataclasses) is read for a true install hint.
        budget = tuple(n for n in NOT_ON_READ_PATHS if n not in ("dataclasses", "inspect"))
    assert _loaded(data, budget) == [], data


def test_version_loads_only_the_entry_point() -> None:
    data = run_probe("--version")
    assert data["code"] == 0
    assert [m for m in data["loaded"] if m.startswith("pyv")] == [  # type: ignore[union-attr]
        "pyv", "pyv.cli", "pyv.cli.entry"
    ]
    heavy = ("argparse", "re", "typing", "dataclasses", "pathlib", "enum", "packaging")
    assert _loaded(data, heavy) == [], data


def test_listing_the_catalog_does_not_import_the_download_stack() -> None:
    data = run_probe("list", "--available")
    assert data["code"] == 0, data
    assert _loaded(data, DOWNLOAD_STACK) == [], data


#: Modules on every command's path that must not compile regular expressions at import.
ENTRY_MODULES = ("pyv.core.errors", "pyv.cli.entry", "pyv.cli.main", "pyv.cli.base", "pyv.core.requests",
                 "pyv.core.platform")


def test_entry_modules_compile_no_regular_expression_at_import() -> None:
    probe = f"""
import re, sys, importlib
compiled = []
real = re._compile
def spy(pattern, flags):
    caller = sys._getframe(2).f_globals.get("__name__", "")
    compiled.append(caller)
    return real(pattern, flags)
re._compile = spy
for name in {ENTRY_MODULES!r}:
    importlib.import_module(name)
print(sorted(set(c for c in compiled if c.startswith("pyv"))))
"""
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("args", [("du",), ("cache", "dir"), ("cache", "prune", "--dry-run"),
                                  ("prune", "--dry-run"), ("outdated",)])
def test_housekeeping_never_imports_the_download_stack(args: tuple[str, ...]) -> None:
    data = run_probe(*args)
    assert _loaded(data, DOWNLOAD_STACK) == [], data

"""Start-up budgets, as modules loaded (not milliseconds): each command imports what it uses.

Commands that do not download never import httpx or tqdm; ``pyv --version`` imports
nothing beyond the entry point; the hot commands load one command module, no catalog,
no specifier machinery and no download stack.
"""

from __future__ import annotations

import json
import os
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
    *DOWNLOAD_STACK, "packaging.specifiers", "packaging.tags", "pyv.acquire.catalog",
    "pyv.acquire.installer", "pyv.acquire.download", "pyv.acquire.archive", "pyv.acquire.update",
    "pyv.acquire.mirror", "platform", "tomllib",
)


#: Standard-library modules the read-only commands never need: deleting trees (shutil, which
#: pulls bz2/lzma) and writing install records (datetime) belong to the commands that do them;
#: their records are built without dataclasses (and its inspect): see pyv.core.records.
NOT_ON_READ_PATHS = ("shutil", "bz2", "lzma", "datetime", "dataclasses", "inspect")
#: The commands that only read the store, the version files or PATH.
READ_COMMANDS = [("find", "3.12"), ("find",), ("which", "python"), ("version",), ("pin",),
                 ("list", "--installed")]


def run_probe(*args: str, env: dict[str, str] | None = None) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True, env=env
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


#: All that ``pyv find REQUEST`` (an installed version) and the whole-catalog listing load
#: of pyv: they answer from the shims' index and the precomputed listing (pyv.cli.fast).
FAST_PATH_MODULES = ["pyv", "pyv.cli", "pyv.cli.entry", "pyv.cli.fast", "pyv.core",
                     "pyv.core.locations",
                     "pyv.venv", "pyv.venv.index_reader"]
#: ... and none of what the full command line costs.
NOT_ON_FAST_PATHS = ("argparse", "re", "typing", "dataclasses", "pathlib", "enum", "json",
                     "packaging", "datetime", "inspect", "shutil")


@pytest.mark.parametrize("args", [
    ("find", "MINOR"), ("-q", "find", "MINOR", "--managed-only"),
    ("list", "--all-platforms", "--all-versions"),
    ("list", "--all-versions", "--all-platforms", "-q"),
])
def test_find_and_the_whole_catalog_load_only_the_fast_path(args, managed_python):
    from pyv.choose.shims import rehash
    from pyv.core.settings import load_settings

    rehash(load_settings())
    minor = f"{sys.version_info[0]}.{sys.version_info[1]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYV_") or k == "PYV_HOME"}
    data = run_probe(*(minor if a == "MINOR" else a for a in args), env=env)
    assert data["code"] == 0, data
    loaded = data["loaded"]
    assert isinstance(loaded, list)
    assert [m for m in loaded if m.startswith("pyv")] == FAST_PATH_MODULES, data
    assert _loaded(data, NOT_ON_FAST_PATHS) == [], data


def test_listing_the_catalog_does_not_import_the_download_stack() -> None:
    data = run_probe("list", "--available")
    assert data["code"] == 0, data
    assert _loaded(data, DOWNLOAD_STACK) == [], data


#: Modules on every command's path that must not compile regular expressions at import.
ENTRY_MODULES = ("pyv.core.errors", "pyv.cli.entry", "pyv.cli.main", "pyv.cli.base",
                 "pyv.core.requests",
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


#: What a plain interpreter start imports, printed by the interpreter itself.
_MODULES_AT_EXIT = ("import atexit, sys; "
                    "atexit.register(lambda: print(sorted(sys.modules), file=sys.__stderr__))")


def test_the_installed_command_imports_nothing_before_pyv(tmp_path) -> None:
    """The ``pyv`` command the wheel installs adds only pyv's entry point to what the
    interpreter loads anyway: no console-script wrapper with its ``import re``."""
    from conftest import PYV_EXE

    if not PYV_EXE.is_file():
        pytest.skip("pyv is not installed beside this interpreter")
    lines = PYV_EXE.read_text().splitlines()
    assert lines[0].startswith("#!") and "python" in lines[0], lines[0]
    # The launcher run by this interpreter with a hook that lists sys.modules at exit;
    # the same hook with `pass` gives the interpreter's own start-up.
    code = lines[1:]
    script = tmp_path / "launcher.py"
    script.write_text("\n".join([_MODULES_AT_EXIT, *code]) + "\n")
    bare = subprocess.run([sys.executable, "-c", _MODULES_AT_EXIT], capture_output=True,
                          text=True, check=True)
    run = subprocess.run([sys.executable, str(script), "--version"], capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("pyv ")
    before = set(json.loads(bare.stderr.strip().replace("'", '"')))
    after = set(json.loads(run.stderr.strip().splitlines()[-1].replace("'", '"')))
    # __future__: pyv's own modules start with `from __future__ import annotations`.
    assert sorted(after - before) == ["__future__", "pyv", "pyv.cli", "pyv.cli.entry"]

"""`pyv venv`'s fast path: same environments as the full path, and a clean hand-over."""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures_venv import REAL_MINOR, ManagedPython, system_python
from pyv.choose.shims import rehash
from pyv.cli.main import main as full_main
from pyv.core.settings import load_settings
from pyv.venv import quick

VERSION = ".".join(map(str, sys.version_info[:3]))


def _snapshot(root: Path) -> dict[str, tuple[object, ...]]:
    tree: dict[str, tuple[object, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            rel = str(path.relative_to(root))
            if path.is_symlink():
                tree[rel] = ("link", os.readlink(path))
            elif path.is_dir():
                tree[rel] = ("dir", stat.S_IMODE(path.stat().st_mode))
            else:
                tree[rel] = ("file", path.read_bytes(), stat.S_IMODE(path.stat().st_mode))
    return tree


def _projects(home: Path) -> list[str]:
    path = home / "envs" / ".projects.jsonl"
    if not path.exists():
        return []
    return [json.loads(line)["path"] for line in path.read_text().splitlines()]


def _fast(argv: list[str], cwd: Path | None = None) -> tuple[int | None, str]:
    err = io.StringIO()
    code = quick.run(argv, dict(os.environ), str(cwd or Path.cwd()), err)
    return code, err.getvalue()


def _full(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = full_main(["venv", *argv])
    return code, capsys.readouterr().err


def _compare(argv: list[str], target: Path, capsys: pytest.CaptureFixture[str],
             pyv_home: Path, cwd: Path | None = None) -> tuple[dict[str, tuple[object, ...]], str]:
    """Make the environment with the full path, then with the fast one; both must agree."""
    if cwd is not None:
        os.chdir(cwd)
    code, full_err = _full(argv, capsys)
    assert code == 0, full_err
    full_tree = _snapshot(target)
    shutil.rmtree(target)
    before = _projects(pyv_home)
    code, fast_err = _fast(argv)
    assert code == 0, "the fast path handed over a case it should handle"
    assert _snapshot(target) == full_tree
    assert fast_err == full_err
    assert _projects(pyv_home) == [*before, str(target)]
    assert not [p for p in target.parent.iterdir() if p.name.startswith(f".{target.name}.pyv-")]
    return full_tree, fast_err


@pytest.fixture
def indexed(managed_python: ManagedPython, pyv_home: Path) -> ManagedPython:
    """The managed interpreter, with the shims' index built as every install leaves it."""
    rehash(load_settings())
    return managed_python


def test_system_interpreter_by_path_matches_full_path(capsys, pyv_home):
    target = Path.cwd() / ".venv"
    tree, err = _compare(["-p", str(system_python())], target, capsys, pyv_home)
    assert err.startswith(f"Created .venv with CPython {VERSION} at {system_python()}\n")
    assert tree["bin/python"] == ("link", str(system_python()))
    subprocess.run([str(target / "bin" / "python"), "-c",
                    "import sys; assert sys.prefix != sys.base_prefix"], check=True)


def test_managed_minor_request_follows_the_minor_link(capsys, pyv_home, indexed):
    target = Path.cwd() / ".venv"
    tree, err = _compare(["-p", REAL_MINOR], target, capsys, pyv_home)
    assert tree["bin/python"] == ("link", str(indexed.minor_link / "bin" / f"python{REAL_MINOR}"))
    assert f"(follows upgrades of {REAL_MINOR})" in err


def test_managed_exact_request_stays_on_the_patch(capsys, pyv_home, indexed):
    target = Path.cwd() / "env"
    tree, err = _compare(["-q", "--python", VERSION, "env"], target, capsys, pyv_home)
    assert err == ""
    assert tree["bin/python"] == ("link", str(indexed.path / "bin" / f"python{REAL_MINOR}"))


@pytest.mark.parametrize("where", ["file", "parent-file", "env-var", "global"])
def test_selection_matches_full_path(where, capsys, pyv_home, indexed, monkeypatch, tmp_path):
    project = Path.cwd() / "project"
    sub = project / "src"
    sub.mkdir(parents=True)
    if where == "file":
        (sub / ".python-version").write_text(f"\ufeff# pinned\n{REAL_MINOR}  # comment\n3.99\n")
    elif where == "parent-file":
        (project / ".python-versions").write_text(f"{VERSION}\n")
    elif where == "env-var":
        monkeypatch.setenv("PYV_VERSION", f"{REAL_MINOR}:3.99")
    else:
        (pyv_home / "version").write_text(f"{REAL_MINOR}\n")
    _compare(["--prompt", "my env", "--system-site-packages", "there"], sub / "there", capsys,
             pyv_home, cwd=sub)


@pytest.mark.parametrize("argv", [
    ["--seed"], ["--name", "x"], ["-n", "x"], ["--clear"], ["-h"], ["--json"], ["-p"],
    ["-p", "--seed"], ["--unknown"], ["a", "b"], ["--", "a"], ["-v"], ["--python=3.12"],
    ["-pq"],
])
def test_other_forms_are_left_to_the_full_path(argv):
    assert quick.parse_args(argv) is None


def test_supported_forms_parse():
    opts = quick.parse_args(["-q", "env", "-p", "3.12", "--prompt", "x",
                             "--system-site-packages", "--no-progress", "--offline"])
    assert opts is not None
    assert (opts.path, opts.python, opts.prompt, opts.quiet, opts.system_site_packages) == (
        "env", "3.12", "x", True, True)


def _hands_over(argv: list[str], cwd: Path | None = None) -> None:
    cwd = cwd or Path.cwd()
    before = sorted(os.listdir(cwd))
    code, err = _fast(argv, cwd)
    assert code is None
    assert err == ""
    assert sorted(os.listdir(cwd)) == before


def test_hands_over_when_unsure(pyv_home, indexed, monkeypatch, tmp_path):
    _hands_over(["-p", "3.99"])  # not installed: auto-install and its message live in one place
    _hands_over(["-p", "system"])
    _hands_over(["-p", str(system_python())])  # never asked: its answer is not cached yet
    (Path.cwd() / "existing").mkdir()
    _hands_over(["-p", REAL_MINOR, "existing"])  # an existing target, even empty
    monkeypatch.setenv("PYV_STORES", str(tmp_path))  # the index was built without it
    _hands_over(["-p", REAL_MINOR])
    monkeypatch.delenv("PYV_STORES")
    (pyv_home / "index" / ".inputs").unlink()  # an index of an older pyv
    _hands_over(["-p", REAL_MINOR])
    rehash(load_settings())
    (pyv_home / "config.toml").write_text("auto_install = true\n")
    _hands_over(["-p", REAL_MINOR])
    (pyv_home / "config.toml").unlink()
    assert _fast(["-q", "-p", REAL_MINOR, "ok"])[0] == 0


def test_hands_over_without_a_plain_selection(pyv_home, indexed, tmp_path, monkeypatch):
    _hands_over([])  # nothing selected: the newest installed is the full path's rule
    (Path.cwd() / "pyproject.toml").write_text('[project]\nrequires-python = ">=3.9"\n')
    _hands_over([])
    (Path.cwd() / ".python-version").write_text("myenv\n")  # a named environment
    _hands_over([])
    (Path.cwd() / ".python-version").write_text("# only a comment\n")
    _hands_over([])
    monkeypatch.setenv("PYV_VERSION", "../escape")
    _hands_over([])


def test_a_failure_while_writing_hands_over_and_leaves_nothing(pyv_home, indexed, monkeypatch):
    from pyv.venv import layout

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(layout, "write_tree", broken)
    _hands_over(["-p", REAL_MINOR])
    blocker = Path.cwd() / "file"
    blocker.write_text("")
    _hands_over(["-p", REAL_MINOR, "file/env"])


def test_keys_and_spellings_come_from_the_index(capsys, pyv_home, indexed):
    """The fast path parses no version: what rehash wrote for a spelling decides, so a full
    key (which stays on its patch) gives what the full path gives."""
    target = Path.cwd() / "bykey"
    tree, _ = _compare(["-q", "-p", indexed.key, "bykey"], target, capsys, pyv_home)
    assert tree["bin/python"] == ("link", str(indexed.path / "bin" / f"python{REAL_MINOR}"))
    assert quick.read_index(str(pyv_home), "../version") is None


def test_the_fast_path_loads_no_heavy_module(run_pyv, pyv_home, indexed):
    script = (
        "import sys; from pyv.cli.entry import main\n"
        f"assert main(['venv', '-q', '-p', {REAL_MINOR!r}, 'env']) == 0\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout.split()
    assert (Path.cwd() / "env" / "pyvenv.cfg").is_file()
    for heavy in ("argparse", "dataclasses", "pathlib", "typing", "pyv.core.settings",
                  "pyv.cli.main", "pyv.acquire.store", "packaging", "httpx"):
        assert heavy not in out, heavy


def test_end_to_end_through_the_console_script(run_pyv, pyv_home, indexed):
    result = run_pyv("venv", "-p", REAL_MINOR, check=True)
    assert result.stderr.splitlines()[0].startswith(f"Created .venv with CPython {VERSION}")
    assert "(follows upgrades of" in result.stderr
    python = Path.cwd() / ".venv" / "bin" / "python"
    out = subprocess.run([str(python), "-c", "import sys; print(sys.prefix != sys.base_prefix)"],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True"

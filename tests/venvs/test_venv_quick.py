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
    ["--name", "x"], ["-n", "x"], ["--clear"], ["-h"], ["--json"], ["-p"],
    ["-p", "--seed"], ["--seed=1"], ["--unknown"], ["a", "b"], ["--", "a"], ["-v"],
    ["--python=3.12"], ["-pq"],
])
def test_other_forms_are_left_to_the_full_path(argv):
    assert quick.parse_args(argv) is None


def test_supported_forms_parse():
    opts = quick.parse_args(["-q", "env", "-p", "3.12", "--prompt", "x",
                             "--system-site-packages", "--no-progress", "--offline", "--seed"])
    assert opts is not None
    assert (opts.path, opts.python, opts.prompt, opts.quiet, opts.system_site_packages,
            opts.seed) == ("env", "3.12", "x", True, True, True)
    assert quick.parse_args([]).seed is False  # type: ignore[union-attr]


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


def _modules_loaded(*argv: str) -> list[str]:
    script = (
        "import sys; from pyv.cli.entry import main\n"
        f"assert main({['venv', *argv]!r}) == 0\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True).stdout.split()


#: Never on the fast path: each costs more to import than the environment takes to write.
_HEAVY = ("argparse", "dataclasses", "pathlib", "typing", "pyv.core.settings", "pyv.cli.main",
          "pyv.acquire.store", "packaging", "httpx", "json", "zlib", "pyv.core.errors")


def test_the_fast_path_loads_no_heavy_module(run_pyv, pyv_home, indexed):
    out = _modules_loaded("-q", "-p", REAL_MINOR, "env")
    assert (Path.cwd() / "env" / "pyvenv.cfg").is_file()
    # An index lookup reads neither a version file nor a cached interpreter answer.
    for heavy in (*_HEAVY, "pyv.core.versionfile", "pyv.venv.answers"):
        assert heavy not in out, heavy
    run_pyv("venv", "-q", "-p", str(system_python()), "first", check=True)  # asks it once
    out = _modules_loaded("-q", "-p", str(system_python()), "second")
    assert (Path.cwd() / "second" / "pyvenv.cfg").is_file()
    assert "pyv.venv.answers" in out
    for heavy in _HEAVY:
        assert heavy not in out, heavy


def test_cached_answers_round_trip_and_refuse_what_is_not_theirs(tmp_path):
    from pyv.venv import answers

    exe = system_python()
    cache, stamp = answers.locate(str(tmp_path), str(exe))
    reply = {"executable": str(exe), "implementation": "cpython", "version": [3, 12, 4],
             "version_info": "3.12.4.final.0", "freethreaded": False,
             "site_packages": "lib/python3.12/site-packages", "extra": "ignored"}
    assert answers.read(cache, stamp) is None
    answers.write(cache, stamp, reply)
    data = answers.read(cache, stamp)
    assert data == {k: reply[k] for k in answers.KEYS}
    assert answers.facts(data, str(exe))[2] == (3, 12, 4)
    assert answers.read(cache, stamp.replace("\0", "\0x", 1)) is None  # another file's
    raw = Path(cache).read_bytes()
    Path(cache).write_bytes(raw.replace(b"freethreaded=0", b"freethreaded=maybe"))
    assert answers.read(cache, stamp) is None
    Path(cache).write_bytes(raw[: raw.index(b"site_packages")])
    assert answers.read(cache, stamp) is None
    Path(cache).write_bytes(b'{"stamp": "json of an older pyv"}')
    assert answers.read(cache, stamp) is None
    # A reply that cannot be kept faithfully is not kept.
    answers.write(cache, stamp, {**reply, "executable": "/bad\0path"})
    assert answers.read(cache, stamp) is None
    # Paths that are not UTF-8 survive the round trip.
    odd = f"{tmp_path}/py\udce9thon"
    odd_stamp = f"{odd}\x0017584\x001\x00{odd}"
    answers.write(cache, odd_stamp, {**reply, "executable": odd})
    assert answers.read(cache, odd_stamp)["executable"] == odd  # type: ignore[index]


@pytest.mark.parametrize("path", [
    "/home/me/project/.venv", "/a b/c'd/e", 'has "quotes"', "back\\slash", "tab\there",
    "new\nline", "del\x7f", "caf\u00e9", "emoji \U0001f40d", "bytes \udce9", "",
])
def test_project_record_line_is_what_json_writes(path):
    from pyv.venv import layout

    record = {"path": path, "created": "2026-01-01T00:00:00Z"}
    line = layout.json_line(record)
    assert line == json.dumps(record) + "\n"
    assert json.loads(line) == record


def test_end_to_end_through_the_console_script(run_pyv, pyv_home, indexed):
    result = run_pyv("venv", "-p", REAL_MINOR, check=True)
    assert result.stderr.splitlines()[0].startswith(f"Created .venv with CPython {VERSION}")
    assert "(follows upgrades of" in result.stderr
    python = Path.cwd() / ".venv" / "bin" / "python"
    out = subprocess.run([str(python), "-c", "import sys; print(sys.prefix != sys.base_prefix)"],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True"


# ----- --seed: the remembered choice, linked from the verified trees --------------------
def _warm_cache(pyv_home: Path) -> Path:
    """A wheel cache holding every seed package, its choice remembered and trees made (as
    the first seed leaves it): the full path seeds once, offline."""
    from fixtures_venv import build_wheel
    from pyv.venv.seed_choices import seed_packages

    cache = pyv_home / "cache" / "wheels"
    for name in seed_packages(tuple(sys.version_info[:3])):  # type: ignore[arg-type]
        build_wheel(cache, name=name, version="1.0")
    assert full_main(["venv", "-q", "--seed", "--offline", "-p", str(system_python()),
                      str(Path.cwd() / "first")]) == 0
    assert (cache / "unpacked" / "choices.json").is_file()
    return cache


@pytest.mark.parametrize("how", ["path", "managed"])
def test_warm_seed_matches_full_path(how, capsys, pyv_home, indexed):
    cache = _warm_cache(pyv_home)
    python = str(system_python()) if how == "path" else REAL_MINOR
    target = Path.cwd() / "seeded"
    _, err = _compare(["--seed", "-p", python, "seeded"], target, capsys, pyv_home)
    assert "Seeded: pip 1.0" in err
    site = target / "lib" / f"python{REAL_MINOR}" / "site-packages"
    record = (site / "pip-1.0.dist-info" / "RECORD").read_text()
    assert "../../../bin/pip-hello,sha256=" in record
    assert f"#!{target}/bin/python\n" in (target / "bin" / "pip-hello").read_text()
    # Linked from the verified tree, as the full path links.
    cached = cache / "unpacked" / "pip-1.0-py3-none-any" / "files" / "pip" / "__init__.py"
    assert (site / "pip" / "__init__.py").stat().st_ino == cached.stat().st_ino
    out = subprocess.run([str(target / "bin" / "pip-hello")], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "hello from pip"


def test_warm_seed_hands_over_what_it_cannot_do_alike(pyv_home, indexed):
    from fixtures_venv import build_wheel

    _hands_over(["--seed", "-p", REAL_MINOR])  # nothing remembered: the full path chooses
    cache = _warm_cache(pyv_home)
    assert _fast(["-q", "--seed", "-p", REAL_MINOR, "ok"])[0] == 0
    tree = cache / "unpacked" / "pip-1.0-py3-none-any"
    wheel = cache / "pip-1.0-py3-none-any.whl"
    stamp = wheel.stat()
    os.utime(wheel, ns=(0, 0))  # the same name, another file: its tree no longer counts
    _hands_over(["--seed", "-p", REAL_MINOR])
    os.utime(wheel, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    newer = build_wheel(cache, name="pip", version="2.0")  # a new listing: choose afresh
    _hands_over(["--seed", "-p", REAL_MINOR])
    newer.unlink()
    manifest = tree / "manifest.json"
    saved = manifest.read_bytes()
    manifest.write_text("{not json")
    _hands_over(["--seed", "-p", REAL_MINOR])
    manifest.write_bytes(saved)
    # A tree changed after it was verified is found while linking: the staged environment
    # goes, and the full path makes the tree again.
    with open(tree / "files" / "pip" / "__init__.py", "ab") as fh:
        fh.write(b"# changed in place\n")
    _hands_over(["--seed", "-p", REAL_MINOR])
    assert full_main(["venv", "-q", "--seed", "-p", REAL_MINOR, "remade"]) == 0
    assert b"changed" not in (tree / "files" / "pip" / "__init__.py").read_bytes()
    assert _fast(["-q", "--seed", "-p", REAL_MINOR, "again"])[0] == 0


def test_warm_seed_loads_no_command_line_or_seed_chooser(pyv_home, indexed):
    _warm_cache(pyv_home)
    out = _modules_loaded("-q", "--seed", "-p", REAL_MINOR, "env")
    assert (Path.cwd() / "env" / "bin" / "pip-hello").is_file()
    assert "pyv.venv.trees" in out  # it did seed
    for heavy in ("argparse", "pyv.core.settings", "pyv.cli.main", "pyv.acquire.store",
                  "pyv.core.locking", "pyv.venv.seed", "pyv.venv.create", "pyv.venv.interpreter",
                  "pyv.venv.wheel", "pyv.acquire.archive.extractor", "zipfile", "packaging",
                  "httpx", "configparser", "dataclasses", "pathlib", "typing", "shutil"):
        assert heavy not in out, heavy

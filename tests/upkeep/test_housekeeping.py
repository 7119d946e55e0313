"""End to end: `pyv prune`, `pyv uninstall --all`, `pyv cache`, `pyv du`, `pyv outdated`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from archives import BuiltArchive, synthetic_set
from fixtures_venv import build_wheel
from pyv.core.errors import ExitCode
from pyv.core.settings import load_settings
from pyv.venv.seed import unpacked_wheel

OLD = "cpython-3.12.3-linux-x86_64-gnu"
NEW = "cpython-3.12.4-linux-x86_64-gnu"
OTHER = "cpython-3.11.9-linux-x86_64-gnu"


def store_dirs(pyv_home: Path) -> set[str]:
    pythons = pyv_home / "pythons"
    return {p.name for p in pythons.iterdir()
            if not p.name.startswith(".") and not p.is_symlink()} if pythons.exists() else set()


def fake_env(path: Path, installation: Path) -> Path:
    """An environment as pyv reads one: a pyvenv.cfg whose home is the interpreter's bin."""
    path.mkdir(parents=True)
    (path / "pyvenv.cfg").write_text(f"home = {installation / 'bin'}\nversion = 3.12.3\n")
    return path


def error_lines(stderr: str) -> list[str]:
    assert "Traceback" not in stderr
    return [line for line in stderr.splitlines() if line.startswith("error: ")]


@pytest.fixture
def synthetic(tmp_path: Path) -> dict[str, BuiltArchive]:
    return synthetic_set(tmp_path / "archives")


@pytest.fixture
def upgraded(run_pyv, pbs_mirror, synthetic, pyv_home) -> dict[str, str]:
    """3.12.3 installed, then upgraded to 3.12.4 (3.12.3 kept), and 3.11.9."""
    env = pbs_mirror([synthetic["3.12.3"], synthetic["3.11.9"]])
    run_pyv("install", "3.12.3", "3.11", env=env, check=True)
    env = pbs_mirror(synthetic.values())
    run_pyv("upgrade", env=env, check=True)
    assert store_dirs(pyv_home) == {OLD, NEW, OTHER}
    return env


def test_prune_dry_run_then_refusals_then_removal(run_pyv, upgraded, pyv_home, tmp_path):
    dry = run_pyv("prune", "--dry-run", env=upgraded, check=True)
    assert f"Would remove Python 3.12.3 ({OLD})" in dry.stdout
    assert "files" in dry.stdout and "Would free" in dry.stderr
    assert store_dirs(pyv_home) == {OLD, NEW, OTHER}

    # A named environment made from the old patch: refused, and named.
    env_dir = fake_env(pyv_home / "envs" / "analysis", pyv_home / "pythons" / OLD)
    refused = run_pyv("prune", env=upgraded)
    assert refused.returncode == ExitCode.IN_USE
    [line] = error_lines(refused.stderr)
    assert str(env_dir) in line and OLD in line
    assert store_dirs(pyv_home) == {OLD, NEW, OTHER}
    as_json = json.loads(run_pyv("prune", "--dry-run", "--json", env=upgraded).stdout)
    [candidate] = as_json["candidates"]
    assert candidate["users"] == [str(env_dir)] and candidate["files"] > 0
    (env_dir / "pyvenv.cfg").unlink()

    # A project pinned to the exact old patch, whose environment pyv recorded.
    project = tmp_path / "project"
    fake_env(project / ".venv", pyv_home / "pythons" / NEW)
    (project / ".python-version").write_text("3.12.3\n")
    with open(pyv_home / "envs" / ".projects.jsonl", "a") as fh:
        fh.write(json.dumps({"path": str(project / ".venv")}) + "\n")
    refused = run_pyv("prune", env=upgraded)
    assert refused.returncode == ExitCode.IN_USE
    [line] = error_lines(refused.stderr)
    assert f"the pin in {project / '.python-version'}" in line
    # A minor pin follows the newest patch: it does not hold the old one.
    (project / ".python-version").write_text("3.12\n")

    done = run_pyv("prune", env=upgraded, check=True)
    assert f"Removed Python 3.12.3 ({OLD})" in done.stdout and "Freed" in done.stderr
    assert store_dirs(pyv_home) == {NEW, OTHER}
    assert os.readlink(pyv_home / "pythons" / "cpython-3.12-linux-x86_64-gnu") == NEW
    again = run_pyv("prune", env=upgraded, check=True)
    assert "Nothing to prune" in again.stderr


def test_prune_respects_the_global_pin(run_pyv, upgraded, pyv_home):
    run_pyv("pin", "--global", "3.12.3", env=upgraded, check=True)
    refused = run_pyv("prune", env=upgraded)
    assert refused.returncode == ExitCode.IN_USE
    [line] = error_lines(refused.stderr)
    assert "the pin in" in line and "3.12.3" in line
    assert OLD in store_dirs(pyv_home)


def test_uninstall_all(run_pyv, upgraded, pyv_home):
    both = run_pyv("uninstall", "--all", "3.12", env=upgraded)
    assert both.returncode == ExitCode.USAGE and len(error_lines(both.stderr)) == 1
    neither = run_pyv("uninstall", env=upgraded)
    assert neither.returncode == ExitCode.USAGE

    env_dir = fake_env(pyv_home / "envs" / "tools", pyv_home / "pythons" / OTHER)
    refused = run_pyv("uninstall", "--all", env=upgraded)
    assert refused.returncode == ExitCode.IN_USE
    [line] = error_lines(refused.stderr)
    assert str(env_dir) in line and OTHER in line
    assert store_dirs(pyv_home) == {OLD, NEW, OTHER}  # nothing went

    (env_dir / "pyvenv.cfg").unlink()
    removed = json.loads(run_pyv("uninstall", "--all", "--json", env=upgraded, check=True).stdout)
    assert {r["key"] for r in removed} == {OLD, NEW, OTHER}
    assert store_dirs(pyv_home) == set()
    assert not any(p.is_symlink() for p in (pyv_home / "pythons").iterdir())
    empty = run_pyv("uninstall", "--all", env=upgraded, check=True)
    assert "Nothing to uninstall" in empty.stderr


def test_cache_dir_prune_and_clean(run_pyv, upgraded, pyv_home, synthetic):
    cache = pyv_home / "cache"
    assert run_pyv("cache", "dir", env=upgraded, check=True).stdout.strip() == str(cache)
    downloads = cache / "downloads"
    names = {a.path.name for a in synthetic.values()}
    assert names <= {p.name for p in downloads.iterdir()}
    run_pyv("uninstall", "3.11", env=upgraded, check=True)
    stale = downloads / "cpython-3.10.0-stale.tar.gz.part"
    stale.write_bytes(b"x" * 1000)
    wheels = cache / "wheels"
    old_pip = build_wheel(wheels, "pip", "23.0")
    new_pip = build_wheel(wheels, "pip", "24.0")
    settings = load_settings({"PYV_HOME": str(pyv_home)})
    old_tree = Path(unpacked_wheel(settings, old_pip).root)  # a tree's root is a str
    new_tree = Path(unpacked_wheel(settings, new_pip).root)

    dry = run_pyv("cache", "prune", "--dry-run", env=upgraded, check=True)
    assert "Would free" in dry.stdout and stale.exists() and old_pip.exists()

    pruned = run_pyv("cache", "prune", env=upgraded, check=True)
    assert "Freed" in pruned.stdout
    left = {p.name for p in downloads.iterdir() if not p.name.startswith(".")}
    assert left == {synthetic["3.12.3"].path.name, synthetic["3.12.4"].path.name}
    assert not old_pip.exists() and new_pip.exists()
    assert not old_tree.exists() and new_tree.is_dir()
    assert synthetic["3.11.9"].path.name in pruned.stderr

    cleaned = json.loads(run_pyv("cache", "clean", "--json", env=upgraded, check=True).stdout)
    assert cleaned["freed_bytes"] > 0
    assert not [p for p in downloads.iterdir() if not p.name.startswith(".")]
    assert not new_pip.exists() and not new_tree.exists()
    assert (wheels / "unpacked" / ".lock").exists()  # the lock stays for the seeds
    # A reinstall after a clean fetches the archive again.
    run_pyv("install", "--reinstall", "3.12.4", env=upgraded, check=True)


def test_cache_prune_keeps_a_running_download(run_pyv, pyv_home):
    from pyv.core.locking import acquire

    downloads = pyv_home / "cache" / "downloads"
    downloads.mkdir(parents=True)
    running = downloads / "cpython-3.13.1-running.tar.gz.part"
    stale = downloads / "cpython-3.13.0-stale.tar.gz.part"
    running.write_bytes(b"r" * 10)
    stale.write_bytes(b"s" * 10)
    with acquire(downloads / ".locks" / f"{running.name}.lock", timeout=5, what="a download"):
        run_pyv("cache", "prune", check=True)
    assert running.exists() and not stale.exists()


def test_cache_bad_action_is_one_line(run_pyv):
    bad = run_pyv("cache", "empty")
    assert bad.returncode == ExitCode.USAGE and len(error_lines(bad.stderr)) == 1


def test_du_sizes_and_files(run_pyv, upgraded, pyv_home):
    env_dir = fake_env(pyv_home / "envs" / "analysis", pyv_home / "pythons" / NEW)
    (env_dir / "data.bin").write_bytes(b"x" * 5000)
    report = json.loads(run_pyv("du", "--json", env=upgraded, check=True).stdout)
    by_name = {(i["kind"], i["name"]): i for i in report["items"]}
    assert {("installation", k) for k in (OLD, NEW, OTHER)} <= set(by_name)
    env_item = by_name[("environment", "analysis")]
    assert env_item["bytes"] >= 5000 and env_item["files"] == 3  # dir, cfg, data
    assert by_name[("cache", "downloads")]["files"] >= 4
    assert report["total"]["files"] == sum(i["files"] for i in report["items"])
    text = run_pyv("du", env=upgraded, check=True).stdout
    assert OLD in text and "analysis" in text and text.rstrip().endswith("total")


def test_outdated_and_upgrade_dry_run(run_pyv, pbs_mirror, synthetic, pyv_home):
    env = pbs_mirror([synthetic["3.12.3"]])
    run_pyv("install", "3.12", env=env, check=True)
    current = run_pyv("outdated", env=env, check=True)
    assert current.stdout == "" and "newest patch" in current.stderr
    env = pbs_mirror([synthetic["3.12.3"], synthetic["3.12.4"]])
    for argv in (("outdated",), ("upgrade", "--dry-run")):
        shown = run_pyv(*argv, env=env, check=True)
        assert "cpython-3.12-linux-x86_64-gnu: 3.12.3 -> 3.12.4" in shown.stdout
    as_json = json.loads(run_pyv("outdated", "--json", env=env, check=True).stdout)
    assert as_json == [{"minor": "cpython-3.12-linux-x86_64-gnu", "installed": "3.12.3",
                        "available": "3.12.4", "key": NEW}]
    assert store_dirs(pyv_home) == {OLD}  # nothing installed
    bad = run_pyv("upgrade", "--dry-run", "3.12", env=env)
    assert bad.returncode == ExitCode.USAGE and len(error_lines(bad.stderr)) == 1

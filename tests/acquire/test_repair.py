"""What a killed pyv leaves is repaired by the next install, uninstall, rehash or doctor --fix."""

from __future__ import annotations

import ast
import json
import os
import stat
from pathlib import Path

import pytest

from archives import BuiltArchive, build_synthetic_archive

MINOR = "cpython-3.12-linux-x86_64-gnu"


def _runs_from(pyv_home: Path, spelling: str) -> Path:
    """The directory the shims run ``spelling`` from (the index entry's first line)."""
    return pyv_home / (pyv_home / "index" / spelling).read_text().splitlines()[0]


@pytest.fixture
def archive(tmp_path: Path) -> BuiltArchive:
    return build_synthetic_archive(tmp_path / "archives", (3, 12, 4), build="20240713")


def test_already_installed_repairs_minor_link_and_index(run_pyv, pbs_mirror, archive, pyv_home):
    """Killed between publishing and linking: the next "already installed" relinks."""
    env = pbs_mirror([archive])
    run_pyv("install", "3.12", env=env, check=True)
    minor, index = pyv_home / "pythons" / MINOR, pyv_home / "index"
    os.unlink(minor)
    os.unlink(index / archive.key)
    os.unlink(index / "3.12")
    again = run_pyv("install", "3.12", env=env, check=True)
    assert "already installed" in again.stderr
    assert os.readlink(minor) == archive.key
    assert _runs_from(pyv_home, archive.key) == pyv_home / "pythons" / archive.key
    assert _runs_from(pyv_home, "3.12") == minor


def test_rehash_repairs_minor_links(run_pyv, pbs_mirror, archive, pyv_home):
    env = pbs_mirror([archive])
    run_pyv("install", "3.12", env=env, check=True)
    minor = pyv_home / "pythons" / MINOR
    os.unlink(minor)
    run_pyv("rehash", env=env, check=True)
    assert os.readlink(minor) == archive.key


def test_rehash_heals_stray_entries(run_pyv, pbs_mirror, archive, pyv_home):
    """A directory where an index entry or a shim goes made every later rehash fail."""
    env = pbs_mirror([archive])
    run_pyv("install", "3.12", env=env, check=True)
    index, shims = pyv_home / "index", pyv_home / "shims"
    for stray in (index / "3.12", index / "no-such-spelling", shims / "python3.12"):
        if stray.is_symlink() or stray.is_file():
            stray.unlink()
        (stray / "sub").mkdir(parents=True)
        (stray / "sub" / "file").write_text("stray")
    (index / "stray-file").write_text("stray")
    result = run_pyv("rehash", env=env)
    assert result.returncode == 0, result.stderr
    assert _runs_from(pyv_home, "3.12") == pyv_home / "pythons" / MINOR
    assert not os.path.lexists(index / "no-such-spelling")
    assert not os.path.lexists(index / "stray-file")
    assert (shims / "python3.12").is_file() and os.access(shims / "python3.12", os.X_OK)
    assert run_pyv("rehash", env=env).returncode == 0


def test_modes_are_explicit_under_umask_000(run_pyv, pbs_mirror, archive, pyv_home):
    env = pbs_mirror([archive])
    old = os.umask(0)
    try:
        run_pyv("install", "3.12", env=env, check=True)
    finally:
        os.umask(old)
    pythons = pyv_home / "pythons"
    mode = stat.S_IMODE
    assert mode(pythons.stat().st_mode) == 0o755
    assert mode((pythons / archive.key / ".pyv-install.json").stat().st_mode) == 0o644


def test_uninstall_refuses_what_the_caller_says_is_in_use(pbs_mirror, archive, pyv_home):
    from pyv.acquire.installer import install
    from pyv.acquire.installer.removal import uninstall
    from pyv.choose.shims import ShimUpdates
    from pyv.core.errors import InUse
    from pyv.core.settings import load_settings

    settings = load_settings({**os.environ, **pbs_mirror([archive])})
    install(settings, ["3.12"], shims=ShimUpdates(settings))
    with pytest.raises(InUse) as info:
        uninstall(settings, ["3.12"], shims=ShimUpdates(settings),
                  in_use=lambda inst: ["/somewhere/.venv"])
    assert "/somewhere/.venv" in info.value.message
    removed = uninstall(settings, ["3.12"], shims=ShimUpdates(settings), in_use=lambda i: [])
    assert [i.key for i in removed] == [archive.key]
    assert not os.path.lexists(settings.index_dir / archive.key)


def _imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside functions."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_the_installer_imports_neither_shims_nor_environments():
    import pyv.acquire.installer

    imported: set[str] = set()
    for module in Path(pyv.acquire.installer.__file__).parent.glob("*.py"):
        imported |= _imported_modules(module)
    assert not [m for m in imported if m.startswith(("pyv.choose.shims", "pyv.venv", "pyv.choose.selection"))]
    assert "pyv.choose.shims" not in json.dumps(sorted(imported))


def test_a_damaged_record_is_reported_with_the_command_that_repairs_it(
    run_pyv, pbs_mirror, archive, pyv_home
):
    env = pbs_mirror([archive])
    run_pyv("install", "3.12", env=env, check=True)
    record = pyv_home / "pythons" / archive.key / ".pyv-install.json"
    record.write_text(record.read_text()[:50])
    report = json.loads(run_pyv("doctor", "--fix", "--json", env=env).stdout)
    store = [f for f in report["findings"] if f["check"] == "store"]
    assert [f["fix"] for f in store] == [f"pyv install --reinstall {archive.key}"]
    assert report["fixed"] == [] and (pyv_home / "pythons" / archive.key / "bin").is_dir()
    run_pyv(*store[0]["fix"].split()[1:], env=env, check=True)
    assert json.loads(record.read_text())["key"] == archive.key
    assert os.readlink(pyv_home / "pythons" / MINOR) == archive.key

"""Shared stores: group permissions, bytecode by default, and read-only use by another user.

The second-user tests run pyv as the unprivileged ``pyvtest`` (made by
``scripts/ci-setup-users.sh``, member of the group ``pyvshare``) through
``runuser``; they skip, saying why, when not root or when that user is missing.
Everything that user touches lives under a 0755 directory in /tmp, since pytest's
own temporary directories are private to root.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from archives import REAL_MINOR, BuiltArchive, build_synthetic_archive, mirror_layout, write_catalog
from pyv.core.errors import ExitCode

OTHER_USER = "pyvtest"
SHARE_GROUP = "pyvshare"
PYV_EXE = Path(sys.executable).parent / "pyv"


def run_root(
    *args: str, env: Mapping[str, str], umask: int = 0o022, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run pyv as the test's own user with a chosen umask."""
    cmd = [str(PYV_EXE), *args] if PYV_EXE.exists() else [sys.executable, "-m", "pyv", *args]

    def set_umask() -> None:
        os.umask(umask)

    return subprocess.run(cmd, env={**os.environ, **env}, cwd=cwd, capture_output=True,
                          text=True, timeout=300, preexec_fn=set_umask, check=False)


def modes_below(path: Path) -> dict[str, int]:
    """Relative path -> permission bits (with setgid) of every non-symlink under ``path``."""
    found = {".": stat.S_IMODE(path.stat().st_mode)}
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            full = Path(root, name)
            st = full.lstat()
            if not stat.S_ISLNK(st.st_mode):
                found[str(full.relative_to(path))] = stat.S_IMODE(st.st_mode)
    return found


def assert_group_modes(path: Path, gid: int) -> None:
    for rel, mode in modes_below(path).items():
        full = path / rel
        assert full.lstat().st_gid == gid, rel
        if full.is_dir():
            assert mode == 0o2775, (rel, oct(mode))
        else:
            assert mode in (0o664, 0o775), (rel, oct(mode))


def file_mirror(tmp: Path, archives: Sequence[BuiltArchive]) -> dict[str, str]:
    mirror = tmp / "mirror"
    for archive in archives:
        mirror_layout(mirror, archive)
    catalog = write_catalog(tmp / "catalog.json", archives)
    return {"PYV_PYTHON_INSTALL_MIRROR": mirror.as_uri(), "PYV_DOWNLOADS_JSON": str(catalog)}


# ----- group stores ---------------------------------------------------------------------
def test_group_store_gets_group_modes_whatever_the_umask(tmp_path):
    archive = build_synthetic_archive(tmp_path / "a", (3, 12, 4), build="20240713")
    env = file_mirror(tmp_path, [archive])
    store = tmp_path / "group-store"
    store.mkdir()
    os.chmod(store, 0o2775)  # what `install -d -m 2775 -g GROUP` leaves
    result = run_root("install", "--store", str(store), "3.12", env=env, umask=0o077)
    assert result.returncode == 0, result.stderr
    install_dir = store / archive.key
    assert_group_modes(install_dir, store.stat().st_gid)
    modes = modes_below(install_dir)
    assert modes["bin/python3.12"] == 0o775
    assert modes["lib/python3.12/os.py"] == 0o664
    assert modes[".pyv-install.json"] == 0o664
    # The store's own bookkeeping is shared too: lock files and their directories.
    assert stat.S_IMODE((store / ".locks").stat().st_mode) == 0o2775
    assert stat.S_IMODE((store / ".staging").stat().st_mode) == 0o2775
    assert stat.S_IMODE((store / ".lock").stat().st_mode) == 0o664
    assert stat.S_IMODE((store / ".locks" / f"{archive.key}.lock").stat().st_mode) == 0o664


def test_plain_store_keeps_the_umask(tmp_path):
    archive = build_synthetic_archive(tmp_path / "a", (3, 12, 4), build="20240713")
    env = file_mirror(tmp_path, [archive])
    store = tmp_path / "private-store"
    result = run_root("install", "--store", str(store), "3.12", env=env, umask=0o077)
    assert result.returncode == 0, result.stderr
    modes = modes_below(store / archive.key)
    assert modes["."] == 0o700 and modes["bin/python3.12"] == 0o700
    assert modes["lib/python3.12/os.py"] == 0o600


# ----- a store shared read-only with another user -----------------------------------------
@dataclass(frozen=True)
class OtherUser:
    """Runs pyv as the unprivileged user, with its own PYV_HOME and the shared store."""

    name: str
    base: Path  # 0755, root-owned: everything the user reads lives below
    home: Path  # the user's own, writable
    wrapper: Path  # bin/pyv: the packed real interpreter running this checkout's pyv
    lib_dir: Path

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        values = {
            "HOME": str(self.home),
            "PATH": f"{self.wrapper.parent}:/usr/bin:/bin",
            "PYV_HOME": str(self.home / "pyv"),
            "PYV_PROGRESS": "0",
            # The packed test interpreter keeps its build machine's RUNPATH (under
            # /root here); python-build-standalone builds use $ORIGIN and need no such help.
            "LD_LIBRARY_PATH": str(self.lib_dir),
        }
        values.update(extra or {})
        return values

    def run(self, *argv: str, env: Mapping[str, str] | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        assignments = [f"{k}={v}" for k, v in self.env(env).items()]
        return subprocess.run(
            ["runuser", "-u", self.name, "--", "env", "-i", *assignments, *argv],
            cwd=cwd or self.home, capture_output=True, text=True, timeout=300, check=False,
        )

    def pyv(self, *args: str, env: Mapping[str, str] | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return self.run(str(self.wrapper), *args, env=env, cwd=cwd)


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root to act as a second user (runuser)"
    if shutil.which("runuser") is None:
        return "runuser is not installed"
    try:
        pwd.getpwnam(OTHER_USER)
    except KeyError:
        return f"no user {OTHER_USER!r}; run scripts/ci-setup-users.sh as root"
    return None


@pytest.fixture(scope="module")
def shared_base() -> Iterator[Path]:
    """A 0755 directory in /tmp that another user can traverse (removed at the end)."""
    base = Path(tempfile.mkdtemp(prefix="pyv-shared-", dir="/tmp"))
    try:
        os.chmod(base, 0o755)
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def other_user(shared_base: Path, real_archive: BuiltArchive) -> OtherUser:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    base = shared_base / "other-user"
    base.mkdir(mode=0o755)
    # The user cannot run the test's own interpreter (it may live under /root), so
    # it gets a copy: the real interpreter archive, unpacked where it can read it.
    runtime = base / "runtime"
    with tarfile.open(real_archive.path) as tar:
        if hasattr(tarfile, "tar_filter"):
            tar.extractall(runtime, filter="tar")
        else:  # pragma: no cover - Pythons before the extraction filters
            tar.extractall(runtime)
    python = runtime / "python" / "bin" / f"python{REAL_MINOR}"
    import filelock
    import packaging

    import pyv

    paths = list(dict.fromkeys(
        str(Path(m.__file__).parent.parent)  # type: ignore[arg-type]
        for m in (pyv, packaging, filelock)
    ))
    wrapper = base / "bin" / "pyv"
    wrapper.parent.mkdir()
    wrapper.write_text(
        "#!/bin/sh\n"
        f"exec {python} -E -s -c 'import sys; sys.path[:0] = {json.dumps(paths)}; "
        "from pyv.cli.main import main; sys.exit(main())' \"$@\"\n"
    )
    wrapper.chmod(0o755)
    home = base / "user"
    home.mkdir()
    entry = pwd.getpwnam(OTHER_USER)
    os.chown(home, entry.pw_uid, entry.pw_gid)
    user = OtherUser(OTHER_USER, base, home, wrapper, runtime / "python" / "lib")
    probe = user.pyv("--version")
    if probe.returncode != 0:
        pytest.skip(f"{OTHER_USER} cannot run pyv from this checkout: "
                    f"{(probe.stderr.strip().splitlines() or ['?'])[-1]}")
    return user


@pytest.fixture(scope="module")
def read_only_store(shared_base: Path, real_archive: BuiltArchive) -> Path:
    """A 0755 store (root's, in the second-user tests) holding the real interpreter."""
    store = shared_base / "ro-store"
    env = file_mirror(shared_base / "ro-mirror", [real_archive])
    # Module scope runs before the per-test isolation: give root's pyv a home of its own.
    env = {**env, "PYV_HOME": str(shared_base / "root-home"), "HOME": str(shared_base)}
    result = run_root("install", "--store", str(store), REAL_MINOR, env=env)
    assert result.returncode == 0, result.stderr
    os.chmod(store, 0o755)
    return store


def _snapshot(store: Path) -> list[tuple[str, int, int]]:
    return sorted((str(p.relative_to(store)), p.lstat().st_mode, p.lstat().st_mtime_ns)
                  for p in store.rglob("*"))


def test_store_install_compiles_bytecode_by_default(read_only_store, real_archive):
    stdlib = read_only_store / real_archive.key / "lib" / f"python{REAL_MINOR}"
    tag = sys.implementation.cache_tag
    for module in ("os", "json/__init__", "encodings/utf_8"):
        source = stdlib / f"{module}.py"
        compiled = source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc"
        assert compiled.is_file(), compiled


def test_read_only_store_serves_another_user(other_user, read_only_store, real_archive):
    before = _snapshot(read_only_store)
    env = {"PYV_STORES": str(read_only_store)}
    install_dir = read_only_store / real_archive.key

    listed = other_user.pyv("list", "--installed", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)["pythons"]
    assert [r["key"] for r in rows] == [real_archive.key]

    found = other_user.pyv("find", REAL_MINOR, env=env)
    assert found.returncode == 0, found.stderr
    assert Path(found.stdout.strip()).parent == install_dir / "bin"

    # Selection and shims: the user's own shims run the shared interpreter.
    work = other_user.home / "project"
    other_user.run("mkdir", "-p", str(work))
    other_user.run("sh", "-c", f"echo {REAL_MINOR} > {work}/.python-version")
    assert other_user.pyv("rehash", env=env).returncode == 0
    shim = other_user.home / "pyv" / "shims" / "python"
    ran = other_user.run(str(shim), "-c", "import sys, json; print(sys.prefix)",
                         env=env, cwd=work)
    assert ran.returncode == 0, ran.stderr
    assert Path(ran.stdout.strip()).resolve() == install_dir.resolve()

    # A project environment from the shared interpreter.
    made = other_user.pyv("venv", "-p", REAL_MINOR, env=env, cwd=work)
    assert made.returncode == 0, made.stderr
    venv_python = work / ".venv" / "bin" / "python"
    probe = other_user.run(
        str(venv_python), "-c",
        "import sys, sqlite3, json; print(sys.prefix); print(sys.base_prefix)",
        env=env, cwd=work,
    )
    assert probe.returncode == 0, probe.stderr
    prefix, base_prefix = probe.stdout.split()
    assert Path(prefix) == work / ".venv"
    assert Path(base_prefix).resolve() == install_dir.resolve()
    assert (work / ".venv").stat().st_uid == pwd.getpwnam(other_user.name).pw_uid

    # Writes to the shared store are refused, naming it (whether or not it is a read store).
    for argv, extra in (
        (("install", "--store", str(read_only_store), REAL_MINOR), env),
        (("uninstall", "--store", str(read_only_store), REAL_MINOR), env),
        (("uninstall", "--store", str(read_only_store), REAL_MINOR), {}),
    ):
        refused = other_user.pyv(*argv, env=extra)
        assert refused.returncode == ExitCode.FILESYSTEM, (argv, refused.stderr)
        lines = refused.stderr.strip().splitlines()
        assert lines[-1].startswith("error: ") and "Traceback" not in refused.stderr
        assert str(read_only_store) in refused.stderr, refused.stderr
    assert _snapshot(read_only_store) == before


def test_group_member_shares_a_group_store(other_user, tmp_path):
    try:
        gid = grp.getgrnam(SHARE_GROUP).gr_gid
    except KeyError:
        pytest.skip(f"no group {SHARE_GROUP!r}; run scripts/ci-setup-users.sh as root")
    archives = [build_synthetic_archive(other_user.base / "group-archives", v, build="20240713")
                for v in ((3, 12, 4), (3, 11, 9))]
    env = file_mirror(other_user.base / "group-mirror", archives)
    store = other_user.base / "group-store"
    store.mkdir()
    os.chown(store, 0, gid)
    os.chmod(store, 0o2775)
    # Root installs with a strict umask; the group member removes it and installs another.
    assert run_root("install", "--store", str(store), "3.12", env=env,
                    umask=0o077).returncode == 0
    removed = other_user.pyv("uninstall", "--store", str(store), "3.12", env=env)
    assert removed.returncode == 0, removed.stderr
    assert not (store / archives[0].key).exists()
    added = other_user.pyv("install", "--store", str(store), "3.11", env=env)
    assert added.returncode == 0, added.stderr
    install_dir = store / archives[1].key
    assert install_dir.stat().st_uid == pwd.getpwnam(other_user.name).pw_uid
    assert_group_modes(install_dir, gid)
    assert os.readlink(store / "cpython-3.11-linux-x86_64-gnu") == archives[1].key
    # And back: root removes what the member installed.
    assert run_root("uninstall", "--store", str(store), "3.11", env=env).returncode == 0
    assert not install_dir.exists()

"""`pyv doctor`: each check on a good and a staged broken setup, and --fix."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pyv.acquire.update import CatalogStatus
from pyv.core.fsutil import host_tag
from pyv.core.locking import LockOwner, owner_file
from pyv.core.platform import Host
from pyv.core.settings import Settings, load_settings
from pyv.upkeep.doctor import (
    DoctorInputs,
    check_ca_bundle,
    check_catalog,
    check_disk,
    check_leftovers,
    check_libc,
    check_path,
    check_permissions,
    check_shell,
    check_terminfo,
    find_leftovers,
    fix_leftovers,
    run_doctor,
)

DAY = 86400.0


def _settings(**changes: Any) -> Settings:
    return load_settings(dict(os.environ)).replace(**changes)


def _exe(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


# ----- PATH and shell ------------------------------------------------------------
def test_path_check(tmp_path: Path) -> None:
    shims = tmp_path / "shims"
    shims.mkdir()
    other = _exe(tmp_path / "conda" / "bin" / "python3").parent
    plain = tmp_path / "tools"
    plain.mkdir()
    good = check_path({"PATH": f"{plain}:{shims}:{other}"}, shims)
    assert good.level == "ok"
    missing = check_path({"PATH": f"{plain}:{other}"}, shims)
    assert missing.level == "warning" and "not on PATH" in missing.message
    assert missing.fix and "pyv init" in missing.fix
    shadowed = check_path({"PATH": f"{other}:{shims}"}, shims)
    assert shadowed.level == "warning" and str(other) in shadowed.message
    venv = _exe(tmp_path / "venv" / "bin" / "python3").parent.parent
    active = check_path({"PATH": f"{venv}/bin:{shims}", "VIRTUAL_ENV": str(venv)}, shims)
    assert active.level == "ok"


def test_shell_check(tmp_path: Path) -> None:
    shims = tmp_path / "shims"
    assert check_shell({"PYV_SHELL": "bash"}, shims).level == "ok"
    assert check_shell({"PATH": str(shims)}, shims).level == "info"
    loaded = check_shell({"PATH": "/usr/bin"}, shims)
    assert loaded.level == "warning" and loaded.fix


# ----- host --------------------------------------------------------------------------
@pytest.mark.parametrize(("host", "level"), [
    (Host("linux", "x86_64", "gnu", (2, 28), 3), "ok"),
    (Host("linux", "x86_64", "gnu", (2, 12), 3), "error"),
    (Host("linux", "riscv64", "gnu", (2, 27)), "error"),
    (Host("linux", "x86_64", "gnu", None, 1), "warning"),
    (Host("linux", "aarch64", "musl"), "info"),
    (Host("darwin", "aarch64", "none"), "ok"),
])
def test_libc_check(host: Host, level: str) -> None:
    finding = check_libc(host)
    assert finding.level == level
    if level == "error":
        assert "older than" in finding.message and finding.fix


def test_ca_bundle_debian_and_macos_layouts_are_fine(tmp_path: Path) -> None:
    debian = tmp_path / "debian"
    (debian / "etc/ssl/certs").mkdir(parents=True)
    (debian / "etc/ssl/certs/ca-certificates.crt").write_text("pem")
    (debian / "etc/ssl/certs/8d33f237.0").symlink_to("ca-certificates.crt")
    assert check_ca_bundle({}, debian).level == "ok"
    macos = tmp_path / "macos"
    (macos / "etc/ssl").mkdir(parents=True)
    (macos / "etc/ssl/cert.pem").write_text("pem")
    assert check_ca_bundle({}, macos).level == "ok"


def test_ca_bundle_rhel_layout_needs_ssl_cert_file(tmp_path: Path) -> None:
    rhel = tmp_path / "rhel"
    (rhel / "etc/pki/tls/certs").mkdir(parents=True)
    (rhel / "etc/pki/tls/certs/ca-bundle.crt").write_text("pem")
    (rhel / "etc/ssl").mkdir()
    (rhel / "etc/ssl/certs").symlink_to("../pki/tls/certs")  # as RHEL does: no hashed names
    finding = check_ca_bundle({}, rhel)
    assert finding.level == "warning"
    assert finding.fix and "SSL_CERT_FILE=/etc/pki/tls/certs/ca-bundle.crt" in finding.fix
    bundle = rhel / "etc/pki/tls/certs/ca-bundle.crt"
    assert check_ca_bundle({"SSL_CERT_FILE": str(bundle)}, rhel).level == "ok"


def test_ca_bundle_missing_or_misconfigured(tmp_path: Path) -> None:
    assert check_ca_bundle({}, tmp_path).level == "error"
    wrong = check_ca_bundle({"SSL_CERT_FILE": str(tmp_path / "nope.pem")}, tmp_path)
    assert wrong.level == "error" and "does not exist" in wrong.message
    assert check_ca_bundle({"SSL_CERT_DIR": str(tmp_path)}, tmp_path).level == "error"


def test_terminfo_check(tmp_path: Path) -> None:
    (tmp_path / "usr/share/terminfo").mkdir(parents=True)
    assert check_terminfo({}, tmp_path).level == "ok"
    debian_min = tmp_path / "min"
    (debian_min / "lib/terminfo").mkdir(parents=True)
    (debian_min / "etc/terminfo").mkdir(parents=True)
    finding = check_terminfo({}, debian_min)
    assert finding.level == "warning"
    assert finding.fix == "export TERMINFO_DIRS=/etc/terminfo:/lib/terminfo"
    assert check_terminfo({"TERMINFO_DIRS": "/lib/terminfo"}, debian_min).level == "ok"
    assert check_terminfo({}, tmp_path / "empty").level == "warning"


# ----- disk --------------------------------------------------------------------------
@dataclass(frozen=True)
class FakeStatvfs:
    f_bavail: int
    f_frsize: int = 4096
    f_files: int = 1_000_000
    f_favail: int = 900_000


@pytest.mark.parametrize(("stat", "level", "text"), [
    (FakeStatvfs(f_bavail=10 << 20), "ok", "GiB free"),
    (FakeStatvfs(f_bavail=100_000), "warning", "only 390.6 MiB free"),
    (FakeStatvfs(f_bavail=1000), "error", "only 3.9 MiB free"),
    (FakeStatvfs(f_bavail=10 << 20, f_favail=20_000), "warning", "20000 free inodes"),
    (FakeStatvfs(f_bavail=10 << 20, f_favail=5), "error", "only 5 free inodes"),
    (FakeStatvfs(f_bavail=10 << 20, f_files=0, f_favail=0), "ok", "free"),
])
def test_disk_check(tmp_path: Path, stat: FakeStatvfs, level: str, text: str) -> None:
    seen: list[str] = []

    def statvfs(path: str) -> FakeStatvfs:
        seen.append(path)
        return stat

    finding = check_disk(tmp_path / "not" / "yet" / "made", statvfs)
    assert finding.level == level and text in finding.message
    assert seen == [str(tmp_path)]  # the nearest existing directory
    if level != "ok":
        assert finding.fix and "PYV_HOME" in finding.fix


# ----- permissions -------------------------------------------------------------------
def test_permissions_of_a_fresh_home_are_fine() -> None:
    findings = check_permissions(_settings())
    assert [f.level for f in findings] == ["ok"]


def test_group_store_lock_must_be_group_writable(tmp_path: Path) -> None:
    settings = _settings()
    store = settings.pythons_dir
    store.mkdir(parents=True)
    os.chmod(store, 0o2775)
    lock = store / ".lock"
    lock.write_text("")
    os.chmod(lock, 0o644)
    findings = check_permissions(settings)
    bad = [f for f in findings if f.level == "warning"]
    assert bad and "not group-writable" in bad[0].message and bad[0].fix == f"chmod g+w {lock}"
    os.chmod(lock, 0o664)
    assert all(f.level == "ok" for f in check_permissions(settings))


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_unwritable_store_is_an_error() -> None:
    settings = _settings()
    settings.pythons_dir.mkdir(parents=True)
    os.chmod(settings.pythons_dir, 0o555)
    try:
        findings = check_permissions(settings)
        assert any(f.level == "error" and "not writable" in f.message for f in findings)
    finally:
        os.chmod(settings.pythons_dir, 0o755)


def test_extra_stores(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    (shared / "pythons").mkdir(parents=True)
    (shared / "pythons" / ".lock").touch()  # what every store pyv wrote has
    empty = tmp_path / "empty"
    empty.mkdir()
    findings = check_permissions(_settings(stores=(shared, tmp_path / "gone", empty)))
    levels = {f.message: f.level for f in findings}
    assert any(level == "warning" and "gone" in msg for msg, level in levels.items())
    assert any(level == "ok" and str(shared) in msg for msg, level in levels.items())
    assert any(level == "warning" and f"{empty} (in PYV_STORES" in msg
               for msg, level in levels.items())


# ----- leftovers --------------------------------------------------------------------------
def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _age(path: Path, seconds: float) -> Path:
    when = time.time() - seconds
    os.utime(path, (when, when))
    return path


def _stage_leftovers(settings: Settings) -> dict[str, Path]:
    host = socket.gethostname().replace(".", "_")  # staging names carry the host without dots
    key = "cpython-3.12.4-linux-x86_64-gnu"
    staging = settings.pythons_dir / ".staging" / f"{key}.{host}.{_dead_pid()}.ab12"
    (staging / "python" / "bin").mkdir(parents=True)
    live = settings.pythons_dir / ".staging" / f"{key}.{host}.{os.getpid()}.cd34"
    live.mkdir()
    cache = settings.downloads_cache_dir
    cache.mkdir(parents=True)
    old_part = cache / "old.tar.gz.part"
    old_part.write_bytes(b"x")
    _age(old_part, 2 * DAY)
    fresh_part = cache / "fresh.tar.gz.part"
    fresh_part.write_bytes(b"x")
    settings.shims_dir.mkdir(parents=True)
    shim_tmp = settings.shims_dir / "python3.tmp"
    shim_tmp.write_text("#!/bin/sh\n")
    _age(shim_tmp, 2 * 3600)
    owner = owner_file(settings.pythons_dir / ".lock")
    owner.write_text(LockOwner(host=socket.gethostname(), pid=_dead_pid()).to_json())
    return {"staging": staging, "live": live, "old_part": old_part, "fresh_part": fresh_part,
            "shim_tmp": shim_tmp, "owner": owner}


def test_leftovers_found_and_fixed() -> None:
    settings = _settings()
    staged = _stage_leftovers(settings)
    found = set(find_leftovers(settings))
    assert {staged["staging"], staged["old_part"], staged["shim_tmp"], staged["owner"]} <= found
    assert staged["live"] not in found and staged["fresh_part"] not in found
    report = run_doctor(settings, DoctorInputs(environ={}), fix=False)
    leftovers = next(f for f in report.findings if f.check == "leftovers")
    assert leftovers.level == "warning" and leftovers.fix and "--fix" in leftovers.fix
    removed, problem = fix_leftovers(settings)
    assert problem is None
    assert {staged["staging"], staged["old_part"], staged["shim_tmp"]} <= set(removed)
    for name in ("staging", "old_part", "shim_tmp"):
        assert not staged[name].exists()
    assert staged["live"].exists() and staged["fresh_part"].exists()
    assert find_leftovers(settings) == []


HOLD = """
import sys
from pathlib import Path
from pyv.core.locking import acquire
with acquire(Path(sys.argv[1]), timeout=10, mode="fcntl", what="store"):
    print("held", flush=True)
    sys.stdin.read()
"""


def test_fix_never_runs_while_another_pyv_holds_the_store_lock() -> None:
    settings = _settings(lock_timeout=0.2, lock_mode="fcntl")
    staged = _stage_leftovers(settings)
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(settings.pythons_dir / ".lock")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        report = run_doctor(settings, DoctorInputs(environ={}), fix=True)
        leftovers = next(f for f in report.findings if f.check == "leftovers")
        assert leftovers.level == "warning" and "not cleaned" in leftovers.message
        assert f"pid {proc.pid}" in leftovers.message
        assert staged["staging"].exists() and report.fixed == ()
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait()


# ----- catalog -----------------------------------------------------------------------------
def test_catalog_check() -> None:
    fresh = CatalogStatus("bundled with pyv", "20260814", None, 12.0)
    assert check_catalog(fresh).level == "ok"
    old = check_catalog(CatalogStatus("bundled with pyv", "20260814", None, 120.0))
    assert old.level == "warning" and old.fix and "pyv update" in old.fix
    assert check_catalog(None).level == "warning"
    assert check_catalog(CatalogStatus("x", None, None, None)).level == "info"


def test_run_doctor_reports_an_old_catalog() -> None:
    report = run_doctor(_settings(), DoctorInputs(environ={}, now=time.time() + 400 * DAY))
    catalog = next(f for f in report.findings if f.check == "catalog")
    assert catalog.level == "warning" and not report.healthy


# ----- the command ---------------------------------------------------------------------------
def _healthy_env(tmp_path: Path, pyv_home: Path) -> dict[str, str]:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("pem")
    # A freshly refreshed catalog: the bundled one ages with the calendar.
    from dataclasses import replace
    from datetime import datetime, timezone

    from pyv.acquire.catalog import REFRESHED_NAME, bundled_catalog, save_catalog

    fresh = replace(bundled_catalog(), source="refreshed",
                    generated=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    save_catalog(fresh, pyv_home / "catalog" / REFRESHED_NAME)
    return {"PATH": f"{pyv_home / 'shims'}:/usr/bin:/bin", "PYV_SHELL": "bash",
            "SSL_CERT_FILE": str(bundle), "TERMINFO_DIRS": "/usr/share/terminfo"}


def test_doctor_command_exit_status_json_and_fix(
    run_pyv: Any, tmp_path: Path, pyv_home: Path
) -> None:
    env = _healthy_env(tmp_path, pyv_home)
    result = run_pyv("doctor", "--json", env=env)
    data = json.loads(result.stdout)
    problems = [f for f in data["findings"] if f["level"] in ("warning", "error")]
    if any(f["check"] == "disk" for f in problems):
        pytest.skip("the test machine itself is short of disk space")
    assert result.returncode == 0 and data["healthy"], problems
    staged = _stage_leftovers(load_settings(dict(os.environ)))
    text = run_pyv("doctor", env=env)
    assert text.returncode == 1
    assert "warning leftovers:" in text.stdout and "fix: run `pyv doctor --fix`" in text.stdout
    fixed = run_pyv("doctor", "--fix", env=env)
    assert fixed.returncode == 0, fixed.stdout
    assert f"removed {staged['staging']}" in fixed.stdout
    assert not staged["staging"].exists()


def _record(key: str, version: str) -> str:
    return json.dumps({"key": key, "implementation": "cpython", "version": version,
                       "variant": None, "os": "linux", "arch": "x86_64", "arch_variant": None,
                       "libc": "gnu", "build": "20240101", "executable": "bin/python3"})


def test_damaged_and_foreign_entries_are_reported_never_removed(tmp_path: Path) -> None:
    settings = load_settings({"PYV_HOME": str(tmp_path / "home")})
    damaged = settings.pythons_dir / "cpython-3.12.4-linux-x86_64-gnu"
    (damaged / "bin").mkdir(parents=True)
    (damaged / "bin" / "python3").write_text("#!/bin/sh\n")
    (damaged / ".pyv-install.json").write_text(_record(damaged.name, "3.12.4")[:40])
    mine = settings.pythons_dir / "my-python"
    (mine / "bin").mkdir(parents=True)
    assert damaged not in find_leftovers(settings) and mine not in find_leftovers(settings)
    report = run_doctor(settings, DoctorInputs(environ={}), fix=True)
    store = [f for f in report.findings if f.check == "store"]
    assert [f.level for f in store] == ["warning", "warning"]
    assert store[0].fix == f"pyv install --reinstall {damaged.name}"
    assert "my-python" in store[1].message and "never" in (store[1].fix or "")
    assert (damaged / "bin" / "python3").exists() and (mine / "bin").is_dir()
    assert report.fixed == ()


def test_fix_relinks_and_puts_back_what_a_dead_reinstall_set_aside(tmp_path: Path) -> None:
    settings = load_settings({"PYV_HOME": str(tmp_path / "home")})
    key = "cpython-3.12.4-linux-x86_64-gnu"
    staging = settings.pythons_dir / ".staging" / f"{key}.{host_tag()}.{_dead_pid()}.ab12"
    (staging / "old" / "bin").mkdir(parents=True)
    (staging / "old" / ".pyv-install.json").write_text(_record(key, "3.12.4"))
    assert staging in find_leftovers(settings)
    removed, problem = fix_leftovers(settings)
    assert problem is None and removed == [staging] and not staging.exists()
    assert (settings.pythons_dir / key / ".pyv-install.json").is_file()
    minor = settings.pythons_dir / "cpython-3.12-linux-x86_64-gnu"
    assert os.readlink(minor) == key
    from pyv.choose.shims import read_entry

    assert read_entry(settings, "3.12") == minor  # a minor request runs from the minor link


def test_environment_leftovers_are_reported_and_cleaned(tmp_path: Path) -> None:
    settings = load_settings({"PYV_HOME": str(tmp_path / "home")})
    envs = settings.envs_dir
    dead, owner = _dead_pid(), f"{host_tag()}.{os.getpid()}"
    staged = envs / f".web.pyv-{host_tag()}.{dead}-0badcafe"
    removing = envs / f".old-env.pyv-removing-{host_tag()}.{dead}-0badcafe"
    aside = envs / f".api.pyv-{host_tag()}.{dead}-0badcafe-old"
    live = envs / f".web.pyv-{owner}-12345678"
    elsewhere = envs / f".web.pyv-otherhost.{dead}-12345678"
    for path in (staged, removing, aside, live, elsewhere):
        path.mkdir(parents=True)
    (aside / "pyvenv.cfg").write_text("home = /x\n")
    found = find_leftovers(settings)
    assert {staged, removing, aside} <= set(found)
    assert live not in found and elsewhere not in found
    leftovers = check_leftovers(found)
    assert leftovers.level == "warning"
    removed, problem = fix_leftovers(settings)
    assert problem is None
    assert sorted(removed) == sorted([staged, removing])
    assert (envs / "api" / "pyvenv.cfg").is_file()  # put back: its name was empty
    assert not staged.exists() and not removing.exists() and not aside.exists()
    assert live.exists() and elsewhere.exists()

"""End-to-end and failure tests of install, uninstall and upgrade against a loopback mirror."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archives import (
    REAL_MINOR,
    BuiltArchive,
    build_synthetic_archive,
    synthetic_set,
    write_catalog,
)
from pyv.core.errors import ExitCode


def store_dirs(pyv_home: Path) -> list[str]:
    pythons = pyv_home / "pythons"
    if not pythons.exists():
        return []
    return sorted(p.name for p in pythons.iterdir() if not p.name.startswith("."))


def staging_entries(pyv_home: Path) -> list[str]:
    staging = pyv_home / "pythons" / ".staging"
    return sorted(p.name for p in staging.iterdir()) if staging.exists() else []


def archive_path(archive: BuiltArchive) -> str:
    return f"/{archive.build}/{archive.path.name}"


def one_line_error(stderr: str) -> None:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    assert lines, "expected an error message"
    assert lines[-1].startswith("error: ")
    assert "Traceback" not in stderr


@pytest.fixture
def synthetic(tmp_path: Path) -> dict[str, BuiltArchive]:
    d = tmp_path / "archives"
    return {
        **synthetic_set(d),
        "3.13.0t": build_synthetic_archive(d, (3, 13, 0), build="20241008", variant="freethreaded"),
    }


def test_install_real_interpreter_end_to_end(run_pyv, pbs_mirror, real_archive, pyv_home):
    env = pbs_mirror([real_archive])
    result = run_pyv("install", REAL_MINOR, env=env)
    assert result.returncode == 0, result.stderr
    assert f"Installed Python {'.'.join(map(str, real_archive.version))}" in result.stderr
    key = real_archive.key
    install_dir = pyv_home / "pythons" / key
    record = json.loads((install_dir / ".pyv-install.json").read_text())
    assert record["sha256"] == real_archive.sha256
    assert record["url"] == real_archive.url
    minor_link = (
        pyv_home / "pythons" / key.replace(".".join(map(str, real_archive.version)), REAL_MINOR)
    )
    assert os.readlink(minor_link) == key

    # A minor request's path goes through the minor link, as a shim runs it.
    found = run_pyv("find", REAL_MINOR, "--managed-only", env=env, check=True).stdout.strip()
    assert Path(found).parent == minor_link / "bin"
    probe = subprocess.run(
        [
            found,
            "-c",
            "import sys, ssl, sqlite3, zlib, sysconfig; "
            "print(sys.prefix); print(sysconfig.get_config_var('LIBDIR'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    prefix, libdir = probe.stdout.split()
    assert Path(prefix) == minor_link  # the interpreter keeps the path it was started as
    assert Path(libdir) == install_dir / "lib"  # sysconfig's data, fixed up at install
    assert (install_dir / "lib" / f"python{REAL_MINOR}" / "EXTERNALLY-MANAGED").exists()

    listed = run_pyv("list", "--installed", "--json", env=env, check=True)
    keys = [row["key"] for row in json.loads(listed.stdout)["pythons"]]
    assert keys == [key]
    # Installed again: no download, "already installed".
    again = run_pyv("install", REAL_MINOR, env=env, check=True)
    assert "already installed" in again.stderr
    assert staging_entries(pyv_home) == []


def test_install_verifies_checksum_and_leaves_nothing(
    run_pyv, pbs_mirror, synthetic, pyv_home, tmp_path
):
    archive = synthetic["3.12.4"]
    env = pbs_mirror([archive])
    catalog = Path(env["PYV_DOWNLOADS_JSON"])
    data = json.loads(catalog.read_text())
    data[archive.key]["sha256"] = "0" * 64
    catalog.write_text(json.dumps(data))
    result = run_pyv("install", "3.12", env=env)
    assert result.returncode == ExitCode.INTEGRITY
    one_line_error(result.stderr)
    assert "0" * 64 in result.stderr and archive.sha256 in result.stderr
    assert store_dirs(pyv_home) == []
    assert staging_entries(pyv_home) == []
    cache = pyv_home / "cache" / "downloads"
    leftovers = [p.name for p in cache.iterdir() if p.is_file()] if cache.exists() else []
    assert leftovers == []  # neither the archive nor its .part survives a mismatch


def test_missing_checksum_refused_unless_allowed(run_pyv, pbs_mirror, synthetic, pyv_home):
    archive = synthetic["3.11.9"]
    env = pbs_mirror([archive], sha256=False)
    refused = run_pyv("install", "3.11", env=env)
    assert refused.returncode == ExitCode.INTEGRITY
    one_line_error(refused.stderr)
    assert "--allow-missing-checksum" in refused.stderr
    assert store_dirs(pyv_home) == []
    allowed = run_pyv("install", "3.11", "--allow-missing-checksum", env=env)
    assert allowed.returncode == 0, allowed.stderr
    assert archive.key in store_dirs(pyv_home)


def test_minor_link_follows_newest_patch_and_uninstall(run_pyv, pbs_mirror, synthetic, pyv_home):
    env = pbs_mirror([synthetic["3.12.3"], synthetic["3.12.4"]])
    run_pyv("install", "3.12.3", env=env, check=True)
    link = pyv_home / "pythons" / "cpython-3.12-linux-x86_64-gnu"
    assert os.readlink(link) == "cpython-3.12.3-linux-x86_64-gnu"
    run_pyv("install", "3.12", env=env, check=True)
    assert os.readlink(link) == "cpython-3.12.4-linux-x86_64-gnu"
    run_pyv("uninstall", "3.12.4", env=env, check=True)
    assert os.readlink(link) == "cpython-3.12.3-linux-x86_64-gnu"
    run_pyv("uninstall", "3.12", env=env, check=True)
    assert not link.is_symlink()
    assert store_dirs(pyv_home) == []
    missing = run_pyv("uninstall", "3.12", env=env)
    assert missing.returncode == ExitCode.NOT_FOUND
    one_line_error(missing.stderr)


def test_upgrade_installs_newest_patch_and_keeps_old(
    run_pyv, pbs_mirror, synthetic, pyv_home, tmp_path
):
    env = pbs_mirror([synthetic["3.12.3"]])
    run_pyv("install", "3.12", env=env, check=True)
    nothing = run_pyv("upgrade", env=env, check=True)
    assert "newest patch" in nothing.stderr
    env = pbs_mirror([synthetic["3.12.3"], synthetic["3.12.4"]])
    result = run_pyv("upgrade", env=env, check=True)
    assert "3.12.4" in result.stderr
    link = pyv_home / "pythons" / "cpython-3.12-linux-x86_64-gnu"
    assert os.readlink(link) == "cpython-3.12.4-linux-x86_64-gnu"
    assert {"cpython-3.12.3-linux-x86_64-gnu", "cpython-3.12.4-linux-x86_64-gnu"} <= set(
        store_dirs(pyv_home)
    )


def test_freethreaded_only_when_asked(run_pyv, pbs_mirror, synthetic, pyv_home):
    env = pbs_mirror([synthetic["3.12.4"], synthetic["3.13.0t"]])
    run_pyv("install", "3.13t", env=env, check=True)
    assert "cpython-3.13.0+freethreaded-linux-x86_64-gnu" in store_dirs(pyv_home)
    plain = run_pyv("install", "3.13", env=env)
    assert plain.returncode == ExitCode.NOT_FOUND
    one_line_error(plain.stderr)


def test_unknown_and_invalid_requests(run_pyv, pbs_mirror, synthetic):
    env = pbs_mirror([synthetic["3.12.4"]])
    unknown = run_pyv("install", "3.9.99", env=env)
    assert unknown.returncode == ExitCode.NOT_FOUND
    one_line_error(unknown.stderr)
    assert "3.12.4" in unknown.stderr  # nearest available versions are named
    invalid = run_pyv("install", "three.twelve", env=env)
    assert invalid.returncode == ExitCode.USAGE
    one_line_error(invalid.stderr)


def test_network_down_is_one_clear_line(run_pyv, synthetic, tmp_path, pyv_home):
    from fixtures_http import closed_port

    catalog = write_catalog(tmp_path / "catalog.json", [synthetic["3.12.4"]])
    env = {
        "PYV_DOWNLOADS_JSON": str(catalog),
        "PYV_RETRIES": "1",
        "PYV_PYTHON_INSTALL_MIRROR": f"http://127.0.0.1:{closed_port()}",
    }
    result = run_pyv("install", "3.12", env=env)
    assert result.returncode == ExitCode.NETWORK
    one_line_error(result.stderr)
    assert store_dirs(pyv_home) == []


def test_offline_installs_from_file_mirror_only(run_pyv, synthetic, tmp_path, pyv_home):
    from archives import mirror_layout

    archive = synthetic["3.12.4"]
    mirror = tmp_path / "mirror"
    mirror_layout(mirror, archive)
    catalog = write_catalog(tmp_path / "catalog.json", [archive])
    env = {"PYV_DOWNLOADS_JSON": str(catalog), "PYV_OFFLINE": "1"}
    refused = run_pyv(
        "install", "3.12", env={**env, "PYV_PYTHON_INSTALL_MIRROR": "http://127.0.0.1:9"}
    )
    assert refused.returncode == ExitCode.NETWORK
    one_line_error(refused.stderr)
    ok = run_pyv("install", "3.12", env={**env, "PYV_PYTHON_INSTALL_MIRROR": mirror.as_uri()})
    assert ok.returncode == 0, ok.stderr


def test_download_cache_serves_reinstall(run_pyv, pbs_mirror, synthetic, http_server, pyv_home):
    archive = synthetic["3.12.4"]
    env = pbs_mirror([archive])
    run_pyv("install", "3.12", env=env, check=True)
    assert (pyv_home / "cache" / "downloads" / archive.path.name).is_file()
    run_pyv("install", "3.12", "--reinstall", env=env, check=True)
    assert http_server.count(archive_path(archive)) == 1


def test_failed_smoke_test_rolls_back(run_pyv, pbs_mirror, tmp_path, pyv_home):
    broken = build_synthetic_archive(
        tmp_path / "broken", (3, 12, 5), build="20240801", broken_python=True
    )
    env = pbs_mirror([broken])
    result = run_pyv("install", "3.12", env=env)
    assert result.returncode != 0
    one_line_error(result.stderr)
    assert store_dirs(pyv_home) == []
    assert staging_entries(pyv_home) == []
    # The shims made while the test ran are made again without the failed version.
    index = pyv_home / "index"
    entries = [p.name for p in index.iterdir() if not p.name.startswith(".")] \
        if index.exists() else []
    assert entries == []
    assert not (pyv_home / "shims" / "python3.12").exists()


def _install_in_process(env: dict[str, str], texts: list[str]) -> list[object]:
    from pyv.acquire.installer import install
    from pyv.choose.shims import ShimUpdates
    from pyv.core.settings import load_settings

    settings = load_settings({**os.environ, **env})
    return list(install(settings, texts, shims=ShimUpdates(settings)))


def test_shims_are_made_during_the_smoke_test_once(pbs_mirror, synthetic, pyv_home,
                                                    monkeypatch):
    import pyv.choose.shims

    calls: list[bool] = []
    real = pyv.choose.shims.rehash

    def counting(settings, pending=None):
        calls.append(pending is not None)
        return real(settings, pending)

    monkeypatch.setattr(pyv.choose.shims, "rehash", counting)
    archive = synthetic["3.12.4"]
    _install_in_process(pbs_mirror([archive]), ["3.12"])
    assert calls == [True]  # made with the pending tree; nothing undid it, so no second pass
    assert _index_root(pyv_home, archive.key) == pyv_home / "pythons" / archive.key
    assert (_index_root(pyv_home, "3.12") / "bin").is_dir()
    # Made before the minor link existed, yet `3.12` runs through it (as `pyv venv` does).
    assert _index_root(pyv_home, "3.12") == \
        pyv_home / "pythons" / archive.key.replace("3.12.4", "3.12")
    assert (pyv_home / "shims" / "python3.12").is_file()


def test_a_rehash_between_test_and_publish_is_repaired(pbs_mirror, synthetic, pyv_home,
                                                       monkeypatch):
    """Another command's rehash (which cannot see the staged tree) drops the new entries;
    the installer notices after publishing and rehashes again."""
    import pyv.acquire.checks
    import pyv.choose.shims
    from pyv.core.settings import load_settings

    real_result = pyv.acquire.checks.SmokeTest.result

    def result_then_foreign_rehash(self):
        real_result(self)
        pyv.choose.shims.rehash(load_settings())  # as a concurrent `pyv uninstall` would

    monkeypatch.setattr(pyv.acquire.checks.SmokeTest, "result", result_then_foreign_rehash)
    archive = synthetic["3.11.9"]
    _install_in_process(pbs_mirror([archive]), ["3.11"])
    assert _index_root(pyv_home, archive.key) == pyv_home / "pythons" / archive.key
    assert (pyv_home / "shims" / "python3.11").is_file()


def test_install_local_archive_with_sha256(run_pyv, synthetic, pyv_home, tmp_path):
    archive = synthetic["3.12.4"]
    env = {"PYV_DOWNLOADS_JSON": str(write_catalog(tmp_path / "empty.json", []))}
    bad = run_pyv("install", str(archive.path), "--sha256", "1" * 64, env=env)
    assert bad.returncode == ExitCode.INTEGRITY
    one_line_error(bad.stderr)
    assert store_dirs(pyv_home) == []
    unverified = run_pyv("install", str(archive.path), env=env)
    assert unverified.returncode == ExitCode.INTEGRITY
    good = run_pyv("install", str(archive.path), "--sha256", archive.sha256, env=env)
    assert good.returncode == 0, good.stderr
    assert archive.key in store_dirs(pyv_home)


def test_lock_held_gives_clear_message(run_pyv, pbs_mirror, synthetic, pyv_home):
    from filelock import FileLock

    archive = synthetic["3.12.4"]
    env = pbs_mirror([archive])
    lock_path = pyv_home / "pythons" / ".locks" / f"{archive.key}.lock"
    lock_path.parent.mkdir(parents=True)
    with FileLock(str(lock_path)):
        result = run_pyv("install", "3.12", env={**env, "PYV_LOCK_TIMEOUT": "0.5"})
    assert result.returncode == ExitCode.LOCKED
    one_line_error(result.stderr)
    assert "PYV_LOCK_TIMEOUT" in result.stderr
    assert store_dirs(pyv_home) == []


def test_eight_concurrent_installs_download_once(pbs_mirror, synthetic, http_server, pyv_home):
    archive = synthetic["3.12.4"]
    env = {**os.environ, **pbs_mirror([archive])}
    # Slow the body down so the eight processes really overlap.
    http_server.add_fault(archive_path(archive), "slow", delay=0.05)
    exe = str(Path(sys.executable).parent / "pyv")
    procs = [
        subprocess.Popen(
            [exe, "install", "3.12"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
    for p in procs:
        for stream in (p.stdout, p.stderr):
            if stream:
                stream.close()
    assert [code for code, _ in results] == [0] * 8, results
    assert http_server.count(archive_path(archive)) == 1
    assert store_dirs(pyv_home) == sorted([archive.key, "cpython-3.12-linux-x86_64-gnu"])
    installed = sum("Installed Python" in err for _, err in results)
    assert installed == 1


def test_killed_install_leaves_nothing_visible_and_retry_succeeds(
    run_pyv, pbs_mirror, synthetic, http_server, pyv_home
):
    archive = synthetic["3.12.4"]
    env = {**os.environ, **pbs_mirror([archive])}
    http_server.add_fault(archive_path(archive), "slow", delay=0.5)
    exe = str(Path(sys.executable).parent / "pyv")
    proc = subprocess.Popen(
        [exe, "install", "3.12"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while not staging_entries(pyv_home) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert staging_entries(pyv_home), "the install never started staging"
    time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    listed = run_pyv("list", "--installed", "--json", env=env, check=True)
    assert json.loads(listed.stdout)["pythons"] == []
    assert archive.key not in store_dirs(pyv_home)
    retry = run_pyv("install", "3.12", env=env)
    assert retry.returncode == 0, retry.stderr
    assert staging_entries(pyv_home) == []
    assert archive.key in store_dirs(pyv_home)


def test_platform_mismatch_refused(run_pyv, tmp_path):
    riscv = BuiltArchive(
        path=tmp_path / "x.tar.gz",
        sha256="a" * 64,
        version=(3, 12, 4),
        build="20240713",
        arch="riscv64",
    )
    env = {"PYV_DOWNLOADS_JSON": str(write_catalog(tmp_path / "c.json", [riscv]))}
    result = run_pyv("install", riscv.key, env=env)
    assert result.returncode == ExitCode.PLATFORM
    one_line_error(result.stderr)


def test_read_only_extra_store_is_listed_but_not_written(
    run_pyv, pbs_mirror, synthetic, tmp_path, pyv_home
):
    shared_home = tmp_path / "shared"
    env = pbs_mirror([synthetic["3.12.4"], synthetic["3.11.9"]])
    run_pyv("install", "3.12", env={**env, "PYV_HOME": str(shared_home)}, check=True)
    env_user = {**env, "PYV_STORES": str(shared_home / "pythons")}
    listed = run_pyv("list", "--installed", "--json", env=env_user, check=True)
    assert [r["key"] for r in json.loads(listed.stdout)["pythons"]] == [synthetic["3.12.4"].key]
    refused = run_pyv("uninstall", "3.12", env=env_user)
    assert refused.returncode == ExitCode.NOT_FOUND  # not in the user's own store
    run_pyv("install", "3.11", env=env_user, check=True)
    assert synthetic["3.11.9"].key in store_dirs(pyv_home)
    assert synthetic["3.11.9"].key not in store_dirs(shared_home)


def test_install_without_arguments_reads_python_version(
    run_pyv, pbs_mirror, synthetic, pyv_home, tmp_path, fake_env
):
    env = pbs_mirror([synthetic["3.12.4"], synthetic["3.11.9"]])
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    (project / ".python-version").write_text("3.11\n# a comment\nmy-env\n")
    result = run_pyv("install", env=env, cwd=project / "sub")
    # The version is installed; the environment beside it is not something install makes.
    assert result.returncode == ExitCode.NOT_FOUND, result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"error: the environment 'my-env' (set by {project / '.python-version'}:3) does not "
        "exist, and `pyv install` installs Python versions, not environments; create it "
        "with `pyv venv --name my-env`")
    assert synthetic["3.11.9"].key in store_dirs(pyv_home)
    assert synthetic["3.12.4"].key not in store_dirs(pyv_home)
    found = run_pyv("find", env=env, cwd=project / "sub", check=True).stdout.strip()
    minor_key = synthetic["3.11.9"].key.replace("3.11.9", "3.11")
    assert found.startswith(str(pyv_home / "pythons" / minor_key) + "/")
    assert os.readlink(pyv_home / "pythons" / minor_key) == synthetic["3.11.9"].key
    only_env = tmp_path / "envonly"
    only_env.mkdir()
    (only_env / ".python-version").write_text("my-env\n")
    missing = run_pyv("install", env=env, cwd=only_env)
    assert missing.returncode == ExitCode.NOT_FOUND and missing.stdout == ""
    assert len(missing.stderr.splitlines()) == 1, missing.stderr
    assert "'my-env'" in missing.stderr and "`pyv venv --name my-env`" in missing.stderr
    fake_env("my-env")
    nothing = run_pyv("install", env=env, cwd=only_env, check=True)
    assert nothing.stderr == "Nothing to install: the pinned entries name no Python version\n"


def test_install_with_no_pin_installs_latest(run_pyv, pbs_mirror, synthetic, pyv_home):
    env = pbs_mirror([synthetic["3.12.4"], synthetic["3.11.9"], synthetic["3.13.0t"]])
    run_pyv("install", env=env, check=True)
    assert store_dirs(pyv_home) == sorted(
        [synthetic["3.12.4"].key, "cpython-3.12-linux-x86_64-gnu"]
    )


def test_installed_pip_runs_in_place_and_respects_pep_668(
    run_pyv, pbs_mirror, real_archive, pyv_home
):
    env = pbs_mirror([real_archive])
    run_pyv("install", REAL_MINOR, env=env, check=True)
    install_dir = pyv_home / "pythons" / real_archive.key
    pip = install_dir / "bin" / f"pip{REAL_MINOR}"
    version = subprocess.run([str(pip), "--version"], capture_output=True, text=True, check=True)
    assert str(install_dir) in version.stdout
    refused = subprocess.run(
        [str(pip), "install", "--no-index", "example-package"], capture_output=True, text=True
    )
    assert refused.returncode != 0
    assert "externally-managed-environment" in refused.stderr
    assert "pyv venv" in refused.stderr
    which = run_pyv("which", "pip", env={**env, "PYV_VERSION": REAL_MINOR}, check=True)
    which = which.stdout.strip()
    # What the shim runs: through the minor link, for a request without a patch.
    assert Path(os.path.realpath(Path(which).parent)) == install_dir / "bin"


def test_damaged_cache_entry_is_fetched_again(
    run_pyv, pbs_mirror, synthetic, http_server, pyv_home
):
    archive = synthetic["3.12.4"]
    env = pbs_mirror([archive])
    run_pyv("install", "3.12", env=env, check=True)
    cached = pyv_home / "cache" / "downloads" / archive.path.name
    data = bytearray(cached.read_bytes())
    data[len(data) // 2] ^= 0xFF
    cached.write_bytes(bytes(data))
    result = run_pyv("install", "3.12", "--reinstall", env=env)
    assert result.returncode == 0, result.stderr
    assert "damaged" in result.stderr
    assert http_server.count(archive_path(archive)) == 2
    assert cached.read_bytes() == archive.path.read_bytes()


def test_corrupt_download_is_not_kept_for_resuming(
    run_pyv, pbs_mirror, synthetic, http_server, pyv_home, tmp_path
):
    archive = synthetic["3.12.4"]
    env = pbs_mirror([archive])
    served = http_server.root / archive.build / archive.path.name
    good = served.read_bytes()
    served.unlink()  # the mirror layout may hard-link the original: replace, don't edit
    served.write_bytes(good[:100] + b"\0" * 64 + good[164:])
    result = run_pyv("install", "3.12", env=env)
    assert result.returncode in (ExitCode.BAD_ARCHIVE, ExitCode.INTEGRITY)
    one_line_error(result.stderr)
    cache = pyv_home / "cache" / "downloads"
    assert [p.name for p in cache.iterdir() if p.is_file()] == []
    served.unlink()
    served.write_bytes(good)
    retry = run_pyv("install", "3.12", env=env)
    assert retry.returncode == 0, retry.stderr


@pytest.fixture
def tiny_filesystem(tmp_path):
    """A 1 MiB tmpfs, for the disk-full path (needs root and mount; skipped otherwise)."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_disk_full_is_one_line_and_leaves_nothing(run_pyv, pbs_mirror, tmp_path, tiny_filesystem):
    big = build_synthetic_archive(
        tmp_path / "big",
        (3, 12, 6),
        build="20240901",
        extra_members=[("python/lib/blob.bin", os.urandom(3 << 20))],
    )
    env = pbs_mirror([big])
    home = tiny_filesystem / "pyv"
    result = run_pyv("install", "3.12", env={**env, "PYV_HOME": str(home)})
    assert result.returncode == ExitCode.FILESYSTEM, result.stderr
    one_line_error(result.stderr)
    assert "no space left" in result.stderr
    assert store_dirs(home) == []
    assert staging_entries(home) == []


def test_a_failing_request_keeps_what_was_installed_before_it(
    run_pyv, pbs_mirror, synthetic, pyv_home, tmp_path
):
    broken = build_synthetic_archive(
        tmp_path / "broken", (3, 11, 10), build="20240801", broken_python=True
    )
    env = pbs_mirror([synthetic["3.12.4"], broken])
    result = run_pyv("install", "3.12", "3.11", env=env)
    assert result.returncode == ExitCode.FAILURE
    one_line_error(result.stderr)
    assert synthetic["3.12.4"].key in store_dirs(pyv_home)
    assert broken.key not in store_dirs(pyv_home)
    assert (pyv_home / "shims" / "python3.12").exists()  # shims were made for 3.12


def test_sha256_flag_is_checked(run_pyv, synthetic, tmp_path):
    archive = synthetic["3.12.4"]
    malformed = run_pyv("install", str(archive.path), "--sha256", "0000")
    assert malformed.returncode == ExitCode.USAGE
    one_line_error(malformed.stderr)
    assert "64 hexadecimal" in malformed.stderr
    misplaced = run_pyv("install", "3.12", "--sha256", archive.sha256)
    assert misplaced.returncode == ExitCode.USAGE
    one_line_error(misplaced.stderr)


def test_store_compiles_unless_told_not_to(run_pyv, pbs_mirror, real_archive, tmp_path):
    env = pbs_mirror([real_archive])
    store = tmp_path / "store"
    run_pyv(
        "install", "--store", str(store), REAL_MINOR, "--no-compile-bytecode", env=env, check=True
    )
    json_cache = store / real_archive.key / "lib" / f"python{REAL_MINOR}" / "json" / "__pycache__"
    assert not json_cache.exists()


def test_offline_refusal_is_the_only_line(run_pyv, pbs_mirror, synthetic):
    env = pbs_mirror([synthetic["3.12.4"]])
    result = run_pyv("--offline", "install", "3.12", env=env)
    assert result.returncode == ExitCode.NETWORK
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: offline mode")


def test_ctrl_c_during_install_is_one_line_and_cleans_up(
    pbs_mirror, synthetic, http_server, pyv_home
):
    archive = synthetic["3.12.4"]
    env = {**os.environ, **pbs_mirror([archive])}
    http_server.add_fault(archive_path(archive), "slow", delay=0.5)
    exe = str(Path(sys.executable).parent / "pyv")
    proc = subprocess.Popen(
        [exe, "install", "3.12"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 30
    while not staging_entries(pyv_home) and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == ExitCode.INTERRUPTED, stderr
    one_line_error(stderr)
    assert "interrupted" in stderr
    assert store_dirs(pyv_home) == []
    assert staging_entries(pyv_home) == []


def test_a_ctrl_c_python_dropped_still_stops_the_install_before_publishing(
    pbs_mirror, synthetic, pyv_home, monkeypatch, capsys
):
    """SIGINT landing in a weakref callback (an import releasing its lock) raises nothing:
    Python prints "Exception ignored" and goes on. pyv's handler remembers it."""
    from pyv.cli.main import main
    from pyv.core import interrupts

    for name, value in pbs_mirror([synthetic["3.12.4"]]).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(interrupts, "_seen", [True])  # the signal came; its exception did not
    assert main(["install", "3.12"]) == ExitCode.INTERRUPTED
    one_line_error(capsys.readouterr().err)
    assert store_dirs(pyv_home) == []
    assert staging_entries(pyv_home) == []
    assert not (pyv_home / "index" / "3.12").exists()  # the prepared shims rolled back


def test_the_cli_remembers_sigint_only_in_place_of_pythons_handler(monkeypatch):
    import signal as signals

    from pyv.core import interrupts

    monkeypatch.setattr(interrupts, "_seen", [False])
    previous = signals.signal(signals.SIGINT, signals.default_int_handler)
    try:
        interrupts.remember_sigint()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signals.SIGINT)
            time.sleep(1)
        with pytest.raises(KeyboardInterrupt):
            interrupts.check()  # remembered, as if the first exception had been dropped
        signals.signal(signals.SIGINT, signals.SIG_IGN)  # a caller that ignores Ctrl-C
        interrupts.remember_sigint()
        assert signals.getsignal(signals.SIGINT) is signals.SIG_IGN
    finally:
        signals.signal(signals.SIGINT, previous)


def test_install_removes_what_killed_installs_of_other_versions_left(
    run_pyv, pbs_mirror, synthetic, pyv_home
):
    import socket

    env = pbs_mirror([synthetic["3.12.4"]])
    host = socket.gethostname().replace(".", "_")
    dead = pyv_home / "pythons" / ".staging" / f"cpython-3.9.1-linux-x86_64-gnu.{host}.999999999.ab"
    (dead / "tree" / "bin").mkdir(parents=True)
    run_pyv("install", "3.12", env=env, check=True)
    assert not dead.exists()
    assert staging_entries(pyv_home) == []


def _index_root(pyv_home: Path, spelling: str) -> Path:
    """The directory the shims' index runs ``spelling`` from (its first line)."""
    return pyv_home / (pyv_home / "index" / spelling).read_text().splitlines()[0]


# ----- pyv install --dry-run -------------------------------------------------------------
def test_dry_run_names_each_build_and_downloads_nothing(
    run_pyv, pbs_mirror, synthetic, http_server, pyv_home
):
    env = pbs_mirror([synthetic["3.12.4"], synthetic["3.11.9"]])
    result = run_pyv("install", "--dry-run", "3.12", "==3.11", env=env, check=True)
    lines = result.stdout.splitlines()
    for line, text, archive in zip(lines, ("3.12", "==3.11"),
                                   (synthetic["3.12.4"], synthetic["3.11.9"])):
        url = f"{http_server.url}/{archive.build}/{archive.path.name.replace('+', '%2B')}"
        key = f"cpython-{'.'.join(map(str, archive.version))}-linux-x86_64-gnu"
        assert line == f"{text}: would install {key} from {url} (sha256 {archive.sha256})"
    assert len(lines) == 2
    for archive in (synthetic["3.12.4"], synthetic["3.11.9"]):
        assert http_server.count(archive_path(archive), method=None) == 0  # not even a HEAD
    assert store_dirs(pyv_home) == []


def test_dry_run_json_and_what_is_installed_already(run_pyv, pbs_mirror, synthetic, pyv_home):
    env = pbs_mirror([synthetic["3.12.4"]])
    run_pyv("install", "3.12", env=env, check=True)
    rows = json.loads(run_pyv("install", "--dry-run", "--json", "3.12", env=env,
                              check=True).stdout)
    assert [(r["key"], r["action"], r["sha256"]) for r in rows] == [
        ("cpython-3.12.4-linux-x86_64-gnu", "already-installed", synthetic["3.12.4"].sha256)]
    assert rows[0]["url"].startswith("http://127.0.0.1:") and rows[0]["size"] is None
    again = json.loads(run_pyv("install", "--dry-run", "--json", "--reinstall", "3.12",
                               env=env, check=True).stdout)
    assert again[0]["action"] == "reinstall"
    text = run_pyv("install", "--dry-run", "3.12", env=env, check=True).stdout
    assert text == "3.12: cpython-3.12.4-linux-x86_64-gnu is already installed\n"


def test_dry_run_refuses_what_install_refuses(run_pyv, synthetic, pyv_home):
    # Another platform, from the bundled catalog: the install's own error and exit code.
    other = run_pyv("install", "--dry-run", "cpython-3.12-macos-aarch64")
    assert other.returncode == ExitCode.PLATFORM and other.stdout == ""
    one_line_error(other.stderr)
    assert "darwin-aarch64" in other.stderr
    # A local archive: refused without a sha256 to verify, as install refuses it; then its
    # file, by its own URL.
    archive = synthetic["3.11.9"]
    unverified = run_pyv("install", "--dry-run", str(archive.path))
    assert unverified.returncode == ExitCode.INTEGRITY and "--sha256" in unverified.stderr
    local = run_pyv("install", "--dry-run", "--json", str(archive.path), "--sha256",
                    archive.sha256, check=True)
    row = json.loads(local.stdout)[0]
    assert row["url"] == synthetic["3.11.9"].path.as_uri() and row["action"] == "install"
    assert store_dirs(pyv_home) == []


def test_dry_run_names_a_pinned_environment_that_is_missing(
    run_pyv, pbs_mirror, synthetic, pyv_home, tmp_path
):
    """As the install: the pinned versions first, then the one line about the environment."""
    env = pbs_mirror([synthetic["3.12.4"]])
    project = tmp_path / "project"
    project.mkdir()
    (project / ".python-version").write_text("3.12\nnope\n")
    result = run_pyv("install", "--dry-run", env=env, cwd=project)
    assert result.returncode == ExitCode.NOT_FOUND
    assert result.stdout.startswith("3.12: would install cpython-3.12.4-linux-x86_64-gnu from ")
    one_line_error(result.stderr)
    assert "pyv venv --name nope" in result.stderr
    assert store_dirs(pyv_home) == []

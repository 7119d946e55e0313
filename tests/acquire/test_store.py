"""Store unit tests: records, visibility, minor links, staging clean-up, extra stores."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from pyv.acquire.store import (
    RECORD,
    Store,
    all_installations,
    find_installed,
    installed_for_key,
    repair_minor_links,
    stores,
    write_record,
)
from pyv.core.errors import FilesystemError
from pyv.core.fsutil import host_tag, remove_tree
from pyv.core.requests import parse_request
from pyv.core.settings import Settings, load_settings


def fake_install(
    root: Path,
    version: str,
    *,
    variant: str | None = None,
    impl: str = "cpython",
    arch: str = "x86_64",
    record: bool = True,
) -> Path:
    v = version + (f"+{variant}" if variant else "")
    key = f"{impl}-{v}-linux-{arch}-gnu"
    path = root / key
    (path / "bin").mkdir(parents=True)
    if record:
        (path / RECORD).write_text(
            json.dumps(
                {
                    "key": key,
                    "implementation": impl,
                    "version": version,
                    "variant": variant,
                    "os": "linux",
                    "arch": arch,
                    "arch_variant": None,
                    "libc": "gnu",
                    "build": "20240101",
                    "sha256": "ab" * 32,
                    "url": "https://example.invalid/x.tar.gz",
                    "installed_at": "2026-01-01T00:00:00+00:00",
                    "executable": "bin/python3",
                }
            )
        )
    return path


def test_only_directories_with_a_record_are_visible(tmp_path: Path) -> None:
    fake_install(tmp_path, "3.12.4")
    fake_install(tmp_path, "3.12.5", record=False)  # a half-written tree
    (tmp_path / ".staging").mkdir()
    fake_install(tmp_path / ".staging", "3.13.0")
    store = Store(tmp_path)
    assert [i.key for i in store.installations()] == ["cpython-3.12.4-linux-x86_64-gnu"]
    assert store.get("cpython-3.12.5-linux-x86_64-gnu") is None


def test_corrupt_record_is_invisible(tmp_path: Path) -> None:
    path = fake_install(tmp_path, "3.12.4")
    (path / RECORD).write_text("{not json")
    assert Store(tmp_path).installations() == []


def test_sort_order_best_first(tmp_path: Path) -> None:
    for v in ("3.11.9", "3.12.4", "3.13.0rc1", "3.12.10"):
        fake_install(tmp_path, v)
    fake_install(tmp_path, "3.12.10", variant="freethreaded")
    fake_install(tmp_path, "3.10.14", impl="pypy")
    keys = [i.key for i in Store(tmp_path).installations()]
    assert keys == [
        "cpython-3.12.10-linux-x86_64-gnu",
        "cpython-3.12.10+freethreaded-linux-x86_64-gnu",
        "cpython-3.12.4-linux-x86_64-gnu",
        "cpython-3.11.9-linux-x86_64-gnu",
        "pypy-3.10.14-linux-x86_64-gnu",
        "cpython-3.13.0rc1-linux-x86_64-gnu",
    ]


def test_sync_minor_links(tmp_path: Path) -> None:
    for v in ("3.12.3", "3.12.4", "3.13.0rc1"):
        fake_install(tmp_path, v)
    fake_install(tmp_path, "3.13.1", variant="freethreaded")
    store = Store(tmp_path)
    os.symlink("cpython-3.9.1-linux-x86_64-gnu", tmp_path / "cpython-3.9-linux-x86_64-gnu")
    store.sync_minor_links()
    links = {p.name: os.readlink(p) for p in tmp_path.iterdir() if p.is_symlink()}
    assert links == {
        "cpython-3.12-linux-x86_64-gnu": "cpython-3.12.4-linux-x86_64-gnu",
        "cpython-3.13-linux-x86_64-gnu": "cpython-3.13.0rc1-linux-x86_64-gnu",
        "cpython-3.13+freethreaded-linux-x86_64-gnu": (
            "cpython-3.13.1+freethreaded-linux-x86_64-gnu"
        ),
    }
    store.sync_minor_links()  # idempotent
    assert {p.name for p in tmp_path.iterdir() if p.is_symlink()} == set(links)
    # A stable patch beats a newer pre-release of the same minor.
    fake_install(tmp_path, "3.13.0")
    store.sync_minor_links()
    assert (
        os.readlink(tmp_path / "cpython-3.13-linux-x86_64-gnu") == "cpython-3.13.0-linux-x86_64-gnu"
    )


def test_publish_and_unpublish(tmp_path: Path) -> None:
    store = Store(tmp_path / "pythons")
    staging = store.new_staging("cpython-3.12.4-linux-x86_64-gnu")
    tree = fake_install(staging, "3.12.4")
    store.publish(tree, "cpython-3.12.4-linux-x86_64-gnu", replace=False)
    assert [i.key for i in store.installations()] == ["cpython-3.12.4-linux-x86_64-gnu"]
    with pytest.raises(FilesystemError):
        staging2 = store.new_staging("cpython-3.12.4-linux-x86_64-gnu")
        store.publish(
            fake_install(staging2, "3.12.4"), "cpython-3.12.4-linux-x86_64-gnu", replace=False
        )
    store.unpublish("cpython-3.12.4-linux-x86_64-gnu")
    assert store.installations() == []


def test_clean_staging_removes_only_that_key(tmp_path: Path) -> None:
    store = Store(tmp_path)
    a = store.new_staging("cpython-3.12.4-linux-x86_64-gnu")
    b = store.new_staging("cpython-3.12.40-linux-x86_64-gnu")
    settings = load_settings({"PYV_HOME": str(tmp_path)})
    store.clean_staging(settings, "cpython-3.12.4-linux-x86_64-gnu")
    assert not a.exists() and b.exists()


def test_leftovers_of_dead_processes(tmp_path: Path) -> None:
    store = Store(tmp_path)
    live = store.new_staging("cpython-3.12.4-linux-x86_64-gnu")  # this process: alive
    import socket

    host = socket.gethostname().replace(".", "_")
    dead = tmp_path / ".staging" / f"cpython-3.11.9-linux-x86_64-gnu.{host}.999999999.ab"
    dead.mkdir()
    assert store.leftovers() == [dead]
    assert live.exists()


def test_extra_stores_are_read_only_and_merged(tmp_path: Path) -> None:
    home = tmp_path / "home"
    shared = tmp_path / "shared" / "pythons"
    fake_install(home / "pythons", "3.12.4")
    fake_install(shared, "3.12.4")
    fake_install(shared, "3.11.9")
    settings = load_settings({"PYV_HOME": str(home), "PYV_STORES": str(tmp_path / "shared")})
    all_stores = stores(settings)
    assert [s.writable for s in all_stores] == [True, False]
    installs = all_installations(settings)
    assert [(i.key, i.store) for i in installs] == [
        ("cpython-3.12.4-linux-x86_64-gnu", home / "pythons"),
        ("cpython-3.11.9-linux-x86_64-gnu", shared),
    ]
    with pytest.raises(FilesystemError) as info:
        all_stores[1].check_writable()
    assert "read-only" in info.value.render()


def test_find_installed_and_minor_keys(tmp_path: Path) -> None:
    for v in ("3.12.3", "3.12.4", "3.11.9"):
        fake_install(tmp_path / "pythons", v)
    fake_install(tmp_path / "pythons", "3.13.1", variant="freethreaded")
    settings = load_settings({"PYV_HOME": str(tmp_path)})
    Store(settings.pythons_dir).sync_minor_links()

    def keys(text: str) -> list[str]:
        return [i.key for i in find_installed(settings, parse_request(text))]

    assert keys("3.12")[0] == "cpython-3.12.4-linux-x86_64-gnu"
    assert keys("3.12.3") == ["cpython-3.12.3-linux-x86_64-gnu"]
    assert keys(">=3.11,<3.12") == ["cpython-3.11.9-linux-x86_64-gnu"]
    assert keys("3.13") == []
    assert keys("3.13t") == ["cpython-3.13.1+freethreaded-linux-x86_64-gnu"]
    assert keys("any")[0] == "cpython-3.12.4-linux-x86_64-gnu"
    inst = installed_for_key(settings, "cpython-3.12-linux-x86_64-gnu")
    assert inst is not None and inst.key == "cpython-3.12.4-linux-x86_64-gnu"
    assert inst.minor_key == "cpython-3.12-linux-x86_64-gnu"


def test_publish_replaces_a_directory_without_a_record(tmp_path: Path) -> None:
    store = Store(tmp_path / "pythons")
    key = "cpython-3.12.4-linux-x86_64-gnu"
    damaged = fake_install(store.root, "3.12.4")
    (damaged / RECORD).write_text("{damaged")
    (damaged / "stray").write_text("left by a crash")
    tree = fake_install(store.new_staging(key), "3.12.4")
    store.publish(tree, key, replace=False)
    assert [i.key for i in store.installations()] == [key]
    assert not (store.root / key / "stray").exists()


# ----- crash safety and repair ------------------------------------------------------------
KEY = "cpython-3.12.4-linux-x86_64-gnu"


class _Killed(BaseException):
    """Stands for kill -9 of the publishing process."""


def _settings(tmp_path: Path) -> Settings:
    return load_settings({"PYV_HOME": str(tmp_path / "home")})


def test_reinstall_never_leaves_the_key_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(tmp_path)
    store = Store(settings.pythons_dir)
    fake_install(store.root, "3.12.4")
    (store.root / KEY / "old").write_text("old")
    tree = fake_install(store.new_staging(KEY), "3.12.4")
    seen: list[bool] = []
    real = os.rename

    def rename(src: object, dst: object) -> None:
        real(src, dst)  # type: ignore[arg-type]
        seen.append(store.get(KEY) is not None)

    monkeypatch.setattr(os, "rename", rename)
    store.publish(tree, KEY, replace=True)
    assert all(seen) and store.get(KEY) is not None
    assert not (store.root / KEY / "old").exists()


def test_a_reinstall_killed_between_renames_is_put_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where no atomic exchange exists the old tree is set aside in the staging directory;
    the next operation on the key (or any install, once the owner is dead) puts it back."""
    import pyv.core.fsutil

    settings = _settings(tmp_path)
    store = Store(settings.pythons_dir)
    fake_install(store.root, "3.12.4")
    (store.root / KEY / "old").write_text("old")
    staging = store.new_staging(KEY)
    tree = fake_install(staging, "3.12.4")
    monkeypatch.setattr(pyv.core.fsutil, "exchange", lambda a, b: False)
    real = os.rename
    calls: list[object] = []

    def rename(src: object, dst: object) -> None:
        calls.append(src)
        if len(calls) == 2:
            raise _Killed
        real(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(_Killed):
        store.publish(tree, KEY, replace=True)
    monkeypatch.undo()
    assert store.get(KEY) is None  # the window the fallback has
    dead = staging.with_name(f"{KEY}.{host_tag()}.999999999.dead")
    os.rename(staging, dead)
    store.clean_leftovers(settings)
    assert store.get(KEY) is not None and (store.root / KEY / "old").read_text() == "old"
    assert list((store.root / ".staging").iterdir()) == []


def test_clean_staging_puts_back_before_removing(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    store = Store(settings.pythons_dir)
    staging = store.new_staging(KEY)
    fake_install(staging, "3.12.4").rename(staging / "old")
    store.clean_staging(settings, KEY)
    assert store.get(KEY) is not None and not staging.exists()


def test_a_record_naming_an_interpreter_outside_is_damaged(tmp_path: Path) -> None:
    tmp_path = tmp_path / "pythons"
    store = Store(tmp_path)
    for bad in ("/bin/sh", "../../../bin/sh", "bin/../../x", ".."):
        path = fake_install(tmp_path, "3.12.4")
        record = json.loads((path / RECORD).read_text())
        (path / RECORD).write_text(json.dumps({**record, "executable": bad}))
        assert store.get(KEY) is None and store.installations() == [], bad
        assert store.damaged() == [path]
        remove_tree(path)


def test_damaged_and_foreign_entries_are_told_apart(tmp_path: Path) -> None:
    tmp_path = tmp_path / "pythons"
    store = Store(tmp_path)
    good = fake_install(tmp_path, "3.12.4")
    truncated = fake_install(tmp_path, "3.11.9")
    (truncated / RECORD).write_text('{"key": "cpython-3.11.9-li')
    mine = tmp_path / "my-own-python"
    mine.mkdir()
    (tmp_path / "notes.txt").write_text("mine")
    os.symlink("/opt/python", tmp_path / "opt-python")
    store.sync_minor_links()
    assert store.damaged() == [truncated]
    assert store.foreign() == [mine, tmp_path / "notes.txt", tmp_path / "opt-python"]
    # Links pyv did not make stay; the minor link of the good one is made.
    assert os.readlink(tmp_path / "opt-python") == "/opt/python"
    assert os.readlink(tmp_path / "cpython-3.12-linux-x86_64-gnu") == good.name


def test_minor_links_repaired_only_when_wrong(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    store = Store(settings.pythons_dir)
    fake_install(store.root, "3.12.3")
    fake_install(store.root, "3.12.4")
    assert not store.minor_links_current()
    repair_minor_links(settings)
    assert store.minor_links_current()
    link = store.root / "cpython-3.12-linux-x86_64-gnu"
    assert os.readlink(link) == KEY
    os.unlink(link)
    os.symlink("cpython-3.12.3-linux-x86_64-gnu", link)
    repair_minor_links(settings)
    assert os.readlink(link) == KEY


def test_store_and_record_modes_ignore_a_wide_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        store = Store(tmp_path / "pythons")
        staging = store.new_staging(KEY)
        write_record(staging, {"key": KEY}, group=False)
    finally:
        os.umask(old)
    assert stat.S_IMODE(store.root.stat().st_mode) == 0o755
    assert stat.S_IMODE((staging / RECORD).stat().st_mode) == 0o644

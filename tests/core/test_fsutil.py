"""The shared filesystem primitives: atomic writes and links, swapping trees, pids."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

import pytest

from pyv.core.errors import FilesystemError
from pyv.core.fsutil import (
    atomic_symlink,
    atomic_write,
    capped_mode,
    exchange,
    filesystem_type,
    human_size,
    is_network_filesystem,
    nearest_existing_dir,
    pid_alive,
    remove_tree,
    restore_aside,
    swap_in_tree,
)


def test_atomic_write_replaces_with_the_mode_asked(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "file"
    atomic_write(target, "one")
    atomic_write(target, b"two", mode=0o755)
    assert target.read_bytes() == b"two"
    assert stat.S_IMODE(target.stat().st_mode) == 0o755
    assert sorted(p.name for p in target.parent.iterdir()) == ["file"]  # no temp file left


def test_atomic_write_failure_is_a_filesystem_error_and_leaves_no_temp(tmp_path: Path) -> None:
    tmp_path = tmp_path / "area"
    target = tmp_path / "dir-in-the-way"
    target.mkdir(parents=True)
    (target / "child").write_text("keeps the directory non-empty")
    with pytest.raises(FilesystemError):
        atomic_write(target, "data")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir-in-the-way"]


def test_atomic_symlink_repoints(tmp_path: Path) -> None:
    tmp_path = tmp_path / "area"
    tmp_path.mkdir()
    link = tmp_path / "link"
    atomic_symlink("a", link)
    atomic_symlink("b", link)
    assert os.readlink(link) == "b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link"]


def test_swap_in_tree_replaces_and_removes_the_old_tree(tmp_path: Path) -> None:
    target, staged, trash = tmp_path / "target", tmp_path / "staged", tmp_path / "trash"
    target.mkdir()
    (target / "old").write_text("old")
    staged.mkdir()
    (staged / "new").write_text("new")
    swap_in_tree(staged, target, trash=trash, what="swapping")
    assert sorted(p.name for p in target.iterdir()) == ["new"]
    assert not trash.exists() and not staged.exists()


def test_swap_in_tree_puts_the_old_tree_back_on_failure(tmp_path: Path) -> None:
    target, trash = tmp_path / "target", tmp_path / "trash"
    target.mkdir()
    (target / "old").write_text("old")
    with pytest.raises(FilesystemError):
        swap_in_tree(tmp_path / "missing", target, trash=trash, what="swapping")
    assert (target / "old").read_text() == "old"
    assert not trash.exists()


def test_remove_tree_copes_with_read_only_directories(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "locked").mkdir(parents=True)
    (tree / "locked" / "file").write_text("x")
    os.chmod(tree / "locked", 0o500)
    remove_tree(tree)
    assert not tree.exists()


def test_pid_alive() -> None:
    assert pid_alive(os.getpid())
    assert not pid_alive(0)
    assert not pid_alive(999_999_999)


class _Killed(BaseException):
    """Stands for kill -9: nothing after it runs, no handler catches it."""


def _kill_at_rename(monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    real = os.rename
    calls = []

    def rename(src: object, dst: object) -> None:
        calls.append(src)
        if len(calls) == n:
            raise _Killed
        real(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "rename", rename)


def _trees(tmp_path: Path) -> tuple[Path, Path, Path]:
    target, staged, trash = tmp_path / "target", tmp_path / "staged", tmp_path / "trash"
    target.mkdir()
    (target / "old").write_text("old")
    staged.mkdir()
    (staged / "new").write_text("new")
    return target, staged, trash


def test_exchange_swaps_two_trees(tmp_path: Path) -> None:
    target, staged, _ = _trees(tmp_path)
    if not exchange(staged, target):
        pytest.skip("this kernel or filesystem cannot exchange atomically")
    assert sorted(p.name for p in target.iterdir()) == ["new"]
    assert sorted(p.name for p in staged.iterdir()) == ["old"]
    with pytest.raises(OSError):
        exchange(tmp_path / "missing", target)


def test_swap_in_tree_never_leaves_the_target_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed at any rename of a replacing swap, the old or the new tree is at the target."""
    if not exchange(tmp_path, tmp_path):
        pytest.skip("this kernel or filesystem cannot exchange atomically")
    for n in (1, 2):
        area = tmp_path / str(n)
        area.mkdir()
        target, staged, trash = _trees(area)
        _kill_at_rename(monkeypatch, n)
        with contextlib.suppress(_Killed):
            swap_in_tree(staged, target, trash=trash, what="swapping")
        monkeypatch.undo()
        assert [p.name for p in target.iterdir()] in (["old"], ["new"])


def test_swap_in_tree_fallback_is_repaired_by_restore_aside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without an atomic exchange the old tree is set aside; killed before the new one is in,
    restore_aside puts it back (and does nothing once the target exists)."""
    import pyv.core.fsutil

    target, staged, trash = _trees(tmp_path)
    monkeypatch.setattr(pyv.core.fsutil, "exchange", lambda a, b: False)
    _kill_at_rename(monkeypatch, 2)
    with contextlib.suppress(_Killed):
        swap_in_tree(staged, target, trash=trash, what="swapping")
    monkeypatch.undo()
    assert not target.exists() and (trash / "old").exists()
    assert restore_aside(trash, target)
    assert (target / "old").read_text() == "old"
    assert not restore_aside(staged, target)  # the target is there: nothing to put back
    swap_in_tree(staged, target, trash=trash, what="swapping")  # and the retry succeeds
    assert sorted(p.name for p in target.iterdir()) == ["new"]


def test_capped_mode_never_opens_to_others(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        assert capped_mode(0o777) == 0o755 and capped_mode(0o666) == 0o644
        os.umask(0o077)
        assert capped_mode(0o755) == 0o700
    finally:
        os.umask(old)


@pytest.mark.parametrize(("size", "text"), [
    (0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (1536, "1.5 KiB"),
    (5 * 1024**2, "5.0 MiB"), (3 * 1024**3, "3.0 GiB"), (2 * 1024**4, "2.0 TiB"),
    (4096 * 1024**4, "4096.0 TiB"),
])
def test_human_size(size: int, text: str) -> None:
    assert human_size(size) == text


def test_nearest_existing_dir_skips_missing_paths_and_files(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "file").write_text("")
    assert nearest_existing_dir(tmp_path / "a" / "gone" / "deeper") == tmp_path / "a"
    assert nearest_existing_dir(tmp_path / "a" / "file" / "x") == tmp_path / "a"
    assert nearest_existing_dir(tmp_path / "a") == tmp_path / "a"


def test_tree_usage_counts_inodes_and_hard_links_once(tmp_path):
    from pyv.core.fsutil import Usage, tree_usage

    root = tmp_path / "tree"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a").write_bytes(b"x" * 100)
    os.link(root / "sub" / "a", root / "b")  # the same inode: counted once
    (root / "c").symlink_to("sub")  # an inode of its own, never followed
    usage = tree_usage(root)
    assert usage.files == 4  # tree, sub, a (= b), c
    assert usage.bytes == 100 + os.lstat(root / "c").st_size
    assert tree_usage(root / "sub" / "a") == Usage(100, 1)
    assert tree_usage(tmp_path / "missing") == Usage(0, 0)


def test_total_usage_adds_bytes_and_files():
    from pyv.core.fsutil import Usage, total_usage

    assert total_usage([Usage(100, 1), Usage(20, 3)]) == Usage(120, 4)
    assert total_usage(iter([])) == Usage(0, 0)


def test_filesystem_type_from_mountinfo(tmp_path: Path) -> None:
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n"
        "40 22 0:50 / /shared rw,relatime - nfs4 server:/export rw,vers=4.2\n"
        "41 22 0:51 / /scratch rw - lustre 10.0.0.1@tcp:/scratch rw\n"
        "42 22 0:52 / /home/me/remote rw - fuse.sshfs me@host: rw\n"
        "43 22 0:53 / /my\\040disk rw - xfs /dev/sdb1 rw\n"
    )
    assert filesystem_type(Path("/shared/apps/pyv"), mountinfo) == "nfs4"
    assert filesystem_type(Path("/sharedx"), mountinfo) == "ext4"
    assert filesystem_type(Path("/scratch"), mountinfo) == "lustre"
    assert filesystem_type(Path("/my disk/x"), mountinfo) == "xfs"
    remote = filesystem_type(Path("/home/me/remote/a"), mountinfo)
    assert remote == "fuse.sshfs" and is_network_filesystem(remote)
    for fstype, network in (("nfs", True), ("gpfs", True), ("beegfs", True), ("cifs", True),
                            ("ext4", False), ("tmpfs", False), (None, False)):
        assert is_network_filesystem(fstype) is network
    assert filesystem_type(Path("/x"), tmp_path / "missing") is None

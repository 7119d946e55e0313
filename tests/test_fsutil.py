"""The shared filesystem primitives: atomic writes and links, swapping trees, pids."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pyv.errors import FilesystemError
from pyv.fsutil import atomic_symlink, atomic_write, pid_alive, remove_tree, swap_in_tree


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

"""pyv.acquire.archive: safe streaming extraction of hostile and ordinary archives."""

from __future__ import annotations

import bz2
import errno
import gzip
import io
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

import pytest

from archives import BuiltArchive, build_synthetic_archive
from pyv.acquire.archive import (
    ExtractStats,
    decompress,
    extract_archive,
    stream,
    tar_headers,
    writers,
)
from pyv.core.errors import ArchiveError, ExitCode, PyvError

MTIME = 1_700_000_000


class ReadOnly:
    """A non-seekable stream: only ``read`` exists (like a download in progress)."""

    def __init__(self, data: bytes) -> None:
        self._buf = io.BytesIO(data)
        self.reads = 0

    def read(self, n: int = -1) -> bytes:
        self.reads += 1
        return self._buf.read(n)


# ---------------------------------------------------------------- building test archives


def _info(name: str, **attrs: object) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mtime = MTIME
    info.mode = 0o644
    for key, value in attrs.items():
        setattr(info, key, value)
    return info


def f(name: str, data: bytes = b"data", mode: int = 0o644) -> tuple[tarfile.TarInfo, bytes]:
    return _info(name, size=len(data), mode=mode), data


def d(name: str) -> tuple[tarfile.TarInfo, None]:
    return _info(name, type=tarfile.DIRTYPE, mode=0o755), None


def sym(name: str, target: str) -> tuple[tarfile.TarInfo, None]:
    return _info(name, type=tarfile.SYMTYPE, linkname=target, mode=0o777), None


def hard(name: str, target: str) -> tuple[tarfile.TarInfo, None]:
    return _info(name, type=tarfile.LNKTYPE, linkname=target), None


def make_tar(members: Iterable[tuple[tarfile.TarInfo, bytes | None]], mode: str = "w:gz") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode, format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def extract(
    data: bytes, dest: Path, fmt: str = "tar.gz", root: str | None = "python"
) -> ExtractStats:
    return extract_archive(ReadOnly(data), fmt, dest, root=root, name="test.tar.gz")  # type: ignore[arg-type]


@pytest.fixture(autouse=True, params=[0, 2], ids=["serial", "writers"])
def writer_threads(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """Every test runs with files written by the main thread and by writer threads."""
    monkeypatch.setattr(writers, "WRITER_THREADS", request.param)
    return int(request.param)


def test_duplicate_member_waits_for_the_pending_write(tmp_path: Path) -> None:
    """A later member replacing an earlier, still-pending file gets the last data."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for i, payload in enumerate((b"first" * 1000, b"second")):
            info = tarfile.TarInfo("python/lib/same.txt")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
            if i == 0:
                link = tarfile.TarInfo("python/lib/hard.txt")
                link.type = tarfile.LNKTYPE
                link.linkname = "python/lib/same.txt"
                tar.addfile(link)
    buf.seek(0)
    extract_archive(buf, "tar", tmp_path / "out", root="python")
    assert (tmp_path / "out/lib/same.txt").read_bytes() == b"second"
    assert (tmp_path / "out/lib/hard.txt").read_bytes() == b"first" * 1000


@pytest.fixture
def box(tmp_path: Path) -> Path:
    """A sandbox: ``box/dest`` is the staging dir; anything else appearing in ``box`` is a leak."""
    root = tmp_path / "box"
    (root / "dest").mkdir(parents=True)
    (root / "outside").mkdir()
    return root


def assert_nothing_outside(box: Path) -> None:
    outside = sorted(p.name for p in box.iterdir() if p.name != "dest")
    assert outside == ["outside"]
    assert list((box / "outside").iterdir()) == []


def refused(
    box: Path,
    members: list[tuple[tarfile.TarInfo, bytes | None]],
    match: str,
    root: str | None = "python",
) -> ArchiveError:
    with pytest.raises(ArchiveError, match=match) as exc_info:
        extract(make_tar(members), box / "dest", root=root)
    err = exc_info.value
    assert err.exit_code == ExitCode.BAD_ARCHIVE
    assert "\n" not in err.render()
    assert "test.tar.gz" in err.render()
    assert_nothing_outside(box)
    return err


# ---------------------------------------------------------------- hostile archives


def test_absolute_path_refused(box: Path) -> None:
    target = box / "outside" / "evil"
    err = refused(box, [d("python"), f(str(target))], "absolute path")
    assert str(target) in err.message


def test_dotdot_refused(box: Path) -> None:
    refused(box, [d("python"), f("python/../../outside/evil")], r"'\.\.' component")


def test_dotdot_refused_even_outside_root(box: Path) -> None:
    refused(box, [d("python"), f("other/../../outside/evil")], r"'\.\.' component")


def test_nul_in_name_refused(box: Path) -> None:
    # A ustar name field stops at NUL; a pax "path" record carries it through.
    info, data = f("python/bin/a")
    info.pax_headers = {"path": "python/bin/a\0b"}
    refused(box, [d("python"), (info, data)], "NUL")


def test_symlink_absolute_target_refused(box: Path) -> None:
    refused(box, [d("python"), sym("python/lib", str(box / "outside"))], "absolute path")


def test_symlink_relative_escape_refused(box: Path) -> None:
    refused(
        box,
        [d("python"), d("python/lib"), sym("python/lib/up", "../../outside")],
        "leaving the destination",
    )


def test_symlink_within_root_with_dotdot_allowed(box: Path) -> None:
    extract(
        make_tar(
            [d("python"), d("python/lib"), f("python/bin/x"), sym("python/lib/x", "../bin/x")]
        ),
        box / "dest",
    )
    assert os.readlink(box / "dest/lib/x") == "../bin/x"


def test_write_through_symlink_refused(box: Path) -> None:
    # An escaping link is refused by itself; a valid one must still not be written through.
    refused(
        box,
        [d("python"), d("python/real"), sym("python/lib", "real"), f("python/lib/passwd")],
        "through the symlink 'lib'",
    )
    assert not (box / "dest/real/passwd").exists()


def test_write_through_symlink_to_etc_refused(box: Path) -> None:
    refused(box, [d("python"), sym("python/lib", "/etc"), f("python/lib/passwd")], "absolute path")


def test_symlink_chain_escaping_refused(box: Path) -> None:
    # Each link is harmless lexically; together 'esc' resolves to the parent of dest.
    members = [
        d("python"),
        d("python/a"),
        d("python/a/b"),
        sym("python/esc", "a/b/up/.."),
        sym("python/a/b/up", "../.."),
    ]
    refused(box, members, "resolves outside")


def test_file_replacing_symlink_does_not_write_through(box: Path) -> None:
    members = [
        d("python"),
        f("python/real", b"original"),
        sym("python/alias", "real"),
        f("python/alias", b"replacement"),
    ]
    extract(make_tar(members), box / "dest")
    assert (box / "dest/real").read_bytes() == b"original"
    assert not (box / "dest/alias").is_symlink()
    assert (box / "dest/alias").read_bytes() == b"replacement"


def test_duplicate_file_replaced(box: Path) -> None:
    stats = extract(
        make_tar([d("python"), f("python/x", b"one"), f("python/x", b"two")]), box / "dest"
    )
    assert (box / "dest/x").read_bytes() == b"two"
    assert stats.files == 2


def test_hardlink_outside_root_refused(box: Path) -> None:
    refused(
        box,
        [d("python"), f("other/secret"), hard("python/x", "other/secret")],
        "outside the installation",
    )


def test_hardlink_to_missing_member_refused(box: Path) -> None:
    refused(box, [d("python"), hard("python/x", "python/missing")], "not an extracted regular file")


def test_hardlink_to_symlink_refused(box: Path) -> None:
    refused(
        box,
        [d("python"), f("python/t"), sym("python/s", "t"), hard("python/x", "python/s")],
        "not an extracted regular file",
    )


def test_hardlink_to_extracted_file(box: Path) -> None:
    stats = extract(
        make_tar([d("python"), f("python/a", b"same"), hard("python/b", "python/a")]), box / "dest"
    )
    assert stats.hardlinks == 1
    assert os.stat(box / "dest/a").st_ino == os.stat(box / "dest/b").st_ino


@pytest.mark.parametrize(
    ("kind", "label"),
    [(tarfile.CHRTYPE, "device"), (tarfile.BLKTYPE, "device"), (tarfile.FIFOTYPE, "fifo")],
)
def test_special_files_refused(box: Path, kind: bytes, label: str) -> None:
    refused(
        box, [d("python"), (_info("python/dev", type=kind, devmajor=1, devminor=3), None)], label
    )


def test_setuid_setgid_sticky_dropped(box: Path) -> None:
    members = [
        d("python"),
        f("python/suid", b"x", 0o4755),
        f("python/sgid", b"x", 0o2755),
        f("python/sticky", b"x", 0o1644),
    ]
    extract(make_tar(members), box / "dest")
    umask = os.umask(0)
    os.umask(umask)
    for name, perm in (("suid", 0o755), ("sgid", 0o755), ("sticky", 0o644)):
        mode = (box / "dest" / name).stat().st_mode
        assert not mode & (stat.S_ISUID | stat.S_ISGID | stat.S_ISVTX)
        assert stat.S_IMODE(mode) == perm & ~umask


def test_file_where_dir_exists_refused(box: Path) -> None:
    refused(
        box,
        [d("python"), d("python/x"), f("python/x/y"), f("python/x")],
        "would replace a directory",
    )


def test_zip_dotdot_refused(box: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("python/ok", b"ok")
        zf.writestr("python/../../outside/evil", b"evil")
    with pytest.raises(ArchiveError, match=r"'\.\.' component"):
        extract(buf.getvalue(), box / "dest", fmt="zip")
    assert_nothing_outside(box)


def _zip_symlink(zf: zipfile.ZipFile, name: str, target: str) -> None:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    zf.writestr(info, target)


def test_zip_escaping_symlink_refused(box: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        _zip_symlink(zf, "python/lib", "../../outside")
        zf.writestr("python/lib/evil", b"evil")
    with pytest.raises(ArchiveError, match="leaving the destination"):
        extract(buf.getvalue(), box / "dest", fmt="zip")
    assert_nothing_outside(box)


def test_zip_write_through_symlink_refused(box: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("python/real/", b"")
        _zip_symlink(zf, "python/lib", "real")
        zf.writestr("python/lib/evil", b"evil")
    with pytest.raises(ArchiveError, match="through the symlink"):
        extract(buf.getvalue(), box / "dest", fmt="zip")
    assert not (box / "dest/real/evil").exists()


# ---------------------------------------------------------------- happy paths


def _pbs_members(prefix: str) -> list[tuple[tarfile.TarInfo, bytes | None]]:
    return [
        d(prefix),
        d(f"{prefix}/bin"),
        d(f"{prefix}/lib"),
        d(f"{prefix}/lib/python3.12"),
        f(f"{prefix}/bin/python3.12", b"#!/bin/sh\necho hi\n", 0o755),
        sym(f"{prefix}/bin/python3", "python3.12"),
        f(f"{prefix}/lib/python3.12/os.py", b"# os\n"),
    ]


def _check_pbs_tree(dest: Path) -> None:
    assert (dest / "bin/python3.12").read_bytes() == b"#!/bin/sh\necho hi\n"
    assert os.readlink(dest / "bin/python3") == "python3.12"
    assert (dest / "lib/python3.12/os.py").is_file()
    assert (dest / "bin/python3.12").stat().st_mode & 0o100
    assert (dest / "lib/python3.12/os.py").stat().st_mtime == MTIME
    assert (dest / "lib").stat().st_mtime == MTIME


def test_install_only_layout(box: Path, gzip_decoder: str) -> None:
    stats = extract(make_tar(_pbs_members("python")), box / "dest")
    _check_pbs_tree(box / "dest")
    assert stats == ExtractStats(files=2, dirs=3, symlinks=1, hardlinks=0, bytes=23)


def test_full_build_layout_skips_other_members(box: Path) -> None:
    members = [
        d("python"),
        f("python/PYTHON.json", b"{}"),
        d("python/build"),
        f("python/build/x.o"),
        *_pbs_members("python/install"),
    ]
    extract(make_tar(members), box / "dest", root="python/install")
    _check_pbs_tree(box / "dest")
    assert sorted(p.name for p in (box / "dest").iterdir()) == ["bin", "lib"]


def test_single_top_dir_stripped(box: Path) -> None:
    top = "pypy3.10-v7.3.17-linux64"
    members = [
        d(top),
        d(f"{top}/bin"),
        f(f"{top}/bin/pypy3.10", b"x", 0o755),
        sym(f"{top}/bin/pypy3", "pypy3.10"),
        f(f"./{top}/lib/pypy3.10/os.py"),
    ]
    extract(make_tar(members), box / "dest", root=None)
    assert (box / "dest/bin/pypy3.10").is_file()
    assert (box / "dest/lib/pypy3.10/os.py").is_file()


def test_second_top_dir_refused_when_stripping(box: Path) -> None:
    with pytest.raises(ArchiveError, match="more than one top-level directory"):
        extract(make_tar([f("a/x"), f("b/y")]), box / "dest", root=None)


def test_tar_bz2(box: Path) -> None:
    extract(make_tar(_pbs_members("python"), mode="w:bz2"), box / "dest", fmt="tar.bz2")
    _check_pbs_tree(box / "dest")


def test_plain_tar(box: Path) -> None:
    extract(make_tar(_pbs_members("python"), mode="w"), box / "dest", fmt="tar")
    _check_pbs_tree(box / "dest")


def test_gnu_long_names(box: Path) -> None:
    long = "python/lib/" + "d" * 120 + "/" + "f" * 120
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for info, data in [d("python"), f(long, b"long")]:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    extract(buf.getvalue(), box / "dest", fmt="tar")
    assert (box / "dest" / long.removeprefix("python/")).read_bytes() == b"long"


def test_large_file_crosses_chunks(box: Path) -> None:
    blob = os.urandom(3 * (1 << 20) + 123)
    stats = extract(
        make_tar([d("python"), f("python/big", blob), f("python/small", b"s")], mode="w:gz"),
        box / "dest",
    )
    assert (box / "dest/big").read_bytes() == blob
    assert (box / "dest/small").read_bytes() == b"s"
    assert stats.bytes == len(blob) + 1


def test_non_seekable_stream_read_incrementally(box: Path) -> None:
    blob = os.urandom(5 * (1 << 20))
    stream = ReadOnly(make_tar([d("python"), f("python/big", blob)], mode="w"))
    assert not hasattr(stream, "seek") and not hasattr(stream, "tell")
    extract_archive(stream, "tar", box / "dest", root="python", name="x.tar")  # type: ignore[arg-type]
    assert (box / "dest/big").read_bytes() == blob
    assert stream.reads > 3  # consumed in bounded reads, not all at once


def test_zip_happy_path(box: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("python/bin/", b"")
        info = zipfile.ZipInfo("python/bin/python3.12", date_time=(2024, 1, 2, 3, 4, 6))
        info.create_system = 3
        info.external_attr = (stat.S_IFREG | 0o755) << 16
        zf.writestr(info, b"#!/bin/sh\n")
        _zip_symlink(zf, "python/bin/python3", "python3.12")
        zf.writestr("python/lib/os.py", b"# os\n")
    stats = extract(buf.getvalue(), box / "dest", fmt="zip")
    dest = box / "dest"
    assert (dest / "bin/python3.12").stat().st_mode & 0o100
    assert os.readlink(dest / "bin/python3") == "python3.12"
    assert (dest / "lib/os.py").read_bytes() == b"# os\n"
    assert stats.files == 2 and stats.symlinks == 1
    # The spool file lives next to dest and is gone afterwards.
    assert sorted(p.name for p in box.iterdir()) == ["dest", "outside"]


def _zstd_bytes(data: bytes) -> bytes:
    exe = shutil.which("zstd")
    if exe is None:
        pytest.skip("the zstd command is not installed")
    return subprocess.run([exe, "-q", "-c"], input=data, capture_output=True, check=True).stdout


@pytest.mark.parametrize("decoder", ["compression.zstd", "zstandard", "command"])
def test_tar_zst_each_decoder(box: Path, monkeypatch: pytest.MonkeyPatch, decoder: str) -> None:
    if decoder != "command":
        pytest.importorskip(decoder)
    monkeypatch.setattr(decompress, "ZSTD_DECODERS", (decoder,))
    blob = os.urandom(2 * (1 << 20))
    data = _zstd_bytes(make_tar([*_pbs_members("python"), f("python/blob", blob)], mode="w"))
    extract(data, box / "dest", fmt="tar.zst")
    _check_pbs_tree(box / "dest")
    assert (box / "dest/blob").read_bytes() == blob


@pytest.mark.parametrize("decoder", ["zstandard", "command"])
def test_tar_zst_truncated(box: Path, monkeypatch: pytest.MonkeyPatch, decoder: str) -> None:
    if decoder != "command":
        pytest.importorskip(decoder)
    monkeypatch.setattr(decompress, "ZSTD_DECODERS", (decoder,))
    data = _zstd_bytes(
        make_tar([*_pbs_members("python"), f("python/blob", os.urandom(300_000))], mode="w")
    )
    with pytest.raises(ArchiveError, match="corrupt or truncated"):
        extract(data[: len(data) // 2], box / "dest", fmt="tar.zst")


def test_zstd_no_decoder_available(box: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decompress, "ZSTD_DECODERS", ("command",))
    monkeypatch.setattr(decompress, "ZSTD_COMMAND", "pyv-no-such-zstd")
    with pytest.raises(ArchiveError) as exc_info:
        extract(b"\x28\xb5\x2f\xfd" + b"\0" * 64, box / "dest", fmt="tar.zst")
    assert exc_info.value.render() == (
        "error: cannot read test.tar.gz: it is zstd-compressed and no zstd decoder is available; "
        "install the `zstandard` package or the `zstd` command"
    )


def test_stream_errors_pass_through(box: Path) -> None:
    class Failing:
        def __init__(self) -> None:
            self.calls = 0

        def read(self, n: int = -1) -> bytes:
            self.calls += 1
            if self.calls > 1:
                raise PyvError("network went away")
            return make_tar(_pbs_members("python"))[:100]

    with pytest.raises(PyvError, match="network went away"):
        extract_archive(Failing(), "tar.gz", box / "dest", root="python")  # type: ignore[arg-type]


def test_unknown_format_refused(box: Path) -> None:
    with pytest.raises(ArchiveError, match="unsupported archive format"):
        extract(b"", box / "dest", fmt="rar")


# ---------------------------------------------------------------- corrupt data


@pytest.fixture(params=["isal", "zlib"])
def gzip_decoder(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """gzip tests run with python-isal's inflate (where installed) and with zlib alone."""
    if request.param == "isal":
        pytest.importorskip("isal.igzip_lib")
    monkeypatch.setattr(decompress, "GZIP_DECODERS", (request.param,))
    return str(request.param)


def test_gzip_falls_back_to_zlib_without_isal(box: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = decompress._try_import
    tried: list[str] = []

    def no_isal(module: str) -> object | None:
        tried.append(module)
        return None if module.startswith("isal") else real(module)

    monkeypatch.setattr(decompress, "_try_import", no_isal)
    extract(make_tar(_pbs_members("python")), box / "dest")
    _check_pbs_tree(box / "dest")
    assert tried == ["isal.igzip_lib"]


def test_truncated_gzip(box: Path, gzip_decoder: str) -> None:
    data = make_tar([*_pbs_members("python"), f("python/blob", os.urandom(200_000))])
    with pytest.raises(ArchiveError, match="corrupt or truncated") as exc_info:
        extract(data[: len(data) // 2], box / "dest")
    assert "get the archive again" in exc_info.value.render()


def test_gzip_bad_crc(box: Path, gzip_decoder: str) -> None:
    data = bytearray(make_tar(_pbs_members("python")))
    data[-8] ^= 0xFF  # CRC32 in the gzip trailer
    with pytest.raises(ArchiveError, match="corrupt or truncated"):
        extract(bytes(data), box / "dest")


def test_gzip_flipped_byte_in_body(box: Path, gzip_decoder: str) -> None:
    data = bytearray(make_tar([*_pbs_members("python"), f("python/blob", os.urandom(50_000))]))
    data[len(data) // 2] ^= 0xFF
    with pytest.raises(ArchiveError, match="corrupt or truncated"):
        extract(bytes(data), box / "dest")


def test_not_an_archive(box: Path, gzip_decoder: str) -> None:
    with pytest.raises(ArchiveError, match="corrupt or truncated"):
        extract(b"<html>rate limited</html>", box / "dest")
    with pytest.raises(ArchiveError, match="corrupt or truncated"):
        extract(gzip.compress(b"plain text, not a tar " * 40), box / "dest")


def test_empty_stream(box: Path, gzip_decoder: str) -> None:
    with pytest.raises(ArchiveError, match="corrupt or truncated"):
        extract(b"", box / "dest")


def test_tar_truncated_at_member_boundary(box: Path) -> None:
    raw = make_tar(_pbs_members("python"), mode="w")
    end = raw.rindex(b"# os\n") + 512  # header + one data block of the last member
    cut = raw[: end - (end % 512)]
    with pytest.raises(ArchiveError, match="corrupt or truncated"):
        extract(gzip.compress(cut), box / "dest")


def test_truncated_bz2(box: Path) -> None:
    data = bz2.compress(
        make_tar([*_pbs_members("python"), f("python/b", os.urandom(100_000))], mode="w")
    )
    with pytest.raises(ArchiveError, match="corrupt or truncated"):
        extract(data[:-50], box / "dest", fmt="tar.bz2")


def test_corrupt_zip(box: Path) -> None:
    with pytest.raises(ArchiveError, match="corrupt or truncated"):
        extract(b"PK\x03\x04 this is not really a zip", box / "dest", fmt="zip")


def test_concatenated_gzip_members(box: Path, gzip_decoder: str) -> None:
    raw = make_tar(_pbs_members("python"), mode="w")
    data = gzip.compress(raw[:1024]) + gzip.compress(raw[1024:]) + b"\0" * 100
    extract(data, box / "dest")
    _check_pbs_tree(box / "dest")


def test_disk_errors_become_filesystem_errors(box: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_open = os.open
    dest = box / "dest"

    def full_disk(path: str, flags: int, mode: int = 0o777, **kw: object) -> int:
        if str(path).startswith(str(dest)):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
        return real_open(path, flags, mode, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", full_disk)
    with pytest.raises(PyvError) as exc_info:
        extract(make_tar(_pbs_members("python")), dest)
    assert exc_info.value.exit_code == ExitCode.FILESYSTEM
    assert "no space left on device" in exc_info.value.message


# ---------------------------------------------------------------- real archives


def test_synthetic_pbs_archive(box: Path, tmp_path: Path) -> None:
    built = build_synthetic_archive(tmp_path / "a", (3, 12, 4))
    with open(built.path, "rb") as fh:
        extract_archive(fh, "tar.gz", box / "dest", root="python", name=built.path.name)
    assert (box / "dest/bin/python3.12").stat().st_mode & 0o100


def test_real_archive_matches_tar(
    real_archive: BuiltArchive, tmp_path: Path, gzip_decoder: str
) -> None:
    ours = tmp_path / "ours"
    with open(real_archive.path, "rb") as fh:
        stats = extract_archive(
            ReadOnlyFile(fh),
            "tar.gz",
            ours,
            root="python",  # type: ignore[arg-type]
            name=real_archive.path.name,
        )
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    subprocess.run(["tar", "xzf", str(real_archive.path), "-C", str(theirs)], check=True)
    theirs = theirs / "python"
    listing_ours = sorted(str(p.relative_to(ours)) for p in ours.rglob("*"))
    listing_theirs = sorted(str(p.relative_to(theirs)) for p in theirs.rglob("*"))
    assert listing_ours == listing_theirs
    assert stats.files + stats.hardlinks + stats.symlinks + stats.dirs == len(listing_ours)
    for rel in listing_ours[:: max(1, len(listing_ours) // 50)]:
        a, b = ours / rel, theirs / rel
        if b.is_symlink():
            assert os.readlink(a) == os.readlink(b)
        elif b.is_file():
            assert a.read_bytes() == b.read_bytes()


class ReadOnlyFile:
    def __init__(self, fh: io.BufferedReader) -> None:
        self._fh = fh

    def read(self, n: int = -1) -> bytes:
        return self._fh.read(n)


def test_gnu_sparse_member(box: Path, tmp_path: Path) -> None:
    tar_exe = shutil.which("tar")
    if tar_exe is None:
        pytest.skip("tar is not installed")
    src = tmp_path / "src" / "python"
    src.mkdir(parents=True)
    with open(src / "sparse", "wb") as fh:
        fh.write(b"head")
        fh.seek(3 << 20)
        fh.write(b"tail")
    raw = subprocess.run(
        [tar_exe, "--sparse", "--format=gnu", "-cf", "-", "-C", str(src.parent), "python"],
        capture_output=True,
        check=True,
    ).stdout
    extract(gzip.compress(raw), box / "dest")
    data = (box / "dest/sparse").read_bytes()
    assert len(data) == (3 << 20) + 4
    assert data[:4] == b"head" and data[-4:] == b"tail" and not data[4:-4].strip(b"\0")


# ---------------------------------------------------------------- pyv's own tar header decoding


def _ours(raw: bytes) -> list[tuple[object, ...]]:
    """The members as ``tar_headers.TarHeaders`` decodes them, in the fields pyv uses."""
    # Odd-sized chunks, so headers and data straddle chunk boundaries.
    chunks = iter([raw[i : i + 700] for i in range(0, len(raw), 700)])
    headers = tar_headers.TarHeaders(stream.SequentialReader(chunks))
    out: list[tuple[object, ...]] = []
    while (m := headers.next()) is not None:
        out.append((m.name, m.linkname, m.type, m.mode, float(m.mtime), m.size, m.offset_data))
    return out


def _tarfiles(raw: bytes) -> list[tuple[object, ...]]:
    """The same fields as ``tarfile`` reads them.

    A directory's trailing ``/`` is dropped: tarfile does so for every header on
    Python 3.10+, but on 3.9 it keeps the one of a GNU long name.
    """
    with tarfile.open(
        fileobj=io.BytesIO(raw), mode="r:", encoding="utf-8", errors="surrogateescape"
    ) as tar:
        return [
            (m.name.rstrip("/") if m.isdir() else m.name, m.linkname, m.type, m.mode,
             float(m.mtime), m.size, m.offset_data)
            for m in tar
        ]


def _varied_members() -> list[tuple[tarfile.TarInfo, bytes | None]]:
    deep = "python/lib/" + "/".join(["d" * 60] * 3)  # > 100 bytes: ustar prefix or long name
    return [
        d("python"),
        d("python/lib/"),
        f("python/bin/python3.12", b"#!/bin/sh\n", 0o755),
        f("python/bin/suid", b"x", 0o4755),
        sym("python/bin/python3", "python3.12"),
        d(deep),
        f(f"{deep}/" + "m" * 90 + ".py", b"# long\n" * 100),
        sym("python/lib/long-link", "../" + "t" * 150),
        hard("python/lib/hard", "python/bin/python3.12"),
        f("python/lib/ünïcödé/çà.txt", "données".encode()),
        f("python/empty", b""),
        f("python/exactly-512", b"x" * 512),
        (_info("python/big-mtime", size=1, mtime=8**11 + 5), b"x"),
        (_info("python/old-mtime", size=1, mtime=-100), b"x"),
    ]


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_header_decoding_matches_tarfile(fmt: int) -> None:
    members = _varied_members()
    if fmt == tarfile.USTAR_FORMAT:  # no long names or links, no mtimes beyond the octal field
        members = [
            (i, b) for i, b in members
            if len(i.name) < 250 and len(i.linkname) <= 100 and 0 <= i.mtime < 8**11
        ]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data or b"x" * info.size) if info.isreg() else None)
    raw = buf.getvalue()
    expected = _tarfiles(raw)
    assert len(expected) == len(members)
    assert _ours(raw) == expected


def test_header_decoding_pax_overrides_and_global_header() -> None:
    info, data = f("python/short", b"four")
    # pax records win over the header fields: tarfile writes size 0 in the header here.
    info.pax_headers = {"path": "python/from-pax", "size": "4", "mtime": "1700000000.25"}
    link = _info("python/l", type=tarfile.SYMTYPE)
    link.pax_headers = {"linkpath": "from-pax-link"}
    buf = io.BytesIO()
    with tarfile.open(
        fileobj=buf, mode="w", format=tarfile.PAX_FORMAT, pax_headers={"comment": "global"}
    ) as tar:
        tar.addfile(info, io.BytesIO(data))
        tar.addfile(link)
        after, after_data = f("python/after", b"after")
        tar.addfile(after, io.BytesIO(after_data))
    raw = buf.getvalue()
    assert raw[156:157] == tarfile.XGLTYPE
    ours = _ours(raw)
    assert ours == _tarfiles(raw)
    assert ours[0][:2] == ("python/from-pax", "") and ours[0][4:6] == (1700000000.25, 4)
    assert ours[1][1] == "from-pax-link"


def test_header_decoding_v7_directory_and_gnu_tar(tmp_path: Path) -> None:
    tar_exe = shutil.which("tar")
    if tar_exe is None:
        pytest.skip("tar is not installed")
    src = tmp_path / "python"
    long_dir = src / ("n" * 80) / ("o" * 80)
    long_dir.mkdir(parents=True)
    (long_dir / ("p" * 120)).write_bytes(b"long")
    (src / "exe").write_bytes(b"#!/bin/sh\n")
    (src / "exe").chmod(0o755)
    (src / "link").symlink_to("l" * 120)
    for fmt in ("gnu", "posix", "ustar", "v7"):
        proc = subprocess.run(
            [tar_exe, f"--format={fmt}", "-cf", "-", "-C", str(tmp_path), "python"],
            capture_output=True,
        )
        if proc.returncode != 0:  # ustar and v7 cannot hold the long names: GNU tar says so
            continue
        assert _ours(proc.stdout) == _tarfiles(proc.stdout), fmt
    # A V7 archive stores a directory as a regular file whose name ends with "/".
    v7 = io.BytesIO()
    with tarfile.open(fileobj=v7, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        tar.addfile(_info("python/old-dir/", type=tarfile.AREGTYPE))
    assert _ours(v7.getvalue())[0][:3] == ("python/old-dir", "", tarfile.DIRTYPE)


def test_header_decoding_real_archive(real_archive: BuiltArchive) -> None:
    raw = gzip.decompress(real_archive.path.read_bytes())
    ours = _ours(raw)
    assert len(ours) > 500
    assert ours == _tarfiles(raw)


def _one_header(name: str = "python/x", size: int = 3) -> bytearray:
    return bytearray(make_tar([f(name, b"a" * size)], mode="w")[:512])


def test_header_decoding_refuses_damage(box: Path) -> None:
    good = make_tar([d("python"), f("python/a", b"aaa"), f("python/b", b"bbb")], mode="w")
    bad_sum = bytearray(good)
    bad_sum[good.index(b"python/b") + 10] ^= 0x01  # a name byte: the checksum no longer matches
    cases = {
        "bad checksum": bytes(bad_sum),
        "ends inside the data": good[: good.index(b"aaa") + 2],
        "no end block": good[: good.index(b"bbb") + 512],
        "garbage": b"x" * 2048,
    }
    for label, raw in cases.items():
        with pytest.raises(ArchiveError, match="corrupt or truncated"):
            extract(gzip.compress(raw), box / label)


@pytest.mark.parametrize(
    "records",
    [b"9 path=x", b"99 path=x\n", b"x path=y\n", b"12 pathnoeq\n", b"10 path=xy"],
)
def test_malformed_pax_records_refused(box: Path, records: bytes) -> None:
    pax = bytearray(_one_header("././@PaxHeader", len(records)))
    pax[156:157] = tarfile.XHDTYPE
    pax[148:156] = b"        "
    pax[148:156] = b"%06o\0 " % sum(pax)
    body = records + bytes(-len(records) % 512)
    raw = bytes(pax) + body + make_tar([f("python/x")], mode="w")
    with pytest.raises(ArchiveError, match="corrupt or truncated"):
        extract(gzip.compress(raw), box / "dest")


def test_huge_extended_header_refused(box: Path) -> None:
    longname = bytearray(_one_header("././@LongLink", 0))
    longname[156:157] = tarfile.GNUTYPE_LONGNAME
    longname[124:136] = b"%011o\0" % (64 << 20)
    longname[148:156] = b"        "
    longname[148:156] = b"%06o\0 " % sum(longname)
    with pytest.raises(ArchiveError, match="corrupt or truncated"):
        extract(gzip.compress(bytes(longname) + bytes(4096)), box / "dest")


def test_sparse_member_between_others_hands_over_to_tarfile(box: Path, tmp_path: Path) -> None:
    """Members after a sparse one are still extracted (tarfile decodes the rest)."""
    tar_exe = shutil.which("tar")
    if tar_exe is None:
        pytest.skip("tar is not installed")
    src = tmp_path / "src" / "python"
    src.mkdir(parents=True)
    (src / "a").write_bytes(b"before")
    with open(src / "sparse", "wb") as fh:
        fh.write(b"head")
        fh.seek(2 << 20)
        fh.write(b"tail")
    (src / "z").write_bytes(b"after")
    for fmt in ("gnu", "posix"):
        raw = subprocess.run(
            [tar_exe, "--sparse", f"--format={fmt}", "-cf", "-", "-C", str(src.parent),
             "python/a", "python/sparse", "python/z"],
            capture_output=True,
            check=True,
        ).stdout
        dest = box / f"dest-{fmt}"
        extract(gzip.compress(raw), dest)
        assert (dest / "a").read_bytes() == b"before"
        assert (dest / "z").read_bytes() == b"after"
        data = (dest / "sparse").read_bytes()
        assert len(data) == (2 << 20) + 4 and data[:4] == b"head" and data[-4:] == b"tail"


# ---------------------------------------------------------------- what the written tree looks like


def test_parents_created_for_members_out_of_order(box: Path) -> None:
    """A file may come before its directories, or without them; their mtimes still apply."""
    members = [
        f("python/lib/deep/er/x.py", b"x"),
        f("python/lib/deep/y.py", b"y"),
        d("python/lib/deep"),
        f("python/orphan/z.py", b"z"),  # no directory member at all
        d("python"),
        d("python/lib"),
    ]
    stats = extract(make_tar(members), box / "dest")
    dest = box / "dest"
    assert (dest / "lib/deep/er/x.py").read_bytes() == b"x"
    assert (dest / "lib/deep/y.py").read_bytes() == b"y"
    assert (dest / "orphan/z.py").read_bytes() == b"z"
    for rel in ("lib", "lib/deep"):
        assert (dest / rel).stat().st_mtime == MTIME
    assert stats.dirs == 4 and stats.files == 3


def test_written_files_modes_and_mtimes(box: Path) -> None:
    members = [
        d("python"),
        f("python/exe", b"#!/bin/sh\n", 0o755),
        f("python/data", b"d", 0o644),
        f("python/readonly", b"r", 0o444),  # the owner may still write (fix-ups rewrite files)
        f("python/suid", b"s", 0o6755),
    ]
    extract(make_tar(members), box / "dest")
    umask = os.umask(0)
    os.umask(umask)
    for name, perm in (("exe", 0o755), ("data", 0o644), ("readonly", 0o644), ("suid", 0o755)):
        st = (box / "dest" / name).stat()
        assert stat.S_IMODE(st.st_mode) == perm & ~umask, name
        assert st.st_mtime == MTIME, name


@pytest.mark.parametrize(("batch_files", "max_pending"), [(3, 1 << 20), (16, 40), (1, 1)])
def test_writer_batches_and_memory_bound(
    box: Path, monkeypatch: pytest.MonkeyPatch, batch_files: int, max_pending: int
) -> None:
    """Links and duplicates wait for files still in a batch; the pending-bytes bound holds."""
    monkeypatch.setattr(writers, "_BATCH_FILES", batch_files)
    monkeypatch.setattr(writers, "_PARALLEL_MAX_PENDING", max_pending)
    members = [d("python")]
    for i in range(40):
        members.append(f(f"python/f{i}", b"%d" % i * 10))
        if i % 7 == 3:
            members.append(hard(f"python/h{i}", f"python/f{i}"))  # target maybe unsubmitted
        if i % 9 == 5:
            members.append(f(f"python/f{i}", b"again %d" % i))  # replaces a pending file
    stats = extract(make_tar(members), box / "dest")
    for i in range(40):
        expected = b"again %d" % i if i % 9 == 5 else b"%d" % i * 10
        assert (box / f"dest/f{i}").read_bytes() == expected
        if i % 7 == 3:
            assert (box / f"dest/h{i}").read_bytes() == b"%d" % i * 10
    assert stats.files == 40 + 4 and stats.hardlinks == 6


def test_header_checksum_sums_like_tarfile() -> None:
    """The zlib-based byte sum agrees with tarfile's checksums, signed and unsigned."""
    import random

    rng = random.Random(7)
    blocks = [bytes(512), b"\xff" * 512, bytes(range(256)) * 2]
    blocks += [rng.randbytes(512) for _ in range(200)]
    for block in blocks:
        assert tar_headers._byte_sum(block[:256]) == sum(block[:256])
        unsigned, signed = tarfile.calc_chksums(block)  # type: ignore[attr-defined]
        for stored in (unsigned, signed):
            fixed = block[:148] + b"%06o\0 " % stored + block[156:]
            assert tar_headers._checksum_ok(fixed)
        wrong = block[:148] + b"%06o\0 " % ((unsigned + 1) % 8**6) + block[156:]
        assert tar_headers._checksum_ok(wrong) == ((unsigned + 1) % 8**6 == signed)


def test_reader_views_skips_and_unreads_across_chunks() -> None:
    reader = stream.SequentialReader(iter([b"abc", b"", b"defgh", b"ij"]))
    assert bytes(reader.read_view(2)) == b"ab"
    assert bytes(reader.read_view(5)) == b"c"  # never more than the current chunk
    assert bytes(reader.read_view(2)) == b"de" and reader.tell() == 5
    assert reader.skip(4) == 4 and reader.tell() == 9
    reader.unread(b"hi")
    assert reader.tell() == 7 and reader.read(3) == b"hij"
    assert bytes(reader.read_view(1)) == b"" and reader.skip(10) == 0


def test_a_tar_gz_extracts_without_importing_tarfile_or_zipfile(tmp_path: Path) -> None:
    """Every install pays the import of what extracting its archive needs, and no more:
    pyv decodes tar headers itself (``tarfile`` only for sparse members) and a zip
    reader has no business in a tar extraction."""
    built = build_synthetic_archive(tmp_path / "a", (3, 12, 4))
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        f"from {extract_archive.__module__} import extract_archive\n"
        f"with open({str(built.path)!r}, 'rb') as fh:\n"
        f"    extract_archive(fh, 'tar.gz', Path({str(tmp_path / 'out')!r}), root='python')\n"
        "print(sorted({'tarfile', 'zipfile'} & set(sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"
    assert (tmp_path / "out/bin").is_dir()


def test_writer_threads_only_on_a_network_filesystem(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    """Unforced, the writers run where file creation is a round trip, not on a local disk."""
    seen: list[Path] = []

    def fstype(path: Path, mountinfo: Path | None = None) -> str:
        seen.append(path)
        return {"nfs": "nfs4", "lustre": "lustre", "sshfs": "fuse.sshfs"}.get(path.name, "ext4")

    monkeypatch.setattr(writers, "filesystem_type", fstype)
    monkeypatch.setattr(writers.os, "cpu_count", lambda: 8)
    assert writers.auto_threads(str(tmp_path / "nfs")) == 4
    assert writers.auto_threads(str(tmp_path / "lustre")) == 4
    assert writers.auto_threads(str(tmp_path / "sshfs")) == 4
    assert writers.auto_threads(str(tmp_path / "local")) == 0
    monkeypatch.setattr(writers.os, "cpu_count", lambda: 1)
    assert writers.auto_threads(str(tmp_path / "nfs")) == 0
    monkeypatch.setattr(writers.os, "cpu_count", lambda: 2)
    assert writers.auto_threads(str(tmp_path / "nfs")) == 2
    assert seen[0] == tmp_path / "nfs"
    # Unforced, an extraction asks about its own destination.
    monkeypatch.setattr(writers, "WRITER_THREADS", None)
    seen.clear()
    dest = tmp_path / "nfs"
    extract(make_tar([d("python/"), d("python/bin/"), f("python/bin/python3", b"x")]), dest)
    assert seen == [dest]
    assert (dest / "bin" / "python3").read_bytes() == b"x"

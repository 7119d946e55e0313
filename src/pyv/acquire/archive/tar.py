"""Extracting tar members: pyv's own header decoding, ``tarfile`` for sparse members."""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from typing import IO, Callable, cast

from pyv.acquire.archive.extractor import Extractor
from pyv.acquire.archive.safety import (
    DIR,
    FILE,
    OTHER,
    SYMLINK,
    TAR_KINDS,
    check_hardlink,
    check_kind,
)
from pyv.acquire.archive.stream import COPY_CHUNK, Corrupt, SequentialReader
from pyv.acquire.archive.tar_headers import (
    ZERO_BLOCK,
    Member,
    NeedsTarfile,
    TarHeaders,
)
from pyv.acquire.archive.writers import write_all

#: Regular files up to this size are written by worker threads: creating ~1,000 small
#: files is what extraction spends its time on, and ``open``/``write``/``close`` release
#: the GIL. Larger files stream from the main thread as before.
_PARALLEL_MAX_FILE = 4 << 20


def extract_tar(chunks: Iterator[bytes], ex: Extractor) -> None:
    reader = SequentialReader(chunks)
    headers = TarHeaders(reader)
    try:
        while True:
            member = headers.next()
            if member is None:
                break
            _tar_member(None, reader, member, ex)
    except NeedsTarfile:
        _extract_tar_with_tarfile(reader, ex)
    # Read to the end so compressed-stream checksums (and any hashing stream) are verified.
    reader.drain()


def _extract_tar_with_tarfile(reader: SequentialReader, ex: Extractor) -> None:
    """The rest of the archive, from the reader's position, decoded by ``tarfile``."""
    try:
        tar = tarfile.TarFile(
            fileobj=cast("IO[bytes]", reader), mode="r", encoding="utf-8", errors="surrogateescape"
        )
    except tarfile.TarError as exc:
        raise Corrupt(f"not a tar archive ({exc})") from None
    while True:
        try:
            member = tar.next()
        except tarfile.TarError as exc:
            raise Corrupt(str(exc)) from None
        if member is None:
            break
        _tar_member(tar, reader, member, ex)
    # tarfile stops quietly at a truncated or garbled header; only the
    # end-of-archive zero block is a proper ending.
    if reader.last != ZERO_BLOCK:
        raise Corrupt("the tar data ends early or has a damaged header")


def _tar_member(
    tar: tarfile.TarFile | None,
    reader: SequentialReader,
    m: Member | tarfile.TarInfo,
    ex: Extractor,
) -> None:
    name = m.name
    kind = TAR_KINDS.get(m.type, OTHER)
    check_kind(name, kind, repr(m.type))  # every member, even one outside the subtree
    rel = ex.relative(name)
    if rel is None:
        return  # outside the requested subtree; its data is skipped
    mtime = float(m.mtime)
    if kind == FILE:
        if ex.writers.enabled and m.sparse is None and m.size <= _PARALLEL_MAX_FILE:
            ex.add_file_data(name, rel, m.mode, mtime, _tar_read(reader, m))
        else:
            ex.add_file(name, rel, m.mode, mtime, m.size, _tar_copier(tar, reader, m))
    elif kind == DIR:
        ex.add_dir(name, rel, mtime)
    elif kind == SYMLINK:
        ex.add_symlink(name, rel, m.linkname, mtime)
    else:
        check_hardlink(name, m.linkname)
        ex.add_hardlink(name, rel, m.linkname)


def _tar_read(reader: SequentialReader, m: Member | tarfile.TarInfo) -> bytes:
    """The data of a (non-sparse) member, read in the main thread for a writer."""
    if reader.tell() != m.offset_data:
        reader.seek(m.offset_data)
    data = reader.read(m.size)
    if len(data) != m.size:
        raise Corrupt(f"member {m.name!r} is cut short")
    return data


def _tar_copier(
    tar: tarfile.TarFile | None, reader: SequentialReader, m: Member | tarfile.TarInfo
) -> Callable[[int], int]:
    def copy(fd: int) -> int:
        if m.sparse is not None:
            assert tar is not None and isinstance(m, tarfile.TarInfo)
            src = tar.extractfile(m)
            assert src is not None
            with src:
                total = 0
                while True:
                    data = src.read(COPY_CHUNK)
                    if not data:
                        break
                    write_all(fd, data)
                    total += len(data)
            if total != m.size:
                raise Corrupt(f"member {m.name!r} is cut short")
            return total
        if reader.tell() != m.offset_data:
            reader.seek(m.offset_data)
        remaining = m.size
        while remaining:
            view = reader.read_view(min(remaining, COPY_CHUNK))
            if not view:
                raise Corrupt(f"member {m.name!r} is cut short")
            write_all(fd, view)
            remaining -= len(view)
        return m.size

    return copy

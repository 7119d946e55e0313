"""Decoding tar headers (ustar, GNU long names, pax) from the sequential reader."""

from __future__ import annotations

import tarfile
import zlib
from collections.abc import Iterator

from pyv.acquire.archive.stream import Corrupt, SequentialReader

BLOCK = tarfile.BLOCKSIZE
ZERO_BLOCK = bytes(BLOCK)
#: Member types whose data follows the header (tarfile also skips data of unknown types).
REGULAR_TYPES = (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE)
_KNOWN_TYPES = (
    *REGULAR_TYPES, tarfile.LNKTYPE, tarfile.SYMTYPE, tarfile.DIRTYPE,
    tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE,
)
_PAX_TYPES = (tarfile.XHDTYPE, tarfile.SOLARIS_XHDTYPE)
#: GNU long names and pax records are names, not data: a bound keeps a hostile
#: header from claiming gigabytes of memory.
_MAX_EXTENDED = 1 << 20


class Member:
    """One tar member as :class:`TarHeaders` decodes it (``TarInfo``'s field names)."""

    __slots__ = ("linkname", "mode", "mtime", "name", "offset_data", "size", "type")
    sparse = None  # sparse members are left to tarfile

    def __init__(
        self, name: str, linkname: str, type: bytes, mode: int, mtime: float, size: int,
        offset_data: int,
    ) -> None:
        self.name = name
        self.linkname = linkname
        self.type = type
        self.mode = mode
        self.mtime = mtime
        self.size = size
        self.offset_data = offset_data


class NeedsTarfile(Exception):
    """A member only ``tarfile`` decodes (sparse files); the reader is back at its header."""


def _nts(field: bytes) -> str:
    """A NUL-terminated header string, decoded as tarfile does with utf-8/surrogateescape."""
    return field.partition(b"\0")[0].decode("utf-8", "surrogateescape")


def _number(field: bytes) -> int:
    """A numeric header field: octal text, or GNU base-256 (high bit set) for big values."""
    if field[0] in (0o200, 0o377):
        n = int.from_bytes(field[1:], "big")
        return n - 256 ** (len(field) - 1) if field[0] == 0o377 else n
    try:
        return int(field.partition(b"\0")[0].strip() or b"0", 8)
    except ValueError:
        raise Corrupt("a tar header has a malformed number") from None


def _byte_sum(data: bytes) -> int:
    """``sum(data)`` for at most 256 bytes, from zlib's C loop instead of Python's.

    Adler-32's low half is 1 + the byte sum modulo 65521; 256 bytes sum to at
    most 65280, so nothing wraps.
    """
    return (zlib.adler32(data) & 0xFFFF) - 1


def _checksum_ok(block: bytes) -> bool:
    # The checksum field counts as eight spaces; old tars summed signed bytes.
    unsigned = (
        _byte_sum(block[:148]) + _byte_sum(block[156:356]) + _byte_sum(block[356:]) + 256
    )
    stored = _number(block[148:156])
    if stored == unsigned:
        return True
    high = sum(1 for b in block[:148] if b >= 0x80) + sum(1 for b in block[156:] if b >= 0x80)
    return stored == unsigned - 256 * high


def _pax_records(data: bytes) -> Iterator[tuple[str, bytes]]:
    """The ``<length> <keyword>=<value>\\n`` records of a pax header."""
    pos, end = 0, len(data)
    while pos < end:
        space = data.find(b" ", pos, pos + 21)
        length = int(data[pos:space]) if space > pos and data[pos:space].isdigit() else 0
        record_end = pos + length
        equals = data.find(b"=", space, record_end)
        if length <= 0 or record_end > end or equals < 0 or data[record_end - 1] != 0x0A:
            raise Corrupt("a pax extended header is malformed")
        yield data[space + 1 : equals].decode("utf-8", "surrogateescape"), data[
            equals + 1 : record_end - 1
        ]
        pos = record_end


class TarHeaders:
    """Decodes tar headers from the reader: ustar, GNU long names, pax (local and global).

    ``tarfile`` spends most of extraction's Python time building a ``TarInfo`` per
    header; this reads only the fields pyv uses. It agrees with ``tarfile`` on names,
    links, types, modes, mtimes and sizes (tests compare the two) and is stricter on
    damaged headers. Sparse members raise :class:`NeedsTarfile` instead.
    """

    def __init__(self, reader: SequentialReader) -> None:
        self.reader = reader
        self.next_header = 0  # where the next header starts (after the member's data)
        self.global_pax: dict[str, bytes] = {}

    def next(self) -> Member | None:
        """The next member, or None at the end-of-archive block."""
        reader = self.reader
        if reader.tell() < self.next_header:
            reader.skip(self.next_header - reader.tell())
        start = reader.tell()
        seen: list[bytes] = []  # raw header blocks, to hand back to tarfile
        name: str | None = None
        linkname: str | None = None
        pax: dict[str, bytes] = {}
        while True:
            block = reader.read(BLOCK)
            seen.append(block)
            if len(block) != BLOCK:
                if start == 0:
                    raise Corrupt("not a tar archive (it is shorter than one header)")
                raise Corrupt("the tar data ends early or has a damaged header")
            if block == ZERO_BLOCK:
                if len(seen) > 1:
                    raise Corrupt("the tar data ends after an extended header")
                return None
            if not _checksum_ok(block):
                if start == 0:
                    raise Corrupt("not a tar archive (bad header checksum)")
                raise Corrupt("a tar header has a bad checksum")
            kind = block[156:157]
            size = _number(block[124:136])
            if size < 0:
                raise Corrupt("a tar header has a negative size")
            if kind in _PAX_TYPES or kind in (
                tarfile.XGLTYPE, tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK
            ):
                if size > _MAX_EXTENDED:
                    raise Corrupt("a tar extended header is implausibly large")
                data = reader.read(-(-size // BLOCK) * BLOCK)
                seen.append(data)
                if len(data) < size:
                    raise Corrupt("the tar data ends inside an extended header")
                data = data[:size]
                # When headers repeat, the first one wins (as with tarfile).
                if kind == tarfile.GNUTYPE_LONGNAME:
                    if name is None:
                        name = _nts(data)
                elif kind == tarfile.GNUTYPE_LONGLINK:
                    if linkname is None:
                        linkname = _nts(data)
                else:
                    target = self.global_pax if kind == tarfile.XGLTYPE else pax
                    for key, value in _pax_records(data):
                        if key.startswith("GNU.sparse."):
                            kind = tarfile.GNUTYPE_SPARSE
                        elif kind == tarfile.XGLTYPE:
                            target[key] = value
                        else:
                            target.setdefault(key, value)
                if kind != tarfile.GNUTYPE_SPARSE:
                    continue
            if kind == tarfile.GNUTYPE_SPARSE:
                reader.unread(b"".join(seen))
                raise NeedsTarfile
            return self._member(block, kind, size, name, linkname, pax)

    def _member(
        self, block: bytes, kind: bytes, size: int, name: str | None, linkname: str | None,
        pax: dict[str, bytes],
    ) -> Member:
        if self.global_pax:
            pax = {**self.global_pax, **pax}
        own_name = _nts(block[0:100])
        if kind == tarfile.AREGTYPE and own_name.endswith("/"):
            kind = tarfile.DIRTYPE  # the old V7 way of storing a directory
        if name is None:
            if "path" in pax:
                name = pax["path"].decode("utf-8", "surrogateescape").rstrip("/")
            else:
                prefix = _nts(block[345:500])
                name = f"{prefix}/{own_name}" if prefix else own_name
        if linkname is None:
            raw_link = pax.get("linkpath")
            linkname = (
                _nts(block[157:257]) if raw_link is None
                else raw_link.decode("utf-8", "surrogateescape")
            )
        if kind == tarfile.DIRTYPE:
            name = name.rstrip("/")
        mtime: float = _number(block[136:148])
        if pax:
            try:
                if "size" in pax:
                    size = int(pax["size"])
                if "mtime" in pax:
                    mtime = float(pax["mtime"])
            except ValueError:
                raise Corrupt("a pax size or mtime is not a number") from None
            if size < 0:
                raise Corrupt("a pax header has a negative size")
        offset_data = self.reader.tell()
        has_data = kind in REGULAR_TYPES or kind not in _KNOWN_TYPES
        self.next_header = offset_data + (-(-size // BLOCK) * BLOCK if has_data else 0)
        return Member(
            name, linkname, kind, _number(block[100:108]), mtime, size, offset_data
        )

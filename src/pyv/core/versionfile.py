"""What is read of a version file, and how a line becomes a word: one statement for
``pyv``, ``pyv venv``'s fast path and (through the values rendered into it)
``shims/shim.sh``, so all three read the same file the same way.

Plain ``os``-free code and constants only: the venv fast path imports this.
"""

from __future__ import annotations

#: Lines are used while there are at most this many and their bytes (NULs dropped, one
#: newline each counted) stay within VERSION_FILE_MAX_BYTES; the rest is never read, so a
#: huge file costs no more than a small one.
VERSION_FILE_MAX_LINES = 100
VERSION_FILE_MAX_BYTES = 65536
#: The longest request or environment name, in bytes (a file name's limit, NAME_MAX).
MAX_REQUEST_BYTES = 255
#: What separates words of a line (as the shim splits them).
BLANKS = " \t\r"
BOM = "\ufeff"


def read_bounded(path: str) -> tuple[bytes, bool]:
    """The part of a version file that is read (NULs dropped, as ``sh`` drops them), and
    whether the bound left some of it unread. OSError when it cannot be opened."""
    kept: list[bytes] = []
    size = 0
    with open(path, "rb") as fh:
        for _ in range(VERSION_FILE_MAX_LINES):
            line = fh.readline(VERSION_FILE_MAX_BYTES - size + 1)
            if not line:
                return b"".join(kept), False
            body = line.rstrip(b"\n").replace(b"\0", b"")
            size += len(body) + 1
            if size > VERSION_FILE_MAX_BYTES:
                return b"".join(kept), True
            kept.append(body + b"\n")
        return b"".join(kept), bool(fh.read(1))


def first_word(line: str) -> str:
    """A line's first word: one BOM, then blanks, then up to the next blank."""
    line = line[1:] if line.startswith(BOM) else line
    line = line.lstrip(BLANKS)
    for index, char in enumerate(line):
        if char in BLANKS:
            return line[:index]
    return line


def line_text(line: str) -> str:
    """What a line says: its first word, or, when more than a trailing ``#`` comment
    follows that word, the whole line without that comment and the outer blanks
    (``>=3.11, <3.13``, as ``uv python pin`` writes it). Which of the two a line means
    is :func:`pyv.choose.pins.parse_entries`' decision; the shim and ``pyv venv``'s fast
    path hand such a line (it has a blank inside) to pyv."""
    word = first_word(line)
    rest = line[line.index(word) + len(word):] if word else ""
    rest = rest.split("#", 1)[0] if rest.lstrip(BLANKS).startswith("#") else rest
    body = rest.split(" #", 1)[0].split("\t#", 1)[0].rstrip(BLANKS)
    return word + body if body.strip(BLANKS) else word


def words(data: bytes) -> list[tuple[int, str]]:
    """(line number, :func:`line_text`) of every line that names something (not blank
    or #)."""
    result = []
    for number, raw in enumerate(data.decode("utf-8", errors="replace").split("\n"), 1):
        text = line_text(raw)
        if text and not text.startswith("#"):
            result.append((number, text))
    return result

"""Interpreters' answers about themselves, cached by real path, size and mtime (as uv does).

Plain strings, ``os``, ``zlib`` and ``json`` only: ``pyv venv``'s fast path reads
these answers too. :mod:`pyv.venv.interpreter` asks the interpreter and writes them.
"""

from __future__ import annotations

import json
import os
import zlib

#: (executable, implementation, version, version_info, freethreaded, site_packages)
Facts = tuple[str, str, tuple[int, int, int], str, bool, str]


def locate(cache_dir: str, path: str) -> tuple[str, str]:
    """(cache file, stamp) for the interpreter at absolute ``path``; OSError if it is missing."""
    real = os.path.realpath(path)
    st = os.stat(real)
    stamp = f"{real}\0{st.st_size}\0{st.st_mtime_ns}\0{path}"
    raw = stamp.encode("utf-8", "surrogateescape")
    # A cheap name (zlib, not hashlib: this is on the fast path); the stamp inside decides.
    name = f"{zlib.crc32(raw):08x}{zlib.adler32(raw):08x}.json"
    return os.path.join(cache_dir, "interpreters", name), stamp


def read_json(path: str) -> dict[str, object] | None:
    """A JSON object from a file, or None if it is missing, unreadable or not an object."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read(cache_file: str, stamp: str) -> dict[str, object] | None:
    """The cached answer, or None when there is none or it is for another file."""
    data = read_json(cache_file)
    return data if data is not None and data.get("stamp") == stamp else None


def write(cache_file: str, stamp: str, data: dict[str, object]) -> None:
    """Store an answer (best effort: a cache we cannot write only costs speed)."""
    tmp = f"{cache_file}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(cache_file), exist_ok=True)
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump({**data, "stamp": stamp}, fh)
        os.replace(tmp, cache_file)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def facts(data: dict[str, object], path: str) -> Facts:
    """What an environment needs from an answer; ValueError when the answer is malformed."""
    try:
        raw_version = data["version"]
        if not isinstance(raw_version, list):
            raise ValueError("version is not a list")
        major, minor, micro = (int(n) for n in raw_version[:3])
        executable = str(data["executable"])
        if (os.path.dirname(path) != os.path.dirname(executable)
                and os.path.realpath(path) == os.path.realpath(executable)):
            # Keep the spelling the user chose (/usr/bin/python3, not /usr/bin/python3.11).
            executable = os.path.abspath(path)
        return (executable, str(data["implementation"]), (major, minor, micro),
                str(data["version_info"]), bool(data["freethreaded"]),
                str(data["site_packages"]))
    except (KeyError, TypeError) as exc:
        raise ValueError(f"malformed answer: {exc}") from None

"""Interpreters' answers about themselves, cached by real path, size and mtime (as uv does).

Plain strings and ``os`` only: ``pyv venv``'s fast path reads these answers too,
so the cache is not JSON (the ``json`` package costs more to import than the
whole read). An answer is one file of NUL-separated fields (no path holds a NUL):
:data:`MAGIC`, the four fields of the stamp, then ``key=value`` facts.
:mod:`pyv.venv.interpreter` asks the interpreter and writes them.
"""

from __future__ import annotations

import os

#: (executable, implementation, version, version_info, freethreaded, site_packages)
Facts = tuple[str, str, tuple[int, int, int], str, bool, str]

#: The first field of an answer file; another format is another word (and file suffix).
MAGIC = "pyv-answer-1"
_SUFFIX = ".answer"
#: What an answer keeps of the interpreter's reply (see :func:`facts`).
KEYS = ("executable", "implementation", "version", "version_info", "freethreaded",
        "site_packages")
_FNV_OFFSET, _FNV_PRIME, _MASK = 0xCBF29CE484222325, 0x100000001B3, (1 << 64) - 1


def _name(raw: bytes) -> str:
    """A short file name for a stamp (FNV-1a: no hashlib or zlib on the fast path; the
    stamp inside the file decides, so a collision only costs a query)."""
    h = _FNV_OFFSET
    for byte in raw:
        h = ((h ^ byte) * _FNV_PRIME) & _MASK
    return f"{h:016x}{_SUFFIX}"


def locate(cache_dir: str, path: str, real: str | None = None) -> tuple[str, str]:
    """(cache file, stamp) for the interpreter at absolute ``path`` (whose real path is
    ``real``, when the caller has it); OSError if it is missing."""
    if real is None:
        real = os.path.realpath(path)
    st = os.stat(real)
    stamp = f"{real}\0{st.st_size}\0{st.st_mtime_ns}\0{path}"
    raw = stamp.encode("utf-8", "surrogateescape")
    return os.path.join(cache_dir, "interpreters", _name(raw)), stamp


def read(cache_file: str, stamp: str) -> dict[str, object] | None:
    """The cached answer, or None when there is none, it is damaged or for another file."""
    try:
        with open(cache_file, "rb") as fh:
            text = fh.read(1 << 16).decode("utf-8", "surrogateescape")
    except OSError:
        return None
    fields = text.split("\0")
    if fields[0] != MAGIC or "\0".join(fields[1:5]) != stamp:
        return None
    facts = dict(f.partition("=")[::2] for f in fields[5:])
    try:
        return {
            "executable": facts["executable"],
            "implementation": facts["implementation"],
            "version": [int(n) for n in facts["version"].split(".")],
            "version_info": facts["version_info"],
            "freethreaded": {"1": True, "0": False}[facts["freethreaded"]],
            "site_packages": facts["site_packages"],
        }
    except (KeyError, ValueError):
        return None


def write(cache_file: str, stamp: str, data: dict[str, object]) -> None:
    """Store an answer (best effort: a cache we cannot write only costs speed)."""
    try:
        version = ".".join(str(int(n)) for n in data["version"])  # type: ignore[attr-defined]
        values = {**{k: str(data[k]) for k in KEYS}, "version": version,
                  "freethreaded": "1" if data["freethreaded"] else "0"}
    except (KeyError, TypeError, ValueError):
        return  # a malformed reply is reported by facts(), not kept
    fields = [MAGIC, stamp, *(f"{k}={values[k]}" for k in KEYS)]
    if any("\0" in v for v in values.values()):
        return
    tmp = f"{cache_file}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(cache_file), exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write("\0".join(fields).encode("utf-8", "surrogateescape"))
        os.replace(tmp, cache_file)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def facts(data: dict[str, object], path: str, real: str | None = None) -> Facts:
    """What an environment needs from an answer; ValueError when the answer is malformed."""
    try:
        raw_version = data["version"]
        if not isinstance(raw_version, list):
            raise ValueError("version is not a list")
        major, minor, micro = (int(n) for n in raw_version[:3])
        executable = str(data["executable"])
        if os.path.dirname(path) != os.path.dirname(executable):
            if real is None:
                real = os.path.realpath(path)
            if real == os.path.realpath(executable):
                # Keep the spelling the user chose (/usr/bin/python3, not /usr/bin/python3.11).
                executable = os.path.abspath(path)
        return (executable, str(data["implementation"]), (major, minor, micro),
                str(data["version_info"]), bool(data["freethreaded"]),
                str(data["site_packages"]))
    except (KeyError, TypeError) as exc:
        raise ValueError(f"malformed answer: {exc}") from None

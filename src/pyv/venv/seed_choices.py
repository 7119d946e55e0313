"""The seed's remembered choice: which cached wheels each Python's seed used, and the
cache listing they were chosen from (``cache/wheels/unpacked/choices.json``).

A seed whose cache lists the same wheel files reuses the choice, so a warm seed
neither parses wheel names and versions nor opens wheels to read Requires-Python.
Plain strings, ``os`` and ``json``: :mod:`pyv.venv.seed` chooses and remembers,
and ``pyv venv --seed``'s fast path (:mod:`pyv.venv.quick`) reads the same answer
without loading the seeding machinery.
"""

from __future__ import annotations

import json
import os

CHOICES = "choices.json"
CHOICES_FORMAT = 1
#: Where each wheel's verified tree lives, beside the choices (see pyv.venv.seed).
TREES = "unpacked"


def seed_packages(version: tuple[int, int, int]) -> tuple[str, ...]:
    """What ``--seed`` installs: pip, plus setuptools and wheel below 3.12 (as venv did)."""
    if version[:2] < (3, 12):
        return ("pip", "setuptools", "wheel")
    return ("pip",)


def wheel_names(cache: str) -> list[str]:
    """The wheel files in the cache directory ``cache`` (none when it cannot be read)."""
    try:
        return [n for n in os.listdir(cache) if n.endswith(".whl")]
    except OSError:
        return []


def tree_root(cache: str, wheel: str) -> str:
    """Where the verified tree of the cached wheel named ``wheel`` lives."""
    return os.path.join(cache, TREES, wheel[: -len(".whl")])


def _read(cache: str) -> dict[str, object]:
    try:
        with open(os.path.join(cache, TREES, CHOICES), "rb") as fh:
            raw = json.loads(fh.read())
    except (OSError, ValueError):
        return {}
    if not isinstance(raw, dict) or raw.get("format") != CHOICES_FORMAT:
        return {}
    pythons = raw.get("pythons")
    return pythons if isinstance(pythons, dict) else {}


def remembered(cache: str, python: tuple[int, int, int],
               names: list[str]) -> list[tuple[str, str, str]] | None:
    """(package, version, wheel file) chosen before for ``python`` from a cache listing the
    wheel files ``names``; None when there is no such choice."""
    entry = _read(cache).get(".".join(map(str, python)))
    try:
        if not isinstance(entry, dict) or entry["listing"] != sorted(names):
            return None
        wheels = [(str(n), str(v), str(f)) for n, v, f in entry["wheels"]]
    except (KeyError, TypeError, ValueError):
        return None
    # Only whole, plain choices of this cache's own files are trusted.
    if [w[0] for w in wheels] != list(seed_packages(python)) or any(
            w[2] not in names for w in wheels):
        return None
    return wheels


def remember(cache: str, python: tuple[int, int, int], names: list[str],
             chosen: list[tuple[str, str, str]]) -> None:
    """Keep a choice made wholly from the cache listing ``names`` (best effort: a seed
    never fails on it)."""
    if not names or [w[0] for w in chosen] != list(seed_packages(python)):
        return
    pythons = _read(cache)
    pythons[".".join(map(str, python))] = {
        "listing": sorted(names), "wheels": [list(w) for w in chosen],
    }
    data = json.dumps({"format": CHOICES_FORMAT, "pythons": pythons}, separators=(",", ":"))
    trees = os.path.join(cache, TREES)
    # The name pyv.venv.seed's leftover cleaning knows (pid and tag: removed once dead).
    tmp = os.path.join(trees, f".{CHOICES}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        os.makedirs(trees, exist_ok=True)
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(data)
        os.replace(tmp, os.path.join(trees, CHOICES))
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass

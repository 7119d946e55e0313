"""Names of named environments, and the words they may not be.

A name ends up in ``.python-version`` files, ``PYV_VERSION`` and ``pyv shell``,
next to version requests; a name that also reads as a request (``3.12``,
``system``, ``pypy3.10``) would make those files ambiguous, so it is refused.
"""

from __future__ import annotations

import re

from pyv.core.errors import UsageError

from pyv.core.locations import MAX_NAME_LENGTH
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
#: Words with a meaning of their own wherever a request is read.
RESERVED = frozenset({"system", "any", "latest", "default", "python", "envs", "venv"})


def validate_name(name: str) -> str:
    """Return ``name`` if it can name an environment, else raise :class:`UsageError`."""
    hint = "use letters, digits, '_', '-' and '.', starting with a letter or '_', e.g. `astro-env`"
    if not name:
        raise UsageError("an environment name must not be empty", hint)
    if "/" in name or "\\" in name or "\x00" in name:
        raise UsageError(f"invalid environment name {name!r} (it contains a path separator)",
                         "pass a path as `pyv venv PATH` instead of --name")
    if name.startswith("."):
        raise UsageError(f"invalid environment name {name!r} (it starts with a dot)", hint)
    if len(name) > MAX_NAME_LENGTH:
        raise UsageError(
            f"invalid environment name (longer than {MAX_NAME_LENGTH} characters)", hint
        )
    from pyv.core.errors import InvalidRequest
    from pyv.core.requests import parse_request

    try:
        kind = parse_request(name, allow_names=True).kind
    except InvalidRequest:
        kind = "invalid"
    if kind not in ("name", "invalid") or name.lower() in RESERVED:
        raise UsageError(
            f"invalid environment name {name!r} (it reads as a Python version request or "
            "a reserved word)",
            "pick a name that is not a version, implementation, key or keyword, e.g. `astro-env`",
        )
    if kind == "invalid" or not _NAME_RE.fullmatch(name):
        raise UsageError(f"invalid environment name {name!r}", hint)
    return name

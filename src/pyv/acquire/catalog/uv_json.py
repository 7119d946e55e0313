"""uv's downloads JSON (``download-metadata.json``, ``UV_PYTHON_DOWNLOADS_JSON_URL``)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from pyv.acquire.catalog.model import Catalog, Download, installable, make_download, now_iso
from pyv.core.errors import ConfigError

_REQUIRED = ("name", "arch", "os", "libc", "major", "minor", "patch", "url")


def _entry_download(entry: Mapping[str, Any]) -> Download:
    for name in _REQUIRED:
        if name not in entry:
            raise ValueError(f"missing field {name!r}")
    arch = entry["arch"]
    family: object
    arch_variant: object
    if isinstance(arch, str):  # old uv files spelled the arch as a plain string
        family, arch_variant = arch, None
    elif isinstance(arch, dict):
        family, arch_variant = arch.get("family"), arch.get("variant")  # checked below
    else:
        raise ValueError(f"arch: must be a string or an object, got {type(arch).__name__}")
    name = entry["name"]
    if not isinstance(name, str):
        raise ValueError(f"name: must be a string, got {type(name).__name__}")
    build = entry.get("build")
    return make_download({
        "implementation": name.lower(),
        "major": entry["major"],
        "minor": entry["minor"],
        "patch": entry["patch"],
        "prerelease": entry.get("prerelease") or "",
        "variant": entry.get("variant") or None,
        "os": entry["os"],
        "arch": family,
        "arch_variant": arch_variant or None,
        "libc": entry["libc"],
        # PyPy/GraalPy files write the build as a number at times.
        "build": str(build) if isinstance(build, (str, int)) and build else build or "",
        "url": entry["url"],
        "sha256": entry.get("sha256") or None,
    })


def parse_uv_json(data: bytes | str, source: str) -> Catalog:
    """Read a uv-schema downloads JSON (as uv's ``download-metadata.json``).

    Entries pyv cannot install (unknown implementation, an OS other than
    linux/darwin/windows such as pyodide's emscripten, an unknown archive type)
    are left out. Anything malformed raises :class:`ConfigError` naming ``source``,
    the entry and the field.
    """
    try:
        parsed = json.loads(data)
    except RecursionError:
        raise ConfigError(f"{source} is not a downloads JSON: nested too deeply") from None
    except ValueError as exc:
        raise ConfigError(f"{source} is not valid JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise ConfigError(f"{source} is not a downloads JSON (expected an object of entries)")
    downloads = []
    for key, entry in parsed.items():
        try:
            if not isinstance(entry, dict):
                raise ValueError("not an object")
            download = _entry_download(entry)
        except ValueError as exc:
            shown = key if len(key) <= 80 else key[:77] + "..."
            raise ConfigError(f"{source}: entry {shown!r} is invalid: {exc}") from None
        if installable(download):
            downloads.append(download)
    return Catalog(downloads=tuple(downloads), source=source, generated=now_iso(), origin=source)


def to_uv_json(downloads: Iterable[Download]) -> dict[str, dict[str, Any]]:
    """The uv-schema JSON object for ``downloads`` (newest build wins a shared key)."""
    result: dict[str, dict[str, Any]] = {}
    builds: dict[str, str] = {}
    for d in downloads:
        key = d.key
        if key in builds and builds[key] >= d.build:
            continue
        builds[key] = d.build
        result[key] = {
            "name": d.implementation,
            "arch": {"family": d.arch, "variant": d.arch_variant},
            "os": d.os,
            "libc": d.libc,
            "major": d.major,
            "minor": d.minor,
            "patch": d.patch,
            "prerelease": d.prerelease,
            "url": d.url,
            "sha256": d.sha256,
            "variant": d.variant,
            "build": d.build,
        }
    return result

"""What an environment's tree holds, written from plain strings; and what pyv says of it.

Both ways of making an environment use this module: :mod:`pyv.venv.create` (the
full path, with staging, ``--clear`` and seeding) and :mod:`pyv.venv.quick` (the
fast path). It imports only ``os`` and ``sys`` so the fast path stays fast; the
two paths therefore write byte-for-byte the same files.
"""

from __future__ import annotations

import os
import sys
import time

from pyv import __version__
from pyv.venv.activation import render_scripts

CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by pyv.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)
GITIGNORE = "# created by pyv automatically\n*\n"

#: What pyvenv.cfg's ``implementation`` key says, by pyv's implementation name.
IMPL_DISPLAY = {"cpython": "CPython", "pypy": "PyPy", "graalpy": "GraalVM"}

def link_names(version: tuple[int, int, int], freethreaded: bool, executable: str) -> list[str]:
    """Names in the environment's ``bin/`` that run the interpreter, ``python`` first."""
    major, minor = version[:2]
    names = ["python", f"python{major}", f"python{major}.{minor}"]
    if freethreaded:
        names.append(f"python{major}.{minor}t")
    own = os.path.basename(executable)
    if own not in names and not own.endswith((".exe", "-config")):
        names.append(own)
    return names


def shown_prompt(target: str, prompt: str | None) -> str:
    """The prompt prefix: ``--prompt``, else the directory's name (the project's for ``.venv``)."""
    if prompt is not None:
        return prompt
    name = os.path.basename(target)
    if name == ".venv":
        return os.path.basename(os.path.dirname(target)) or ".venv"
    return name


def pyvenv_cfg(*, executable: str, implementation: str, version_info: str, version: str,
               system_site_packages: bool, prompt: str | None, command: str) -> str:
    """What ``python -m venv`` writes, plus ``implementation``/``version_info`` (uv, virtualenv)."""
    lines = [
        f"home = {os.path.dirname(executable)}",
        f"implementation = {IMPL_DISPLAY.get(implementation, implementation)}",
        f"version_info = {version_info}",
        f"include-system-site-packages = {'true' if system_site_packages else 'false'}",
        f"version = {version}",
        f"executable = {executable}",
        f"command = {command}",
        f"pyv = {__version__}",
    ]
    if prompt is not None:
        lines.append(f"prompt = {prompt!r}")
    return "\n".join(lines) + "\n"


def staging_dir(target: str) -> str:
    """A unique hidden directory beside ``target``: same filesystem, so one rename publishes."""
    parent, name = os.path.split(target)
    # The host and pid let a later cleaner prove the owner dead (pyv.venv.create).
    owner = f"{os.uname().nodename.replace('.', '_') or 'localhost'}.{os.getpid()}"
    return os.path.join(parent, f".{name}.pyv-{owner}-{os.urandom(4).hex()}")


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def write_tree(staging: str, final: str, *, executable: str, names: list[str],
               site_packages: str, cfg: str, prompt: str) -> None:
    """Fill ``staging`` with an environment that will live at ``final`` (absolute paths)."""
    bin_dir = os.path.join(staging, "bin")
    os.mkdir(bin_dir)
    os.makedirs(os.path.join(staging, site_packages))
    if sys.maxsize > 2**32 and os.name == "posix" and sys.platform != "darwin":
        # Some distributions' sysconfig put platlib under lib64; venv links it too.
        os.symlink("lib", os.path.join(staging, "lib64"))
    os.mkdir(os.path.join(staging, "include"))
    os.symlink(executable, os.path.join(bin_dir, names[0]))
    for extra in names[1:]:
        os.symlink(names[0], os.path.join(bin_dir, extra))
    for script, text in render_scripts(final, prompt).items():
        _write(os.path.join(bin_dir, script), text)
    _write(os.path.join(staging, "pyvenv.cfg"), cfg)
    _write(os.path.join(staging, ".gitignore"), GITIGNORE)
    _write(os.path.join(staging, "CACHEDIR.TAG"), CACHEDIR_TAG)


#: Project environments pyv made, one JSON line each (read by :mod:`pyv.venv.registry`).
PROJECTS_FILE = ".projects.jsonl"


def record_project(envs_dir: str, env: str) -> None:
    """Remember a project environment in ``envs/.projects.jsonl`` (one atomic append).

    :mod:`pyv.venv.registry` reads and prunes the file; ``O_APPEND`` writes of one
    short line are atomic between writers, so no lock is taken.
    """
    import json

    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    line = json.dumps({"path": env, "created": created}) + "\n"
    os.makedirs(envs_dir, exist_ok=True)
    fd = os.open(os.path.join(envs_dir, PROJECTS_FILE),
                 os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)


def shown_path(path: str, cwd: str) -> str:
    """A path relative to the current directory when it is below it."""
    try:
        rel = os.path.relpath(path, cwd)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def describe(implementation: str, freethreaded: bool, version: tuple[int, int, int],
             executable: str) -> str:
    """``CPython 3.12.4 at /path/bin/python3.12`` (the interpreter an environment uses)."""
    name = IMPL_DISPLAY.get(implementation, implementation)
    name += " (free-threaded)" if freethreaded else ""
    return f"{name} {'.'.join(str(n) for n in version)} at {executable}"


def report_lines(env: str, cwd: str, *, implementation: str, freethreaded: bool,
                 version: tuple[int, int, int], executable: str, follows_minor: bool,
                 seeded: tuple[str, ...], name: str | None) -> list[str]:
    """What ``pyv venv`` tells the user about a new environment."""
    follow = f" (follows upgrades of {version[0]}.{version[1]})" if follows_minor else ""
    shown = shown_path(env, cwd)
    lines = [f"Created {shown} with "
             f"{describe(implementation, freethreaded, version, executable)}{follow}"]
    if seeded:
        lines.append(f"Seeded: {', '.join(seeded)}")
    from pyv.core.errors import shown_command

    if name:
        target: tuple[str, ...] = (name,)
    elif shown == ".venv":
        target = ()
    else:
        # A bare word would name an environment (`pyv activate astro2`): show a path.
        target = (shown if os.sep in shown else os.path.join(".", shown),)
    lines.append(f"Activate with: {shown_command('pyv', 'activate', *target).strip('`')}")
    return lines

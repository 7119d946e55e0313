"""Shell completion: ``pyv completion SHELL`` prints a script, the script asks ``pyv _complete``.

The scripts hold no knowledge of pyv's commands: they pass the words typed so far
(the last one is the word being completed) and offer what this module prints, one
candidate a line. A line ``__files__`` asks the shell for its own path completion
as well (``venv PATH``, archive paths, ``activate PATH``). Flags come from the real
argparse parsers (:func:`pyv.cli.registry.build_parser`), versions from the catalog
in force and the store: no network, no download stack.
"""

from __future__ import annotations

import argparse
from importlib.resources import files

TYPE_CHECKING = False  # not typing's: see pyv.cli.main
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from pyv.core.settings import Settings

SHELLS = ("bash", "zsh", "fish")
#: Printed as a candidate: "also complete paths here".
FILES = "__files__"


def script(shell: str) -> str:
    """The completion script for ``shell`` (one of :data:`SHELLS`)."""
    return files(__package__).joinpath(f"pyv.{shell}").read_text(encoding="utf-8")


def complete(words: Sequence[str], environ: Mapping[str, str]) -> list[str]:
    """Candidates for the last of ``words`` (the words after ``pyv``), filtered by its prefix."""
    from pyv.cli.registry import COMMANDS

    *before, current = words or [""]
    command = next((w for w in before if not w.startswith("-")), None)
    if command is None:
        if current.startswith("-"):
            return _matching(_flags(None, []), current)
        return _matching(COMMANDS, current)
    if command not in COMMANDS:
        return []
    args = [w for w in before[before.index(command) + 1:] if not w.startswith("-")]
    if current.startswith("-"):
        return _matching(_flags(command, args), current)
    if before and before[-1] in _VALUE_FLAGS.get(command, {}):
        found = _values(_VALUE_FLAGS[command][before[-1]], environ)
    else:
        found = _values(_positional(command, args), environ)
    return _matching(found, current)


#: What a command's positional arguments are, by command (and action for ``envs``).
def _positional(command: str, args: list[str]) -> tuple[str, ...]:
    if command == "install":
        return ("available", "files")
    if command in ("uninstall", "upgrade"):
        return ("installed",)
    if command in ("pin", "shell"):
        return ("system", "installed", "envs")
    if command in ("which", "exec"):
        return ("shims",) if not args else ("files",)
    if command in ("find", "list"):
        return ("installed",)
    if command == "activate":
        return ("envs", "files") if not args else ()
    if command == "venv":
        return ("files",)
    if command == "envs":
        if not args:
            return ("actions",)
        return ("envs",) if args[0] in ("remove", "rm", "path") else ()
    if command == "mirror":
        return ("available",)
    if command == "init":
        return ("shells",) if not args else ()
    if command == "completion":
        return ("completion-shells",) if not args else ()
    return ()


#: Flags whose value has its own candidates.
_VALUE_FLAGS: dict[str, dict[str, tuple[str, ...]]] = {
    "venv": {"-p": ("installed",), "--python": ("installed",)},
}


def _values(kinds: Iterable[str], environ: Mapping[str, str]) -> list[str]:
    found: list[str] = []
    settings = None
    for kind in kinds:
        if kind == "files":
            found.append(FILES)
            continue
        if kind == "shells":
            from pyv.choose.shims import SHELLS as INIT_SHELLS

            found.extend(INIT_SHELLS)
            continue
        if kind == "completion-shells":
            found.extend(SHELLS)
            continue
        if kind == "system":
            found.append("system")
            continue
        if kind == "actions":
            found.extend(("list", "remove", "rm", "path"))
            continue
        if settings is None:
            from pyv.core.settings import load_settings

            settings = load_settings(environ, {})
        found.extend(_SOURCES[kind](settings))
    return found


def _available(settings: Settings) -> list[str]:
    """Versions the catalog in force offers this machine (``3.13``, ``3.13.1``, ``3.13t``...)."""
    from pyv.acquire.catalog.listing import offers
    from pyv.core.platform import current_host
    from pyv.core.requests import parse_request, request_text

    found, _ = offers(settings, parse_request("any"), current_host(),
                      all_versions=False, all_platforms=False)
    spellings: dict[str, None] = {}
    for offer in found:
        if "debug" in offer.key:
            continue  # reachable by key; the short spellings stay for what people type
        variant = "freethreaded" if "+freethreaded" in offer.key else None
        minor = ".".join(offer.version.split(".")[:2])
        for version in (minor, offer.version):
            spellings[request_text(offer.implementation, version, variant)] = None
    return list(spellings)


def _installed(settings: Settings) -> list[str]:
    from pyv.acquire.store import all_installations

    spellings: dict[str, None] = {}
    for inst in all_installations(settings):
        prefix = "" if inst.implementation == "cpython" else f"{inst.implementation}@"
        release = inst.version.release
        spellings[f"{prefix}{release[0]}.{release[1]}"] = None
        spellings[f"{prefix}{inst.version}"] = None
        spellings[inst.key] = None
    return list(spellings)


def _envs(settings: Settings) -> list[str]:
    from pyv.venv.manage import list_named

    return [env.name for env in list_named(settings, with_size=False) if env.name]


def _shims(settings: Settings) -> list[str]:
    try:
        return sorted(entry.name for entry in settings.shims_dir.iterdir())
    except OSError:
        return []


_SOURCES = {"available": _available, "installed": _installed, "envs": _envs, "shims": _shims}


def _flags(command: str | None, args: list[str]) -> list[str]:
    """The options the real parser of ``command`` (or its action's parser) accepts."""
    from pyv.cli.registry import build_parser

    parser, _ = build_parser(command)
    if command is not None:
        parser = _child(parser, command)
        if args:
            parser = _child(parser, args[0]) or parser
    return [
        option
        for action in parser._actions
        if action.help != argparse.SUPPRESS
        for option in action.option_strings
    ]


def _child(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and name in action.choices:
            child: argparse.ArgumentParser = action.choices[name]
            return child
    return parser


def _matching(candidates: Iterable[str], prefix: str) -> list[str]:
    return [c for c in dict.fromkeys(candidates) if c == FILES or c.startswith(prefix)]

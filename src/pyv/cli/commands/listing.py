"""`pyv list`, `pyv find`, `pyv dir`.

`pyv list --installed` and `pyv find` read only the store: they never load the
catalog or the download stack.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from pyv.cli.base import Command, Context, add_json_flag
from pyv.core.errors import NotFound

if TYPE_CHECKING:
    from pyv.acquire.catalog.compact import Rows
    from pyv.acquire.catalog.listing import Offer
    from pyv.acquire.store import Installation
    from pyv.core.requests import ListOrder, PythonRequest


class ListRow(NamedTuple):
    """One line of `pyv list` (a NamedTuple: a whole-catalog listing makes thousands)."""

    key: str
    version: str
    implementation: str
    installed: Installation | None
    offer: Offer | None
    order: ListOrder

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "key": self.key,
            "version": self.version,
            "implementation": self.implementation,
            "installed": self.installed is not None,
            "path": str(self.installed.executable) if self.installed else None,
        }
        if self.offer is not None:
            data["url"] = self.offer.url
            data["sha256"] = self.offer.sha256
            data["build"] = self.offer.build
        return data


def list_pythons(
    ctx: Context,
    request: PythonRequest | None,
    *,
    installed_only: bool,
    available_only: bool,
    all_versions: bool,
    all_platforms: bool,
) -> tuple[list[ListRow], Rows | None]:
    """The rows `pyv list` shows, best first, and the catalog used (if any)."""
    from pyv.acquire.store import all_installations, find_installed
    from pyv.core.requests import list_order

    if request is None:
        installed = all_installations(ctx.settings)
    else:
        installed = find_installed(ctx.settings, request)
    rows: list[ListRow] = []
    if not available_only:
        for i in installed:
            v = i.version
            pre = "" if v.pre is None else f"{v.pre[0]}{v.pre[1]}"
            order = list_order(i.implementation, v.major, v.minor, v.micro, pre, i.key)
            rows.append(ListRow(i.key, i.version_str, i.implementation, i, None, order))
    if installed_only:
        return rows, None
    from pyv.acquire.catalog.listing import offers
    from pyv.core.platform import current_host
    from pyv.core.requests import parse_request

    found, catalog = offers(ctx.settings, request or parse_request("any"), current_host(),
                            all_versions=all_versions, all_platforms=all_platforms)
    installed_keys = {i.key for i in installed}
    rows.extend(
        ListRow(o.key, o.version, o.implementation, None, o, o.order)
        for o in found if o.key not in installed_keys  # installed ones are listed as such
    )
    rows.sort(key=lambda row: row.order)
    return rows, catalog


class ListCommand(Command):
    """List installed interpreters and the builds available for this machine.

    By default one row per minor version (the newest patch); --all-versions
    shows every patch and --all-platforms every platform's builds.
    """

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("request", nargs="?", metavar="REQUEST", help="only matching versions")
        only = parser.add_mutually_exclusive_group()
        only.add_argument(
            "--installed",
            "--only-installed",
            dest="installed",
            action="store_true",
            help="only installed versions",
        )
        only.add_argument(
            "--available",
            "--only-downloads",
            dest="available",
            action="store_true",
            help="only versions available for download",
        )
        only.add_argument("--external", action="store_true",
                          help="only interpreters pyv did not install (pyenv, uv, conda, PATH)")
        parser.add_argument("--all-versions", action="store_true", help="every patch version")
        parser.add_argument("--all-platforms", action="store_true", help="every platform's builds")
        add_json_flag(parser)

    def run(self, args: argparse.Namespace, ctx: Context) -> int:
        from pyv.core.requests import parse_request

        request = parse_request(args.request) if args.request is not None else None
        if args.external:
            return _list_external(ctx, request, args.json)
        rows, catalog = list_pythons(
            ctx,
            request,
            installed_only=args.installed,
            available_only=args.available,
            all_versions=args.all_versions,
            all_platforms=args.all_platforms,
        )
        status = None
        if catalog is not None:
            from pyv.acquire.update import catalog_status

            if catalog.warning:
                ctx.warn(catalog.warning)
            status = catalog_status(ctx.settings)
        if args.json:
            data: dict[str, Any] = {"pythons": [r.to_json() for r in rows]}
            if status is not None:
                data["catalog"] = status.to_json()
            ctx.emit_json(data)
            return 0
        if rows:
            # One write: a whole-catalog listing is thousands of lines.
            ctx.out(render(rows))
        if not rows and request is not None:
            ctx.info(f"No Python matches {args.request!r}")
        if status is not None:
            # On stderr, so that piping the list stays clean.
            ctx.info(status.describe())
        return 0


def key_width(rows: list[ListRow]) -> int:
    """The key column's width: the longest key and four spaces."""
    return max((len(r.key) for r in rows), default=0) + 4


def render(rows: list[ListRow]) -> str:
    """`pyv list`'s lines (no final newline): keys in a column as wide as the longest and
    four more, then where an installed one is, or that it can be downloaded."""
    width = key_width(rows)
    return "\n".join(
        f"{row.key:<{width}}"
        + (str(row.installed.executable) if row.installed else "<download available>")
        for row in rows
    )


def whole_catalog_listing() -> str:
    """What :mod:`pyv.cli.fast` prints for ``pyv list --all-platforms --all-versions``:
    this command's own output for the bundled catalog with nothing installed, generated
    with the catalog (``scripts/generate_catalog.py``) into
    :data:`~pyv.acquire.catalog.loading.BUNDLED_LISTING`.

    Line 1 is the bundled catalog's header line (the fast path prints nothing for another
    catalog); line 2 the key column's width, the catalog status's date (a POSIX time, or
    empty) and its text without the age; then the lines, in listing order. The fast path
    puts an installed interpreter's path in its key's line.
    """
    import tempfile
    from dataclasses import replace

    from pyv.acquire.catalog.compact import open_text
    from pyv.acquire.catalog.loading import BUNDLED_CATALOG
    from pyv.acquire.update import catalog_status
    from pyv.core.settings import load_settings

    with open_text(BUNDLED_CATALOG) as fh:
        header = fh.readline().rstrip("\n")
    with tempfile.TemporaryDirectory(prefix="pyv-listing-") as tmp:
        settings = load_settings({"PYV_HOME": tmp})
        ctx = Context(settings=settings, environ=settings.environ, cwd=Path(tmp))
        rows, _ = list_pythons(ctx, None, installed_only=False, available_only=False,
                               all_versions=True, all_platforms=True)
        status = catalog_status(settings)
    width = key_width(rows)
    when = "" if status.fetched_at is None else repr(status.fetched_at.timestamp())
    text = replace(status, age_days=None).describe()
    return f"{header}\n{width}\t{when}\t{text}\n" + "".join(
        line + "\n" for line in render(rows).split("\n") if rows)


def _list_external(ctx: Context, request: PythonRequest | None, as_json: bool) -> int:
    """Interpreters other tools installed: read-only to pyv, shown as not managed."""
    from pyv.choose.discovery import external_interpreters

    found = [item for item in external_interpreters(ctx.settings, ctx.environ)
             if request is None or (item.version is not None and request.matches(
                 item.implementation, item.version, item.variant))]
    if as_json:
        ctx.emit_json({"external": [item.to_json() for item in found]})
        return 0
    names = [f"{item.implementation}-{item.version or '?'}"
             + ("+freethreaded" if item.freethreaded else "") for item in found]
    width = max(map(len, names), default=0) + 2
    for name, item in zip(names, found):
        ctx.out(f"{name:<{width}}{item.source + ' (not managed)':<22}{item.path}")
    return 0


class FindCommand(Command):
    """Print the path of the best interpreter for REQUEST: managed ones first, then PATH.

    With no REQUEST, the one the current directory selects (.python-version …). The path
    is the one a shim runs: a request without a patch goes through the minor link.
    """

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("request", nargs="?", metavar="REQUEST")
        parser.add_argument(
            "--managed-only", action="store_true", help="only interpreters installed by pyv"
        )
        add_json_flag(parser)

    def run(self, args: argparse.Namespace, ctx: Context) -> int:
        path, version, source = find_interpreter(ctx, args.request, managed_only=args.managed_only)
        if args.json:
            ctx.emit_json({"path": str(path), "version": version, "source": source})
        else:
            ctx.out(str(path))
        return 0


def find_interpreter(
    ctx: Context, request_text: str | None, *, managed_only: bool
) -> tuple[Path, str, str]:
    """(path, version, "managed"|"environment"|"path") of the best interpreter for the
    request: what would run, as :func:`pyv.choose.resolve.find_or_install` (never installing)
    decides it, so a minor request's path goes through the minor link as the shims' does."""
    from pyv.choose.resolve import find_or_install
    from pyv.core.requests import parse_request

    texts = [request_text] if request_text is not None else _selected_requests(ctx)
    for text in texts:
        request = parse_request(text, allow_names=not request_text)
        if managed_only and request.kind == "system":
            continue
        try:
            found = find_or_install(ctx.settings, request, text=text,
                                    where="the command line" if request_text else "selection",
                                    on_path=not managed_only)
        except NotFound:
            continue
        if found.installation is not None:
            return found.executable, found.version, "managed"
        if found.source == "environment":
            if found.executable.exists():
                return found.executable, "", "environment"
            continue
        version = found.version
        if found.source == "path":
            # Answered only for a Python interpreter, which is asked (as uv does): any
            # other executable is not one, whatever its name.
            from pyv.choose.discovery import probe

            answer = probe(found.executable)
            if answer is None:
                raise NotFound(
                    f"{found.executable} (set by {found.where}) is not a Python interpreter: "
                    "it did not answer as one",
                    "give the path of a python executable, or a version such as 3.12")
            return found.executable, str(answer.version), "path"
        if found.source == "system" and not version:
            from pyv.choose.discovery import describe

            seen = describe(found.executable, exact=True)
            version = str(seen.version) if seen is not None and seen.version else ""
        return found.executable, version, "path"
    shown = request_text or " or ".join(texts)
    where = "installed by pyv" if managed_only else "installed by pyv or on PATH"
    message = f"no Python matching {shown!r} is {where}"
    if request_text is None:
        raise NotFound(message, "run `pyv install` to install the selected versions")
    from pyv.acquire.catalog import best_download, load_catalog
    from pyv.core.errors import PyvError, shown_command
    from pyv.core.platform import current_host

    try:
        best_download(load_catalog(ctx.settings), parse_request(request_text), current_host(),
                      arch_variant=ctx.settings.arch_variant)
    except PyvError as exc:
        # Installing it cannot work either: say why instead of hinting a failing command.
        raise NotFound(f"{message}, and {exc.message}", exc.hint) from None
    raise NotFound(message, f"run {shown_command('pyv', 'install', request_text)}")


def _selected_requests(ctx: Context) -> list[str]:
    from pyv.choose.selection import pinned_requests

    return pinned_requests(ctx.settings, ctx.cwd, ctx.environ) or ["any"]


class DirCommand(Command):
    """Print the directory of the version store (or of shims, envs, cache)."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        which = parser.add_mutually_exclusive_group()
        for flag in ("home", "shims", "envs", "cache", "bin"):
            which.add_argument(
                f"--{flag}",
                dest="which",
                action="store_const",
                const=flag,
                help=f"print the {flag} directory",
            )

    def run(self, args: argparse.Namespace, ctx: Context) -> int:
        s = ctx.settings
        paths = {
            None: s.pythons_dir,
            "home": s.home,
            "shims": s.shims_dir,
            "bin": s.shims_dir,
            "envs": s.envs_dir,
            "cache": s.cache_dir,
        }
        ctx.out(str(paths[args.which]))
        return 0

"""`pyv install`, `pyv uninstall`, `pyv upgrade`."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from pathlib import Path

from pyv.cli.base import Command, Context, add_json_flag
from pyv.core.errors import NotFound, UsageError, shown_command
from pyv.core.settings import Settings

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pyv.acquire.installer import InstallOptions


def _arch_variant(value: str) -> str:
    """Accept ``x86_64_v3``, ``v3``, ``x86-64-v3``, ``auto`` or ``x86_64``."""
    text = value.strip().lower().replace("-", "_")
    if text in ("auto", ""):
        return text
    if text in ("x86_64", "v1", "x86_64_v1"):
        return ""
    for level in ("v2", "v3", "v4"):
        if text in (level, f"x86_64_{level}"):
            return level
    raise UsageError(
        f"unknown --arch {value!r}", "use x86_64, x86_64_v2, x86_64_v3, x86_64_v4 or auto"
    )


def _sha256_argument(value: str) -> str:
    text = value.strip().lower()
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise UsageError(f"--sha256 {value!r} is not a sha256 digest",
                         "give the 64 hexadecimal digits, e.g. from `sha256sum FILE`")
    return text


def _format_seconds(seconds: float) -> str:
    return f"{seconds * 1000:.0f}ms" if seconds < 1 else f"{seconds:.2f}s"


class InstallCommand(Command):
    """Download and install Python versions into the version store.

    With no REQUEST, installs the versions named by the nearest .python-version
    file, else the latest stable CPython. A REQUEST may also be the path of a
    python-build-standalone archive on disk (verify it with --sha256).
    """

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "requests",
            nargs="*",
            metavar="REQUEST",
            help="version request (3.12, 3.13t, pypy@3.10, …) or archive path",
        )
        parser.add_argument(
            "--reinstall", action="store_true", help="install again even if already installed"
        )
        parser.add_argument(
            "--arch",
            type=_arch_variant,
            default=None,
            help="x86-64 build level: x86_64 (baseline), x86_64_v2/v3/v4, or auto",
        )
        parser.add_argument(
            "--sha256", default=None, help="expected sha256 of a local archive file"
        )
        parser.add_argument(
            "--allow-missing-checksum",
            action="store_true",
            help="install a build that has no published checksum",
        )
        parser.add_argument(
            "--store", type=Path, default=None, help="install into this store instead of your own"
        )
        parser.add_argument(
            "--from-bundle",
            type=Path,
            default=None,
            metavar="FILE.tar",
            help="install from a bundle written by `pyv mirror --pack`",
        )
        compile_group = parser.add_mutually_exclusive_group()
        compile_group.add_argument(
            "--compile-bytecode",
            dest="compile_bytecode",
            action="store_true",
            default=None,
            help="precompile the standard library",
        )
        compile_group.add_argument(
            "--no-compile-bytecode",
            dest="compile_bytecode",
            action="store_false",
            help="do not precompile",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="print the build each request would install (key, URL, sha256); download nothing",
        )
        add_json_flag(parser)

    def settings_overrides(self, args: argparse.Namespace) -> dict[str, object]:
        return {"arch_variant": args.arch, "compile_bytecode": args.compile_bytecode}

    def run(self, args: argparse.Namespace, ctx: Context) -> int:
        from pyv.acquire.installer import InstallOptions, install, is_local_archive
        from pyv.choose.shims import ShimUpdates

        if args.sha256 is not None:
            args.sha256 = _sha256_argument(args.sha256)
            if not args.requests or not all(is_local_archive(r) for r in args.requests):
                raise UsageError(
                    "--sha256 verifies a local archive file, and no archive path was given",
                    "pass the archive's path (pyv install ./cpython-….tar.gz --sha256 HEX)",
                )
        requests = list(args.requests) or default_requests(ctx)
        missing_env = None if args.requests else missing_environment(ctx)
        if not requests:
            if missing_env is not None:
                raise missing_env
            ctx.info("Nothing to install: the pinned entries name no Python version")
            return 0
        options = InstallOptions(
            reinstall=args.reinstall,
            allow_missing_checksum=args.allow_missing_checksum,
            sha256=args.sha256,
            store=args.store.absolute() if args.store else None,
        )
        if args.dry_run:
            _dry_run(ctx, args, requests, options)
            if missing_env is not None:  # as the install: named after what it would install
                raise missing_env
            return 0
        with _bundle(ctx.settings, args.from_bundle) as settings:
            outcomes = install(settings, requests, shims=ShimUpdates(settings), options=options,
                               report=ctx.report, cwd=ctx.cwd)
        if args.json:
            ctx.emit_json([o.to_json() for o in outcomes])
        else:
            for outcome in outcomes:
                inst = outcome.installation
                if outcome.action == "already-installed":
                    ctx.info(f"Python {inst.version} is already installed ({inst.key})")
                else:
                    verb = "Reinstalled" if outcome.action == "reinstalled" else "Installed"
                    ctx.info(f"{verb} Python {inst.version} in "
                             f"{_format_seconds(outcome.seconds)}")
                    ctx.info(f" + {inst.key}")
        if missing_env is not None:  # the versions pinned beside it are installed first
            raise missing_env
        return 0


def _dry_run(ctx: Context, args: argparse.Namespace, requests: list[str],
             options: InstallOptions) -> None:
    from pyv.acquire.installer import dry_run

    with _bundle(ctx.settings, args.from_bundle) as settings:
        planned = dry_run(settings, requests, options=options, report=ctx.report,
                          cwd=ctx.cwd)
    if args.json:
        ctx.emit_json([p.to_json() for p in planned])
        return
    for p in planned:
        if p.action == "already-installed":
            ctx.out(f"{p.request}: {p.key} is already installed")
            continue
        verb = "would reinstall" if p.action == "reinstall" else "would install"
        checked = f"sha256 {p.sha256}" if p.sha256 else "no sha256 to verify"
        ctx.out(f"{p.request}: {verb} {p.key} from {p.url} ({checked})")


@contextlib.contextmanager
def _bundle(settings: Settings, bundle: Path | None) -> Iterator[Settings]:
    if bundle is None:
        yield settings
        return
    from pyv.acquire.mirror import bundle_settings

    with bundle_settings(settings, bundle.absolute()) as bundled:
        yield bundled


def default_requests(ctx: Context) -> list[str]:
    """What `pyv install` with no argument installs: the pinned versions, else the latest.

    Pins that name no download (a named environment, ``system``, a path) are skipped.
    """
    from pyv.choose.selection import pinned_requests
    from pyv.core.requests import parse_request

    pinned = pinned_requests(ctx.settings, ctx.cwd, ctx.environ, report=ctx.report)
    if not pinned:
        ctx.report.detail("nothing is pinned here: installing the latest CPython")
        return ["latest"]
    return [
        t for t in pinned if parse_request(t, allow_names=True).kind in ("any", "version", "key")
    ]


def missing_environment(ctx: Context) -> NotFound | None:
    """The error for a pinned named environment that does not exist (``pyv install`` makes
    Python versions, not environments), or None."""
    from pyv.choose.selection import select
    from pyv.core.locations import named_environments

    selection = select(ctx.settings, ctx.cwd, ctx.environ)
    if selection.origin.kind == "fallback":
        return None
    envs = {Path(p).name for p in named_environments(str(ctx.settings.envs_dir))}
    for entry in selection.entries:
        if entry.request.kind == "name" and entry.text not in envs:
            return NotFound(
                f"the environment {entry.text!r} (set by {entry.where}) does not exist, and "
                "`pyv install` installs Python versions, not environments",
                "create it with " + shown_command("pyv", "venv", "--name", entry.text))
    return None


class UninstallCommand(Command):
    """Remove installed Python versions (refused while environments use them)."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("requests", nargs="*", metavar="REQUEST")
        parser.add_argument("--all", action="store_true",
                            help="remove every version in the store (refused while used)")
        parser.add_argument(
            "--force", action="store_true", help="remove even if virtual environments use it"
        )
        parser.add_argument(
            "--store", type=Path, default=None, help="remove from this store instead of your own"
        )
        add_json_flag(parser)

    def run(self, args: argparse.Namespace, ctx: Context) -> int:
        from pyv.acquire.installer.removal import uninstall
        from pyv.choose.shims import ShimUpdates
        from pyv.venv.manage import environments_guard

        requests = list(args.requests)
        if args.all == bool(requests):
            raise UsageError("give versions to uninstall, or --all (not both)",
                             "see `pyv uninstall --help`")
        if args.all:
            from pyv.acquire.installer import InstallOptions, target_store

            store = target_store(ctx.settings, InstallOptions(
                store=args.store.absolute() if args.store else None))
            requests = [i.key for i in store.installations()]
            if not requests:
                ctx.info(f"Nothing to uninstall: no Python is installed in {store.root}")
                if args.json:
                    ctx.emit_json([])
                return 0
        removed = uninstall(
            ctx.settings,
            requests,
            shims=ShimUpdates(ctx.settings),
            in_use=environments_guard(ctx.settings),
            force=args.force,
            store_dir=args.store.absolute() if args.store else None,
        )
        if args.json:
            ctx.emit_json([i.to_json() for i in removed])
            return 0
        for inst in removed:
            ctx.info(f"Uninstalled Python {inst.version}")
            ctx.info(f" - {inst.key}")
        return 0


class UpgradeCommand(Command):
    """Install the newest patch of installed minor versions and re-point their minor links.

    Older patches stay until uninstalled; environments made from a minor
    request follow the minor link to the new patch.
    """

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "requests",
            nargs="*",
            metavar="REQUEST",
            help="only these installed versions (default: all)",
        )
        parser.add_argument("--dry-run", action="store_true",
                            help="list the newer patches available, install nothing "
                                 "(as `pyv outdated`)")
        add_json_flag(parser)

    def run(self, args: argparse.Namespace, ctx: Context) -> int:
        if args.dry_run:
            if args.requests:
                raise UsageError("--dry-run lists every installed minor; it takes no REQUEST",
                                 "run `pyv upgrade --dry-run` alone")
            from pyv.cli.commands.housekeeping import show_outdated

            return show_outdated(ctx, json=args.json)
        from pyv.acquire.installer import upgrade
        from pyv.choose.shims import ShimUpdates

        outcomes = upgrade(ctx.settings, args.requests, shims=ShimUpdates(ctx.settings),
                           report=ctx.report)
        if args.json:
            ctx.emit_json([o.to_json() for o in outcomes])
            return 0
        changed = [o for o in outcomes if o.action != "already-installed"]
        if not changed:
            ctx.info("Every installed minor version is at its newest patch")
        for outcome in changed:
            inst = outcome.installation
            ctx.info(f"Upgraded {inst.minor_key} to Python {inst.version}")
        return 0

"""`pyv du`, `pyv prune`, `pyv cache`, `pyv outdated`: disk housekeeping
(see pyv.upkeep.housekeeping)."""

from __future__ import annotations

import argparse

from pyv.cli.base import Command, Context, add_json_flag
from pyv.core.errors import ExitCode, shown_command


class DuCommand(Command):
    """Show the bytes and files (inodes) of each installation, environment and cache.

    Installations are those of your own store; environments are the named ones and
    the project environments pyv made. Hard-linked files count once.
    """

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_json_flag(parser)

    def run(self, args: argparse.Namespace, ctx: Context) -> int:
        from pyv.core.fsutil import human_size
        from pyv.upkeep.housekeeping import disk_report

        report = disk_report(ctx.settings)
        if args.json:
            ctx.emit_json(report.to_json())
            return 0
        for item in report.items:
            ctx.out(f"{human_size(item.usage.bytes):>10} {item.usage.files:>8} files  "
                    f"{item.kind:<12} {item.name}")
        total = report.total
        ctx.out(f"{human_size(total.bytes):>10} {total.files:>8} files  total")
        return 0


class PruneCommand(Command):
    """Remove patch versions a newer patch of the same minor superseded (`pyv upgrade`
    keeps them), unless an environment, a pin or a minor link uses them."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--dry-run", action="store_true",
                            help="show what would be removed and its size; remove nothing")
        add_json_flag(parser)

    def run(self, args: argparse.Namespace, ctx: Context) -> int:
        from pyv.core.fsutil import human_size
        from pyv.upkeep.housekeeping import prune_plan

        plan = prune_plan(ctx.settings)
        removed: list[str] = []
        if not args.dry_run and plan.removable:
            from pyv.acquire.installer.removal import uninstall
            from pyv.choose.shims import ShimUpdates
            from pyv.venv.manage import environments_guard

            # Uninstall removes them: its locks, its re-linking, its last check for users.
            gone = uninstall(ctx.settings, [c.installation.key for c in plan.removable],
                             shims=ShimUpdates(ctx.settings),
                             in_use=environments_guard(ctx.settings))
            removed = [i.key for i in gone]
        if args.json:
            ctx.emit_json({"dry_run": args.dry_run, "removed": removed,
                           "candidates": [c.to_json() for c in plan.candidates]})
        else:
            verb = "Would remove" if args.dry_run else "Removed"
            for cand in plan.removable:
                inst = cand.installation
                ctx.out(f"{verb} Python {inst.version} ({inst.key}): "
                        f"{human_size(cand.usage.bytes)}, {cand.usage.files} files")
            freed = sum(c.usage.bytes for c in plan.removable)
            if plan.removable:
                ctx.info(f"{'Would free' if args.dry_run else 'Freed'} {human_size(freed)}")
            elif not plan.in_use:
                ctx.info("Nothing to prune: no installed patch is superseded by a newer one")
        for cand in plan.in_use:
            inst = cand.installation
            ctx.report.line(f"error: kept Python {inst.version} ({inst.key}): used by "
                            f"{', '.join(cand.users)}; remove or re-pin those first, or "
                            f"{shown_command('pyv', 'uninstall', '--force', inst.key)}")
        return int(ExitCode.IN_USE) if plan.in_use else 0


class CacheCommand(Command):
    """Show or shrink the cache of downloaded archives and seed wheels.

    `dir` prints where it is; `prune` removes what no installed interpreter or
    current seed wheel needs (and unfinished downloads); `clean` removes it all.
    """

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("action", choices=("dir", "clean", "prune"))
        parser.add_argument("--dry-run", action="store_true",
                            help="show what would be removed; remove nothing")
        add_json_flag(parser)

    def run(self, args: argparse.Namespace, ctx: Context) -> int:
        from pyv.core.fsutil import human_size
        from pyv.upkeep.housekeeping import apply_cache_plan, cache_plan

        if args.action == "dir":
            if args.json:
                ctx.emit_json({"cache": str(ctx.settings.cache_dir)})
            else:
                ctx.out(str(ctx.settings.cache_dir))
            return 0
        plan = cache_plan(ctx.settings, everything=args.action == "clean")
        done = plan if args.dry_run else apply_cache_plan(ctx.settings, plan)
        if args.json:
            ctx.emit_json({"dry_run": args.dry_run, "removed": [e.to_json() for e in done.entries],
                           **{f"freed_{k}": v for k, v in done.total.to_json().items()}})
            return 0
        for entry in done.entries:
            ctx.info(f" - {entry.path.name} ({entry.reason}, {human_size(entry.usage.bytes)})")
        verb = "Would free" if args.dry_run else "Freed"
        ctx.out(f"{verb} {human_size(done.total.bytes)} ({done.total.files} files) "
                f"from {ctx.settings.cache_dir}")
        return 0


class OutdatedCommand(Command):
    """List the newer patch the catalog offers for each installed minor (installs nothing).

    `pyv upgrade` installs them; `pyv update` refreshes the catalog first.
    """

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_json_flag(parser)

    def run(self, args: argparse.Namespace, ctx: Context) -> int:
        return show_outdated(ctx, json=args.json)


def show_outdated(ctx: Context, *, json: bool) -> int:
    """`pyv outdated` and `pyv upgrade --dry-run`."""
    from pyv.upkeep.housekeeping import outdated

    found = outdated(ctx.settings)
    if json:
        ctx.emit_json([o.to_json() for o in found])
        return 0
    if not found:
        ctx.info("Every installed minor version is at its newest patch")
    for item in found:
        ctx.out(f"{item.minor}: {item.installed} -> {item.available}")
    return 0

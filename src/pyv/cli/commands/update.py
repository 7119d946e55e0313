"""`pyv update`: refresh the catalog of available builds (not pyv itself)."""

from __future__ import annotations

import argparse

from pyv.cli.base import Command, Context, add_json_flag


class UpdateCommand(Command):
    """Refresh the catalog of available Python builds from upstream.

    Reads python-build-standalone's latest release (PYV_LATEST_RELEASE_URL) and
    its SHA256SUMS, or the uv-schema JSON at PYV_DOWNLOADS_JSON when that is a
    URL. A failed refresh keeps the previous catalog. Upgrade pyv itself with
    the tool that installed it (pipx, uv tool, pip).
    """

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--status", action="store_true",
                            help="only show where the catalog comes from and how old it is")
        add_json_flag(parser)

    def run(self, args: argparse.Namespace, ctx: Context) -> int:
        from pyv.acquire.update import catalog_status, refresh_catalog

        if args.status:
            status = catalog_status(ctx.settings)
            if args.json:
                ctx.emit_json(status.to_json())
            else:
                ctx.out(status.describe())
            return 0
        result = refresh_catalog(ctx.settings)
        if args.json:
            ctx.emit_json(result.to_json())
            return 0
        ctx.out(result.message)
        if ctx.report.verbose and result.added:
            for key in result.added:
                ctx.info(f"  new: {key}")
        return 0

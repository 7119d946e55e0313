"""`pyv mirror`: download archives into an offline mirror, or pack them into a bundle."""

from __future__ import annotations

import argparse
import contextlib
import tempfile
from pathlib import Path

from pyv.cli.base import Command, Context, add_json_flag
from pyv.core.errors import UsageError


class MirrorCommand(Command):
    """Download verified archives into a mirror directory laid out like the release URLs.

      pyv mirror DIR REQ… [--platform KEY…]        fill (or top up) the mirror at DIR
      pyv mirror --pack FILE.tar REQ… [--dir DIR]  the same, written as one tar file

    DIR/download-metadata.json describes exactly what is there. Install from it with
    PYV_PYTHON_INSTALL_MIRROR=file://DIR PYV_DOWNLOADS_JSON=DIR/download-metadata.json
    (uv: UV_PYTHON_INSTALL_MIRROR, UV_PYTHON_DOWNLOADS_JSON_URL), or from a bundle
    with `pyv install --from-bundle FILE.tar REQ`. Re-running fetches only what is missing.
    """

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("args", nargs="*", metavar="DIR REQ",
                            help="the mirror directory, then the versions to mirror "
                                 "(with --pack: only the versions)")
        parser.add_argument("--platform", action="append", default=[], metavar="KEY",
                            help="os-arch-libc to mirror for, e.g. linux-x86_64-gnu, "
                                 "linux-aarch64-gnu, darwin-aarch64-none (repeatable; "
                                 "default: this host)")
        parser.add_argument("--pack", type=Path, default=None, metavar="FILE.tar",
                            help="write the mirror as one tar file (for `install --from-bundle`)")
        parser.add_argument("--dir", type=Path, default=None, metavar="DIR",
                            help="with --pack: the mirror directory to fill and pack "
                                 "(default: a temporary one)")
        add_json_flag(parser)

    def run(self, args: argparse.Namespace, ctx: Context) -> int:
        from pyv.acquire.mirror import MirrorResult, build_mirror, mirror_env, pack_mirror

        positional = list(args.args)
        root: Path | None
        if args.pack is None:
            if args.dir is not None:
                raise UsageError("--dir goes with --pack", "use `pyv mirror DIR REQ…`")
            if len(positional) < 2:
                raise UsageError("pyv mirror needs a directory and at least one version",
                                 "e.g. `pyv mirror ./mirror 3.12 3.13`")
            root, requests = Path(positional[0]), positional[1:]
        else:
            root, requests = (Path(args.dir) if args.dir is not None else None), positional
            if not requests and root is None:
                raise UsageError("nothing to pack", "name versions, or an existing mirror "
                                 "with --dir")
        with contextlib.ExitStack() as stack:
            if root is None:
                pack_parent = args.pack.absolute().parent
                root = Path(stack.enter_context(tempfile.TemporaryDirectory(
                    prefix=".pyv-mirror-", dir=pack_parent)))
            root = root.absolute()
            result = (build_mirror(ctx.settings, root, requests, args.platform,
                                   report=ctx.report)
                      if requests else MirrorResult(root, (), 0))
            packed = pack_mirror(root, args.pack) if args.pack is not None else None
        data = result.to_json()
        if packed is not None:
            data["bundle"] = str(packed)
        if args.json:
            ctx.emit_json(data)
            return 0
        for entry in result.entries:
            ctx.info(f"{entry.action:10} {entry.key}")
        if packed is not None:
            from pyv.core.errors import shown_command

            command = shown_command("pyv", "install", "--from-bundle", str(packed))
            ctx.out(f"wrote {packed}; install from it with {command[:-1]} REQ`")
            return 0
        fetched = sum(1 for e in result.entries if e.action == "downloaded")
        ctx.out(f"mirror {root}: {fetched} downloaded, {len(result.entries) - fetched} already "
                f"present, {result.total} in {root / 'download-metadata.json'}")
        env = mirror_env(root)
        ctx.out("install from it with:")
        ctx.out(f"  PYV_PYTHON_INSTALL_MIRROR={env['PYV_PYTHON_INSTALL_MIRROR']} "
                f"PYV_DOWNLOADS_JSON={env['PYV_DOWNLOADS_JSON']} pyv install REQ")
        ctx.out(f"  UV_PYTHON_INSTALL_MIRROR={env['UV_PYTHON_INSTALL_MIRROR']} "
                f"UV_PYTHON_DOWNLOADS_JSON_URL={env['UV_PYTHON_DOWNLOADS_JSON_URL']} "
                "uv python install REQ")
        return 0

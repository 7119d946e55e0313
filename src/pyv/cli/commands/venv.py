"""`pyv venv`, `pyv envs`, `pyv activate`, `pyv deactivate`."""

from __future__ import annotations

import argparse

from pyv.cli.base import Command, Context, add_json_flag, needs_integration
from pyv.core.errors import NotFound


class VenvCommand(Command):
    """Create a virtual environment.

    PATH defaults to ./.venv; --name NAME makes a named environment in
    $PYV_HOME/envs that `pyv activate NAME`, .python-version and `pyv shell`
    can use. The interpreter comes from --python, else this directory's
    selection (.python-version …), else the newest installed.
    """

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("path", nargs="?", metavar="PATH",
                            help="where to create it (default: ./.venv)")
        parser.add_argument("-n", "--name", default=None,
                            help="create a named environment in $PYV_HOME/envs instead")
        parser.add_argument("-p", "--python", default=None, metavar="REQUEST",
                            help="interpreter: a version (3.12), a path, or `system`")
        parser.add_argument("--seed", action="store_true",
                            help="install pip (plus setuptools and wheel below Python 3.12)")
        parser.add_argument("--prompt", default=None,
                            help="prompt prefix shown while active (default: directory name)")
        parser.add_argument("--system-site-packages", action="store_true",
                            help="give the environment access to the base site-packages")
        parser.add_argument("--clear", action="store_true",
                            help="replace an existing environment at the target")
        add_json_flag(parser)

    def run(self, args: argparse.Namespace, ctx: Context) -> int:
        from pyv.venv.manage import make_environment

        env = make_environment(
            ctx.settings, ctx.cwd, path=args.path, name=args.name, python=args.python,
            prompt=args.prompt, seed=args.seed, system_site_packages=args.system_site_packages,
            clear=args.clear, report=ctx.report,
        )
        if args.json:
            ctx.emit_json(env.to_json())
            return 0
        from pyv.venv.layout import report_lines

        base = env.base
        for line in report_lines(
            str(env.path), str(ctx.cwd), implementation=base.implementation,
            freethreaded=base.freethreaded, version=base.version, executable=str(base.executable),
            follows_minor=base.follows_minor, seeded=env.seeded, name=env.name,
        ):
            ctx.info(line)
        return 0


class EnvsCommand(Command):
    """List and manage named environments.

      pyv envs                 list them (name, version, interpreter, size, path)
      pyv envs remove NAME     delete one
      pyv envs path NAME       print its directory
    """

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_json_flag(parser)
        sub = parser.add_subparsers(dest="action", metavar="ACTION")
        listing = sub.add_parser("list", help="list named environments")
        add_json_flag(listing)
        remove = sub.add_parser("remove", aliases=["rm"], help="delete a named environment")
        remove.add_argument("names", nargs="+", metavar="NAME")
        path = sub.add_parser("path", help="print the directory of a named environment")
        path.add_argument("env_name", metavar="NAME")

    def run(self, args: argparse.Namespace, ctx: Context) -> int:
        from pyv.venv.manage import list_named, named_path, remove_named

        action = args.action or "list"
        if action in ("remove", "rm"):
            for name in args.names:
                path = remove_named(ctx.settings, name)
                ctx.info(f"Removed {name} ({path})")
            return 0
        if action == "path":
            ctx.out(str(named_path(ctx.settings, args.env_name)))
            return 0
        envs = list_named(ctx.settings)
        if getattr(args, "json", False):
            ctx.emit_json([e.to_json() for e in envs])
            return 0
        if not envs:
            ctx.info("No named environments; create one with `pyv venv --name NAME`")
            return 0
        from pyv.core.fsutil import human_size

        rows = [(e.name, e.version + ("" if not e.broken else " (broken)"), e.interpreter,
                 human_size(e.size), str(e.path)) for e in envs]
        header = ("NAME", "VERSION", "INTERPRETER", "SIZE", "PATH")
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
        for row in [header, *rows]:
            ctx.out("  ".join(row[i].ljust(widths[i]) for i in range(4)) + "  " + row[4])
        return 0


def _add_eval(parser: argparse.ArgumentParser) -> None:
    # Used by the shell integration (`pyv init`): print only the code to eval.
    parser.add_argument("--eval", dest="eval_shell", default=None, metavar="SHELL",
                        help=argparse.SUPPRESS)


class ActivateCommand(Command):
    """Activate a named or project environment in the current shell.

    With the shell integration (each shell's line: `pyv init --help`), `pyv activate
    NAME` changes the current shell. Without it, this prints the line to run and exits 1.
    With no argument, activates .venv in this directory or the nearest parent.
    """

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("target", nargs="?", metavar="NAME|PATH",
                            help="a named environment or the path of one (default: .venv)")
        _add_eval(parser)

    def run(self, args: argparse.Namespace, ctx: Context) -> int:
        from pyv.venv.activation import activation_line, detect_shell, find_environment

        env = find_environment(ctx.settings.envs_dir, ctx.cwd, args.target)
        shell = args.eval_shell or detect_shell(ctx.environ)
        line = activation_line(shell, env)
        ctx.out(line)
        if args.eval_shell is None:
            return needs_integration(ctx, "activate", shell)
        return 0


class DeactivateCommand(Command):
    """Deactivate the active environment (through the shell integration)."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        _add_eval(parser)

    def run(self, args: argparse.Namespace, ctx: Context) -> int:
        from pyv.venv.activation import deactivation_line, detect_shell

        if not ctx.environ.get("VIRTUAL_ENV"):
            raise NotFound("no environment is active", "activate one with `pyv activate`")
        shell = args.eval_shell or detect_shell(ctx.environ)
        ctx.out(deactivation_line(shell))
        if args.eval_shell is None:
            return needs_integration(ctx, "deactivate", shell)
        return 0

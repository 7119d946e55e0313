"""`pyv completion SHELL`."""

from __future__ import annotations

import argparse

from pyv.cli.base import Command, Context


class CompletionCommand(Command):
    """Print the completion script for a shell.

      bash:  eval "$(pyv completion bash)"      in ~/.bashrc
      zsh:   eval "$(pyv completion zsh)"       in ~/.zshrc, after compinit
      fish:  pyv completion fish | source       in ~/.config/fish/config.fish
    """

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from pyv.cli.completion import SHELLS

        parser.add_argument("shell", choices=SHELLS, metavar="SHELL",
                            help=f"one of: {', '.join(SHELLS)}")

    def run(self, args: argparse.Namespace, ctx: Context) -> int:
        from pyv.cli.completion import script

        ctx.stdout.write(script(args.shell))
        return 0

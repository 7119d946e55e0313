"""`pyv doctor`: check the installation and the host, and say how to fix what is wrong."""

from __future__ import annotations

import argparse

from pyv.cli.base import Command, Context, add_json_flag
from pyv.core.errors import ExitCode

_LABELS = {"ok": "ok     ", "info": "info   ", "warning": "warning", "error": "error  "}


class DoctorCommand(Command):
    """Check PATH and shell integration, libc, CA bundle, terminfo, disk space,
    store permissions and locks, leftovers of interrupted operations, and the
    catalog's age. Each problem comes with its fix.

    Exit status: 0 when every check is ok (or merely informational), 1 when any
    check reports a warning or an error.
    """

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--fix", action="store_true",
                            help="remove leftovers of interrupted operations "
                                 "(under the store lock)")
        add_json_flag(parser)

    def run(self, args: argparse.Namespace, ctx: Context) -> int:
        from pyv.core.shells import parent_process_name
        from pyv.upkeep.doctor import DoctorInputs, run_doctor

        inputs = DoctorInputs(environ=ctx.environ, shell_function=ctx.shell_function,
                              parent_shell=parent_process_name())
        report = run_doctor(ctx.settings, inputs, fix=args.fix)
        if args.json:
            ctx.emit_json(report.to_json())
        else:
            for path in report.fixed:
                ctx.out(f"removed {path}")
            for finding in report.findings:
                if finding.level in ("ok", "info") and ctx.report.quiet:
                    continue
                ctx.out(f"{_LABELS.get(finding.level, finding.level)} {finding.check}: "
                        f"{finding.message}")
                if finding.fix and finding.level != "ok":
                    ctx.out(f"         fix: {finding.fix}")
                if ctx.report.verbose:
                    for path in finding.paths:
                        ctx.out(f"         {path}")
            errors, warnings = report.count("error"), report.count("warning")
            if report.healthy:
                ctx.out("no problems found")
            else:
                ctx.out(f"{errors} error(s), {warnings} warning(s)")
        return int(ExitCode.OK if report.healthy else ExitCode.FAILURE)

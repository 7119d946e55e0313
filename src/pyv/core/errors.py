"""The one user-facing error type and the documented exit codes.

Every failure a user can cause or meet is raised as :class:`PyvError` (or a
subclass) somewhere in the domain code; the CLI turns it into one line on
stderr and its exit code. Anything else escaping is a bug and is reported as
such (exit 70) — still without a traceback unless ``PYV_DEBUG=1``.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Exit codes; keep ``docs/exit-codes.md`` in step with this table."""

    OK = 0
    FAILURE = 1  # generic failure (e.g. a smoke test or a command it ran failed)
    USAGE = 2  # bad command line or invalid request syntax
    NOT_FOUND = 3  # no build matches / not installed / no such environment
    NETWORK = 4  # network unreachable, HTTP error, offline mode forbids it
    INTEGRITY = 5  # checksum mismatch or missing checksum
    LOCKED = 6  # another pyv process holds the lock past the timeout
    FILESYSTEM = 7  # disk full, permission denied, read-only store
    BAD_ARCHIVE = 8  # corrupt or hostile archive, unsupported format
    PLATFORM = 9  # build incompatible with this host (glibc floor, CPU level)
    CONFIG = 10  # bad config file or setting value
    IN_USE = 11  # refused because something depends on it (envs on uninstall)
    INTERNAL = 70  # a bug in pyv
    SHIM_NOT_INSTALLED = 127  # a shim's selected version is not installed
    INTERRUPTED = 130  # Ctrl-C


class PyvError(Exception):
    """An error meant for the user: one line of what happened, one hint of what to do."""

    exit_code: ExitCode = ExitCode.FAILURE

    def __init__(self, message: str, hint: str | None = None, *, exit_code: ExitCode | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code

    def render(self) -> str:
        """The single line printed to stderr."""
        text = self.message.rstrip(".")
        if self.hint:
            return f"error: {text}; {self.hint}"
        return f"error: {text}"


def shown_command(*argv: str) -> str:
    """A command line for a message, in backticks, quoted so that pasting it runs it as shown.

    POSIX quoting: what bash, zsh and sh read, and fish and tcsh too for these arguments
    (single quotes, no newlines).
    """
    import shlex

    return f"`{shlex.join(argv)}`"


class UsageError(PyvError):
    exit_code = ExitCode.USAGE


class InvalidRequest(UsageError):
    """A request string that does not parse."""


class NotFound(PyvError):
    exit_code = ExitCode.NOT_FOUND


class NetworkError(PyvError):
    exit_code = ExitCode.NETWORK


class IntegrityError(PyvError):
    exit_code = ExitCode.INTEGRITY


class LockTimeout(PyvError):
    exit_code = ExitCode.LOCKED


class FilesystemError(PyvError):
    exit_code = ExitCode.FILESYSTEM


class ArchiveError(PyvError):
    exit_code = ExitCode.BAD_ARCHIVE


class PlatformError(PyvError):
    exit_code = ExitCode.PLATFORM


class ConfigError(PyvError):
    exit_code = ExitCode.CONFIG


class InUse(PyvError):
    exit_code = ExitCode.IN_USE


#: Characters of a path that an error line shows (a path may be thousands long).
_SHOWN_PATH = 120


def _shown(filename: object) -> str:
    text = str(filename)
    if len(text) <= _SHOWN_PATH:
        return text
    return f"{text[:_SHOWN_PATH]}... ({len(text)} characters)"


def from_os_error(exc: OSError, action: str | None = None) -> PyvError:
    """Translate an OSError met while doing ``action`` into a user-facing error.

    Without ``action`` (the CLI's last resort, which does not know what was being
    done) the line names the path the system refused.
    """
    import errno

    target = f" ({_shown(exc.filename)})" if exc.filename else ""
    where = f" while {action}{target}" if action else target
    if exc.errno == errno.ENOSPC:
        return FilesystemError(
            f"no space left on device{where}",
            "free some space (or set PYV_HOME to a larger disk) and run the command again",
        )
    if exc.errno == errno.EDQUOT:
        return FilesystemError(
            f"disk quota exceeded{where}",
            "free some space (or set PYV_HOME to a disk with more quota) and run the command again",
        )
    if exc.errno in (errno.EACCES, errno.EPERM):
        return FilesystemError(
            f"permission denied{where}",
            "check the permissions of that path, or set PYV_HOME to a directory you own",
        )
    if exc.errno == errno.EROFS:
        return FilesystemError(
            f"read-only file system{where}",
            "set PYV_HOME (or --store) to a writable directory",
        )
    if exc.errno == errno.ENAMETOOLONG:
        return FilesystemError(
            f"file name too long{where}", "use a shorter name or path"
        )
    if exc.errno == errno.ELOOP:
        return FilesystemError(
            f"too many levels of symbolic links{where}", "fix or remove the symbolic link loop"
        )
    return FilesystemError(f"{exc.strerror or exc}{where}")


def user_os_error(exc: OSError) -> PyvError | None:
    """The one-line error for an OSError that the user's input or system caused, if it is one.

    A name too long, a permission, a full or read-only disk: the user can act on these
    whichever code met them. Any other OSError escaping a command is a bug (``None``).
    """
    import errno

    user_caused = (errno.ENAMETOOLONG, errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT,
                   errno.EROFS, errno.ELOOP)
    return from_os_error(exc) if exc.errno in user_caused else None

"""Host platform detection: operating system, CPU, libc and x86-64 level.

Names follow python-build-standalone / uv keys: os ``linux``/``darwin``/``windows``,
arch ``x86_64``/``aarch64``/``armv7``/``i686``/``powerpc64le``/``s390x``/``riscv64``,
libc ``gnu``/``gnueabihf``/``gnueabi``/``musl``/``none``.

The libc is read from the ELF interpreter (dynamic loader) named by a system
binary, and the glibc version from the loader itself, so no heavy import and no
subprocess is needed on Linux.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pyv.core.errors import PlatformError
from pyv.core.records import record

TYPE_CHECKING = False  # not typing's: see pyv.cli.main
if TYPE_CHECKING:
    from collections.abc import Iterable

_ARCH_ALIASES = {
    "x86_64": "x86_64",
    "amd64": "x86_64",
    "x64": "x86_64",
    "aarch64": "aarch64",
    "arm64": "aarch64",
    "armv7l": "armv7",
    "armv7": "armv7",
    "armv8l": "armv7",
    "i386": "i686",
    "i486": "i686",
    "i586": "i686",
    "i686": "i686",
    "x86": "i686",
    "ppc64le": "powerpc64le",
    "powerpc64le": "powerpc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
    "loongarch64": "loongarch64",
}

#: Every architecture pyv knows by name (the canonical spellings).
KNOWN_ARCHS = frozenset(_ARCH_ALIASES.values())

#: CPU flags (as in /proc/cpuinfo) each x86-64 microarchitecture level requires,
#: cumulative with the levels below it (x86-64 psABI).
X86_64_LEVEL_FLAGS: dict[int, frozenset[str]] = {
    2: frozenset({"cx16", "lahf_lm", "popcnt", "pni", "sse4_1", "sse4_2", "ssse3"}),
    3: frozenset({"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"}),
    4: frozenset({"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"}),
}

#: Lowest glibc each python-build-standalone gnu build needs, by arch (default 2.17).
GLIBC_FLOORS: dict[str, tuple[int, int]] = {"riscv64": (2, 28)}
DEFAULT_GLIBC_FLOOR = (2, 17)

# Patterns, not compiled expressions: only host detection needs them, once per process.
_GLIBC_PATTERN = (
    rb"(?:GNU C Library|GNU libc)[^\n\x00]*?(?:version|release version) (\d+)\.(\d+)"
)
_GLIBC_SONAME_PATTERN = rb"GLIBC_(\d+)\.(\d+)"


@record(frozen=True)
class Host:
    """What this machine can run."""

    os: str
    arch: str
    libc: str
    glibc: tuple[int, int] | None = None
    #: x86-64 microarchitecture level 1..4 (None off x86-64).
    x86_64_level: int | None = None

    @property
    def key(self) -> str:
        """The ``os-arch-libc`` part of a download key for the baseline build."""
        return f"{self.os}-{self.arch}-{self.libc}"

    def describe(self) -> str:
        extra = ""
        if self.glibc:
            extra += f", glibc {self.glibc[0]}.{self.glibc[1]}"
        if self.x86_64_level:
            extra += f", x86-64-v{self.x86_64_level}"
        return f"{self.os}-{self.arch}-{self.libc}{extra}"


def normalize_arch(machine: str) -> str:
    return _ARCH_ALIASES.get(machine.lower(), machine.lower())


def elf_interpreter(path: Path) -> str | None:
    """Return the PT_INTERP (dynamic loader path) of an ELF file, or None."""
    import struct

    try:
        with open(path, "rb") as fh:
            ident = fh.read(64)
            if len(ident) < 52 or ident[:4] != b"\x7fELF":
                return None
            is64 = ident[4] == 2
            endian = "<" if ident[5] == 1 else ">"
            if is64:
                phoff = struct.unpack_from(endian + "Q", ident, 32)[0]
                phentsize, phnum = struct.unpack_from(endian + "HH", ident, 54)
            else:
                phoff = struct.unpack_from(endian + "I", ident, 28)[0]
                phentsize, phnum = struct.unpack_from(endian + "HH", ident, 42)
            if phnum > 512 or phentsize < (56 if is64 else 32):
                return None
            fh.seek(phoff)
            table = fh.read(phentsize * phnum)
            for i in range(phnum):
                base = i * phentsize
                if len(table) < base + phentsize:
                    return None
                p_type = struct.unpack_from(endian + "I", table, base)[0]
                if p_type != 3:  # PT_INTERP
                    continue
                if is64:
                    offset, _, _, filesz = struct.unpack_from(endian + "QQQQ", table, base + 8)
                else:
                    offset, _, _, filesz = struct.unpack_from(endian + "IIII", table, base + 4)
                if filesz > 4096:
                    return None
                fh.seek(offset)
                return fh.read(filesz).rstrip(b"\x00").decode("utf-8", "replace")
    except OSError:
        return None
    return None


def glibc_version_of_loader(loader: Path) -> tuple[int, int] | None:
    """Read the glibc version from the loader or a libc.so.6 beside it.

    The release banner (``GNU C Library ... release version 2.36``) wins: a loader
    often lacks it, and its newest symbol version (``GLIBC_2.35``) may be older than
    the release. The loader's own directories (its symlink resolved, as on Debian)
    come before the system's usual ones.
    """
    try:
        resolved = loader.resolve().parent
    except (OSError, RuntimeError):
        resolved = loader.parent
    near = [loader, *(d / "libc.so.6" for d in (resolved, loader.parent,
                                                  loader.parent / "x86_64-linux-gnu"))]
    far = [Path("/lib64/libc.so.6"), Path("/usr/lib64/libc.so.6")]
    for candidates in (near, far):
        found = _glibc_in_files(dict.fromkeys(candidates))
        if found is not None:
            return found
    return None


def _glibc_in_files(paths: Iterable[Path]) -> tuple[int, int] | None:
    """The release banner's version in any of ``paths``, else their newest symbol version."""
    import re

    versions: list[tuple[int, int]] = []
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        match = re.search(_GLIBC_PATTERN, data)
        if match:
            return int(match.group(1)), int(match.group(2))
        versions += [(int(a), int(b)) for a, b in re.findall(_GLIBC_SONAME_PATTERN, data)]
    return max(versions, default=None)


def _own_glibc(loader: str) -> tuple[int, int] | None:
    """The glibc this process runs on, if ``loader`` is its loader too: no file to read."""
    if elf_interpreter(Path(sys.executable)) != loader:
        return None
    return _confstr_glibc()


def detect_libc(
    arch: str, probe_binaries: tuple[Path, ...] = (Path("/bin/sh"), Path(sys.executable))
) -> tuple[str, tuple[int, int] | None]:
    """Detect (libc, glibc version) on Linux from the dynamic loader of a system binary."""
    for binary in probe_binaries:
        interp = elf_interpreter(binary)
        if not interp:
            continue
        name = os.path.basename(interp)
        if "musl" in name:
            return "musl", None
        version = _own_glibc(interp) or glibc_version_of_loader(Path(interp))
        if version is None:
            # The loader may be a relative path inside a chroot we cannot read; ask libc.
            version = _confstr_glibc()
        return _gnu_flavour(arch, name), version
    version = _confstr_glibc()
    if version is not None:
        return _gnu_flavour(arch, ""), version
    return "musl", None


def _gnu_flavour(arch: str, loader_name: str) -> str:
    if arch == "armv7":
        return (
            "gnueabihf" if "armhf" in loader_name or "ld-linux-armhf" in loader_name else "gnueabi"
        )
    return "gnu"


def _confstr_glibc() -> tuple[int, int] | None:
    try:
        text = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (AttributeError, ValueError, OSError):
        return None
    name, _, version = text.partition(" ")  # "glibc 2.35"
    major, _, minor = version.partition(".")
    minor = minor[: len(minor) - len(minor.lstrip("0123456789"))]
    if name != "glibc" or not major.isdigit() or not minor:
        return None
    return int(major), int(minor)


def x86_64_level_from_flags(flags: set[str] | frozenset[str]) -> int:
    level = 1
    for candidate in (2, 3, 4):
        if X86_64_LEVEL_FLAGS[candidate] <= flags:
            level = candidate
        else:
            break
    return level


def read_cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key.strip() in ("flags", "Features"):
                    return frozenset(value.split())
    except OSError:
        pass
    return frozenset()


def _darwin_cpu_flags() -> frozenset[str]:
    import subprocess

    try:
        out = subprocess.run(
            ["sysctl", "-n", "machdep.cpu.features", "machdep.cpu.leaf7_features"],
            capture_output=True,
            text=True,
            check=False,
            timeout=5,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return frozenset()
    # sysctl spells them in upper case and a few differently from Linux.
    rename = {"sse3": "pni", "sse4.1": "sse4_1", "sse4.2": "sse4_2", "lzcnt": "abm", "bmi1": "bmi1"}
    flags = {rename.get(f.lower(), f.lower()) for f in out.split()}
    if "lahf" in flags:
        flags.add("lahf_lm")
    if "cx16" not in flags and "cmpxchg16b" in flags:
        flags.add("cx16")
    return frozenset(flags)


def detect_host(
    *,
    system: str | None = None,
    machine: str | None = None,
    probe_binaries: tuple[Path, ...] | None = None,
    cpuinfo: Path = Path("/proc/cpuinfo"),
) -> Host:
    """Detect the running host. Arguments exist so tests can fake every input."""
    sysname = (system or sys.platform).lower()
    if sysname.startswith("linux"):
        os_name = "linux"
    elif sysname.startswith("darwin"):
        os_name = "darwin"
    elif sysname.startswith(("win", "cygwin", "msys")):
        os_name = "windows"
    else:
        os_name = sysname
    arch = normalize_arch(machine or _machine())
    glibc: tuple[int, int] | None = None
    if os_name == "linux":
        libc, glibc = detect_libc(arch, probe_binaries) if probe_binaries else detect_libc(arch)
    else:
        libc = "none"
    level: int | None = None
    if arch == "x86_64":
        flags = read_cpu_flags(cpuinfo) if os_name == "linux" else _darwin_cpu_flags()
        level = x86_64_level_from_flags(flags) if flags else 1
    return Host(os=os_name, arch=arch, libc=libc, glibc=glibc, x86_64_level=level)


def _machine() -> str:
    """``platform.machine()`` without importing platform (and re) where ``uname`` answers."""
    if hasattr(os, "uname"):
        return os.uname().machine
    import platform

    return platform.machine()


_HOST_CACHE: list[Host] = []


def current_host() -> Host:
    """The detected host, computed once per process."""
    if not _HOST_CACHE:
        _HOST_CACHE.append(detect_host())
    return _HOST_CACHE[0]


def glibc_floor(arch: str) -> tuple[int, int]:
    return GLIBC_FLOORS.get(arch, DEFAULT_GLIBC_FLOOR)


def check_runs_on(
    host: Host, *, os: str, arch: str, libc: str, arch_variant: str | None, what: str
) -> None:
    """Raise :class:`PlatformError` if a build for (os, arch, libc, variant) cannot run here."""
    if os != host.os or arch != host.arch:
        raise PlatformError(
            f"{what} is built for {os}-{arch}, this host is {host.os}-{host.arch}",
            "ask for a build of this platform (see `pyv list`)",
        )
    if libc == "musl" and host.libc != "musl":
        raise PlatformError(
            f"{what} is a musl build and this host uses {host.libc}",
            "ask for the gnu build instead",
        )
    if libc.startswith("gnu"):
        if host.libc == "musl":
            raise PlatformError(
                f"{what} needs glibc and this host uses musl", "ask for the musl build instead"
            )
        floor = glibc_floor(arch)
        if host.glibc is not None and host.glibc < floor:
            raise PlatformError(
                f"{what} needs glibc {floor[0]}.{floor[1]} or newer, this host has "
                f"{host.glibc[0]}.{host.glibc[1]}",
                "use a newer system, a container, or build Python from source",
            )
    if arch_variant:
        wanted = int(arch_variant.lstrip("v"))
        have = host.x86_64_level or 1
        if wanted > have:
            raise PlatformError(
                f"{what} needs an x86-64-{arch_variant} CPU, this CPU is x86-64-v{have}",
                f"drop --arch {arch_variant} (or ask for at most v{have})",
            )

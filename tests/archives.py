"""Build interpreter archives at test time.

Two kinds: small synthetic python-build-standalone-shaped archives for logic,
and one real interpreter packed from the running Python's ``sys.base_prefix``
for end-to-end installs, shims and venvs. Plus a uv-schema catalog describing
whatever archives a test serves.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import sysconfig
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

#: The upstream prefix the catalog URLs carry; tests replace it with a mirror.
PBS_PREFIX = "https://github.com/astral-sh/python-build-standalone/releases/download"
HOST_TRIPLE = "x86_64-unknown-linux-gnu"

REAL_VERSION = tuple(sys.version_info[:3])
REAL_MINOR = f"{sys.version_info[0]}.{sys.version_info[1]}"

_SKIP_LIB_DIRS = {
    "test",
    "idlelib",
    "tkinter",
    "turtledemo",
    "lib2to3",
    "__pycache__",
    "tests",
    "unittest/test",
}
_BIN_PREFIXES = ("python", "pip", "idle", "pydoc", "2to3")


@dataclass(frozen=True)
class BuiltArchive:
    """An archive on disk and the catalog facts about it."""

    path: Path
    sha256: str
    version: tuple[int, int, int]
    build: str
    prerelease: str = ""
    variant: str | None = None
    arch: str = "x86_64"
    arch_variant: str | None = None
    os: str = "linux"
    libc: str = "gnu"
    implementation: str = "cpython"

    @property
    def url(self) -> str:
        return f"{PBS_PREFIX}/{self.build}/{self.path.name.replace('+', '%2B')}"

    @property
    def key(self) -> str:
        v = ".".join(map(str, self.version)) + self.prerelease
        if self.variant:
            v += f"+{self.variant}"
        arch = self.arch + (f"_{self.arch_variant}" if self.arch_variant else "")
        return f"{self.implementation}-{v}-{self.os}-{arch}-{self.libc}"

    def catalog_entry(self) -> dict[str, object]:
        major, minor, patch = self.version
        return {
            "name": self.implementation,
            "arch": {"family": self.arch, "variant": self.arch_variant},
            "os": self.os,
            "libc": self.libc,
            "major": major,
            "minor": minor,
            "patch": patch,
            "prerelease": self.prerelease,
            "url": self.url,
            "sha256": self.sha256,
            "variant": self.variant,
            "build": self.build,
        }


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def pbs_filename(
    version: tuple[int, int, int],
    build: str,
    *,
    prerelease: str = "",
    variant: str | None = None,
    flavor: str = "install_only_stripped",
    ext: str = "tar.gz",
) -> str:
    v = ".".join(map(str, version)) + prerelease
    var = f"-{variant}" if variant else ""
    return f"cpython-{v}+{build}-{HOST_TRIPLE}{var}-{flavor}.{ext}"


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = 1_700_000_000
    tar.addfile(info, io.BytesIO(data))


def _add_dir(tar: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    tar.addfile(info)


def _add_symlink(tar: tarfile.TarFile, name: str, target: str) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    tar.addfile(info)


def synthetic_interpreter_script(version: tuple[int, int, int], *, prefix_note: str = "") -> bytes:
    """A tiny sh 'interpreter' that answers the smoke test and prints its version."""
    v = ".".join(map(str, version))
    return (
        "#!/bin/sh\n"
        "# synthetic python for pyv tests\n"
        f'if [ "$1" = "--version" ] || [ "$1" = "-V" ]; then echo "Python {v}"; exit 0; fi\n'
        f'echo "synthetic-python {v} $*"\n'
        "exit 0\n"
    ).encode()


def build_synthetic_archive(
    directory: Path,
    version: tuple[int, int, int],
    *,
    build: str = "20250101",
    prerelease: str = "",
    variant: str | None = None,
    root: str = "python",
    extra_members: Iterable[tuple[str, bytes]] = (),
    broken_python: bool = False,
) -> BuiltArchive:
    """A small PBS-shaped ``install_only`` tar.gz whose ``bin/python3`` is a shell script.

    ``broken_python`` makes the interpreter fail its smoke test.
    """
    directory.mkdir(parents=True, exist_ok=True)
    name = pbs_filename(version, build, prerelease=prerelease, variant=variant)
    path = directory / name
    major, minor, _ = version
    t = "t" if variant and "freethreaded" in variant else ""
    script = b"#!/bin/sh\nexit 3\n" if broken_python else synthetic_interpreter_script(version)
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        for d in (
            "",
            "/bin",
            "/lib",
            f"/lib/python{major}.{minor}{t}",
            f"/lib/python{major}.{minor}{t}/site-packages",
        ):
            _add_dir(tar, root + d)
        _add_bytes(tar, f"{root}/bin/python{major}.{minor}{t}", script, 0o755)
        _add_symlink(tar, f"{root}/bin/python{major}{t}", f"python{major}.{minor}{t}")
        _add_symlink(tar, f"{root}/bin/python{t}", f"python{major}.{minor}{t}")
        _add_bytes(
            tar, f"{root}/bin/pip{major}.{minor}{t}", b"#!/bin/sh\necho synthetic-pip\n", 0o755
        )
        _add_symlink(tar, f"{root}/bin/pip{major}{t}", f"pip{major}.{minor}{t}")
        _add_bytes(tar, f"{root}/lib/python{major}.{minor}{t}/os.py", b"# marker\n")
        for member, data in extra_members:
            _add_bytes(tar, member, data)
    return BuiltArchive(
        path=path,
        sha256=sha256_of(path),
        version=version,
        build=build,
        prerelease=prerelease,
        variant=variant,
    )


def synthetic_set(directory: Path) -> dict[str, BuiltArchive]:
    """Two patches of 3.12 (builds apart) and a 3.11: what install, upgrade and prune
    tests choose among, keyed by version."""
    return {
        "3.12.3": build_synthetic_archive(directory, (3, 12, 3), build="20240401"),
        "3.12.4": build_synthetic_archive(directory, (3, 12, 4), build="20240713"),
        "3.11.9": build_synthetic_archive(directory, (3, 11, 9), build="20240713"),
    }


def build_real_archive(directory: Path, *, build: str = "20991231") -> BuiltArchive:
    """Pack the running interpreter's ``sys.base_prefix`` as a PBS install_only archive.

    Site-packages, the test suite and static libraries are left out to keep it
    small; everything the interpreter needs to start, ``ssl``, ``sqlite3``,
    ``zlib`` and ``ensurepip`` stay.
    """
    directory.mkdir(parents=True, exist_ok=True)
    name = pbs_filename(REAL_VERSION, build)  # type: ignore[arg-type]
    path = directory / name
    base = Path(sys.base_prefix)
    tmp = path.with_suffix(".partial")
    with tarfile.open(tmp, "w:gz", compresslevel=1) as tar:
        for top in ("bin", "lib", "include", "share"):
            src = base / top
            if src.is_dir():
                _pack_tree(tar, base, src)
    os.replace(tmp, path)
    return BuiltArchive(path=path, sha256=sha256_of(path), version=REAL_VERSION, build=build)  # type: ignore[arg-type]


#: pip's console script as python-build-standalone ships it: a sh/python polyglot that
#: finds the interpreter next to itself, so the installation stays relocatable.
_PIP_TRAMPOLINE = r"""#!/bin/sh
'''exec' "$(dirname -- "$(realpath -- "$0")")"/'python{minor}' "$0" "$@"
' '''
import re
import sys
from pip._internal.cli.main import main
if __name__ == "__main__":
    sys.argv[0] = re.sub(r"(-script\.pyw|\.exe)?$", "", sys.argv[0])
    sys.exit(main())
"""


def _pack_tree(tar: tarfile.TarFile, base: Path, top: Path) -> None:
    """Add ``top`` as python-build-standalone lays it out: stdlib, pip, relocatable scripts.

    Of site-packages only pip is kept (PBS ships it; the rest of this machine's
    site-packages is large and irrelevant); console scripts other than pip's are
    left out because their shebangs name the original prefix.
    """
    lib_rel = f"lib/python{REAL_MINOR}"
    site = f"{lib_rel}/site-packages"
    for root, dirs, files in os.walk(top):
        rel_root = os.path.relpath(root, base)
        if rel_root == site:
            dirs[:] = [
                d for d in dirs
                if d == "pip" or (d.startswith("pip-") and d.endswith(".dist-info"))
            ]
            files = []
        elif rel_root.startswith(lib_rel):
            sub = rel_root[len(lib_rel) :].lstrip("/")
            dirs[:] = [
                d
                for d in dirs
                if d not in _SKIP_LIB_DIRS and f"{sub}/{d}".lstrip("/") not in _SKIP_LIB_DIRS
            ]
        else:
            dirs[:] = [d for d in dirs if d != "__pycache__"]
        tar.add(root, arcname=f"python/{rel_root}", recursive=False)
        for f in files:
            full = os.path.join(root, f)
            if rel_root == "bin" and not f.startswith(_BIN_PREFIXES):
                continue
            if f.endswith((".a", ".pyc")):
                continue
            if rel_root == "bin" and f.startswith("pip"):
                script = _PIP_TRAMPOLINE.replace("{minor}", REAL_MINOR).encode()
                _add_bytes(tar, f"python/bin/{f}", script, 0o755)
                continue
            if rel_root == "bin" and not os.path.islink(full):
                with open(full, "rb") as fh:
                    if fh.read(2) == b"#!" and not f.startswith(
                        ("python", "2to3", "idle", "pydoc")
                    ):
                        continue
            tar.add(full, arcname=f"python/{rel_root}/{f}", recursive=False)


def write_catalog(path: Path, archives: Iterable[BuiltArchive], *, sha256: bool = True) -> Path:
    """Write a uv-schema downloads JSON describing ``archives``."""
    data = {}
    for archive in archives:
        entry = archive.catalog_entry()
        if not sha256:
            entry["sha256"] = None
        data[archive.key] = entry
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))
    return path


def mirror_layout(mirror_root: Path, archive: BuiltArchive) -> Path:
    """Place ``archive`` at ``mirror_root/<build>/<filename>`` (the release URL layout)."""
    target = mirror_root / archive.build / archive.path.name
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        try:
            os.link(archive.path, target)
        except OSError:
            import shutil

            shutil.copyfile(archive.path, target)
    return target


def real_python_soabi() -> str:
    return str(sysconfig.get_config_var("SOABI") or "")


# ----- PyPy and GraalPy ----------------------------------------------------------------
#: Upstream prefixes of the other implementations' downloads (as in uv's catalog).
PYPY_PREFIX = "https://downloads.python.org/pypy"
GRAALPY_PREFIX = "https://github.com/oracle/graalpython/releases/download"


@dataclass(frozen=True)
class UpstreamArchive(BuiltArchive):
    """A PyPy or GraalPy archive: served under its own upstream URL, not a PBS release."""

    upstream_url: str = ""
    #: The name of the single top-level directory (the installation root).
    top: str = ""

    @property
    def url(self) -> str:
        return self.upstream_url

    @property
    def mirror_path(self) -> str:
        """The URL's path below its upstream prefix (where a mirror serves it)."""
        for prefix in (PYPY_PREFIX, GRAALPY_PREFIX):
            if self.upstream_url.startswith(prefix + "/"):
                return self.upstream_url[len(prefix) + 1 :]
        raise ValueError(self.upstream_url)


def _query_answer(implementation: str, version: tuple[int, int, int], site_packages: str) -> str:
    """Shell lines answering pyv's ``-I -S -c`` interpreter query as the real one would."""
    v = ".".join(map(str, version))
    return (
        'if [ "$1 $2 $3" = "-I -S -c" ]; then\n'
        '  printf \'{"executable": "%s", "implementation": "'
        f'{implementation}", "version": [{version[0]}, {version[1]}, {version[2]}], '
        f'"version_info": "{v}.final.0", "freethreaded": false, '
        f'"site_packages": "{site_packages}"}}\\n\' "$0"\n'
        "  exit 0\n"
        "fi\n"
    )


def synthetic_pypy_script(version: tuple[int, int, int], pypy_version: str) -> bytes:
    """A sh 'PyPy': answers the smoke test, ``--version`` and pyv's interpreter query."""
    v = ".".join(map(str, version))
    minor = f"{version[0]}.{version[1]}"
    return (
        "#!/bin/sh\n"
        "# synthetic PyPy for pyv tests\n"
        'if [ "$1" = "--version" ] || [ "$1" = "-V" ]; then\n'
        f'  echo "Python {v} (synthetic)"; echo "[PyPy {pypy_version} with GCC]"; exit 0\n'
        "fi\n"
        + _query_answer("pypy", version, f"lib/pypy{minor}/site-packages")
        + f'echo "synthetic-pypy {v} $0 $*"\n'
        "exit 0\n"
    ).encode()


def synthetic_graalpy_script(version: tuple[int, int, int], graal_version: str) -> bytes:
    """A sh 'GraalPy' launcher: answers the smoke test, ``--version`` and pyv's query."""
    v = ".".join(map(str, version))
    minor = f"{version[0]}.{version[1]}"
    return (
        "#!/bin/sh\n"
        "# synthetic GraalPy for pyv tests\n"
        'if [ "$1" = "--version" ] || [ "$1" = "-V" ]; then\n'
        f'  echo "GraalPy {v} (GraalVM CE Native {graal_version})"; exit 0\n'
        "fi\n"
        + _query_answer("graalpy", version, f"lib/python{minor}/site-packages")
        + f'echo "synthetic-graalpy {v} $0 $*"\n'
        "exit 0\n"
    ).encode()


def build_pypy_archive(
    directory: Path,
    version: tuple[int, int, int] = (3, 10, 14),
    pypy_version: str = "7.3.17",
    *,
    ext: str = "tar.bz2",
) -> UpstreamArchive:
    """A linux64 PyPy release archive in the real layout, with a shell-script interpreter.

    Since PyPy 3.8 (release tooling ``pypy/tool/release/package.py``):
    ``pypy3.10-v7.3.17-linux64/`` holding ``bin/pypy3.10`` (the executable) next to
    ``bin/libpypy3.10-c.so``, the links ``pypy``, ``pypy3``, ``python``, ``python3``,
    ``python3.10`` to it, the standard library in ``lib/pypy3.10/`` (with
    ``site-packages``), bundled shared libraries in ``lib/``, headers in
    ``include/pypy3.10/``, and ``LICENSE``/``README.rst`` at the top.
    """
    directory.mkdir(parents=True, exist_ok=True)
    minor = f"{version[0]}.{version[1]}"
    top = f"pypy{minor}-v{pypy_version}-linux64"
    path = directory / f"{top}.{ext}"
    exe = f"pypy{minor}"
    script = synthetic_pypy_script(version, pypy_version)
    mode = {"tar.bz2": "w:bz2", "tar.gz": "w:gz"}[ext]
    with tarfile.open(path, mode) as tar:
        for d in ("", "/bin", "/include", f"/include/pypy{minor}", "/lib", f"/lib/pypy{minor}",
                  f"/lib/pypy{minor}/site-packages"):
            _add_dir(tar, top + d)
        _add_bytes(tar, f"{top}/bin/{exe}", script, 0o755)
        _add_bytes(tar, f"{top}/bin/libpypy{minor}-c.so", b"\x7fELF synthetic\n", 0o755)
        links = ("pypy", f"pypy{version[0]}", "python", f"python{version[0]}", f"python{minor}")
        for link in links:
            _add_symlink(tar, f"{top}/bin/{link}", exe)
        _add_bytes(tar, f"{top}/include/pypy{minor}/Python.h", b"/* synthetic */\n")
        _add_bytes(tar, f"{top}/lib/libffi.so.8", b"\x7fELF synthetic\n", 0o755)
        _add_bytes(tar, f"{top}/lib/pypy{minor}/os.py", b"# marker\n")
        _add_bytes(tar, f"{top}/lib/pypy{minor}/site-packages/README", b"site-packages\n")
        _add_bytes(tar, f"{top}/LICENSE", b"synthetic license\n")
        _add_bytes(tar, f"{top}/README.rst", b"synthetic readme\n")
    return UpstreamArchive(
        path=path,
        sha256=sha256_of(path),
        version=version,
        build=pypy_version,
        implementation="pypy",
        upstream_url=f"{PYPY_PREFIX}/{path.name}",
        top=top,
    )


def build_graalpy_archive(
    directory: Path,
    version: tuple[int, int, int] = (3, 12, 0),
    graal_version: str = "25.0.1",
) -> UpstreamArchive:
    """A linux-amd64 GraalPy native standalone in the real layout, shell-script launcher.

    As laid out by graalpython's ``mx.graalpython/suite.py`` (GRAALPY_NATIVE_STANDALONE):
    ``graalpy-25.0.1-linux-amd64/`` with ``bin/graalpy`` and *copies* of the launcher as
    ``bin/python``, ``bin/python3`` and ``bin/graalpy-config``, ``libexec/``, the standard
    library in ``lib/python3.12/``, GraalPy's core in ``lib/graalpy25.0/``,
    ``lib/libpythonvm.so``, headers in ``include/python3.12/`` and ``release`` at the top.
    """
    directory.mkdir(parents=True, exist_ok=True)
    minor = f"{version[0]}.{version[1]}"
    graal_minor = ".".join(graal_version.split(".")[:2])
    top = f"graalpy-{graal_version}-linux-amd64"
    path = directory / f"{top}.tar.gz"
    launcher = synthetic_graalpy_script(version, graal_version)
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        for d in ("", "/bin", "/libexec", "/include", f"/include/python{minor}", "/lib",
                  f"/lib/python{minor}", f"/lib/python{minor}/site-packages",
                  f"/lib/graalpy{graal_minor}"):
            _add_dir(tar, top + d)
        for name in ("graalpy", "python", f"python{version[0]}", "graalpy-config"):
            _add_bytes(tar, f"{top}/bin/{name}", launcher, 0o755)
        _add_bytes(tar, f"{top}/libexec/graalpy-polyglot-get", launcher, 0o755)
        _add_bytes(tar, f"{top}/lib/libpythonvm.so", b"\x7fELF synthetic\n", 0o755)
        _add_bytes(tar, f"{top}/lib/python{minor}/os.py", b"# marker\n")
        _add_bytes(tar, f"{top}/lib/graalpy{graal_minor}/__graalpython__.py", b"# marker\n")
        _add_bytes(tar, f"{top}/include/python{minor}/Python.h", b"/* synthetic */\n")
        _add_bytes(tar, f"{top}/release", f'GRAALVM_VERSION="{graal_version}"\n'.encode())
        _add_bytes(tar, f"{top}/README_GRAALPY.md", b"synthetic readme\n")
    return UpstreamArchive(
        path=path,
        sha256=sha256_of(path),
        version=version,
        build=graal_version,
        implementation="graalpy",
        upstream_url=f"{GRAALPY_PREFIX}/graal-{graal_version}/{path.name}",
        top=top,
    )

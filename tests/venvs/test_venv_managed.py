"""End to end with the real installer: auto-install, a seeded env, uninstall protection."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from fixtures_venv import REAL_MINOR


def test_auto_install_seed_and_uninstall_protection(run_pyv, pbs_mirror, real_archive, pyv_home,
                                                   tmp_path):
    env_vars = {
        **pbs_mirror([real_archive]),
        # No index: seeding must fall back to the installed interpreter's bundled wheels.
        "PYV_INDEX_URL": (tmp_path / "no-index").as_uri(),
    }
    refused = run_pyv("venv", "-p", REAL_MINOR, env=env_vars)
    assert refused.returncode == 3 and f"pyv install {REAL_MINOR}" in refused.stderr
    created = run_pyv("venv", "-p", REAL_MINOR, "--seed", "--json",
                      env={**env_vars, "PYV_AUTO_INSTALL": "1"}, check=True)
    data = json.loads(created.stdout)
    assert data["key"] == real_archive.key and data["follows_minor"] is True
    env = Path.cwd() / ".venv"
    minor_link = pyv_home / "pythons" / real_archive.key.replace(
        ".".join(map(str, real_archive.version)), REAL_MINOR)
    cfg = (env / "pyvenv.cfg").read_text()
    assert f"home = {minor_link / 'bin'}\n" in cfg
    out = subprocess.run(
        [str(env / "bin" / "python"), "-c",
         "import sys, pip; print(sys.prefix != sys.base_prefix, sys.base_prefix)"],
        capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == "True"
    assert Path(out[1]).resolve() == (pyv_home / "pythons" / real_archive.key).resolve()
    run_pyv("venv", "--name", "astro", "-p", REAL_MINOR, env=env_vars, check=True)
    blocked = run_pyv("uninstall", REAL_MINOR, env=env_vars)
    assert blocked.returncode == 11
    assert str(env) in blocked.stderr and str(pyv_home / "envs" / "astro") in blocked.stderr
    assert (pyv_home / "pythons" / real_archive.key).is_dir()
    run_pyv("envs", "remove", "astro", env=env_vars, check=True)
    import shutil

    shutil.rmtree(env)
    run_pyv("uninstall", REAL_MINOR, env=env_vars, check=True)
    assert not os.path.exists(pyv_home / "pythons" / real_archive.key)

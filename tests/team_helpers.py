"""Real Unix users and groups for the team tests (root only), and a Python those users can run.

The test runner's own interpreter may live where other users cannot read (pyenv under /root, a clone in a home
folder). The reps get a small venv in the test's temporary folder, made from a base interpreter they can run (the
runner's own base, else the system's python3 of the same version), that finds this tuikanban and its
dependencies through a .pth file: the set-up the README recommends (a venv every rep can read).
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"


def need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: the test creates Unix users and groups")


def _run(*args: str) -> None:
    subprocess.run(list(args), check=True, capture_output=True, timeout=60)


@dataclass
class Team:
    """A group and its members, created for one test and removed afterwards."""

    group: str
    users: list[str] = field(default_factory=list)

    def add(self, name: str, *, member: bool = True, home: Path | None = None) -> str:
        args = ["useradd", "-M", "-N", "-s", "/bin/sh", "-g", "nogroup" if _has_group("nogroup") else "users"]
        if home is not None:
            args += ["-d", str(home)]
        if member:
            args += ["-G", self.group]
        _run(*args, name)
        self.users.append(name)
        return name

    def remove(self) -> None:
        for user in self.users:
            subprocess.run(["userdel", "-f", user], capture_output=True, timeout=60)
        subprocess.run(["groupdel", self.group], capture_output=True, timeout=60)


def _has_group(name: str) -> bool:
    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


@pytest.fixture
def team() -> Iterator[Team]:
    need_root()
    if shutil.which("useradd") is None or shutil.which("setpriv") is None:
        pytest.skip("needs useradd and setpriv to act as another user")
    tag = os.getpid() % 100000
    t = Team(f"tkteam{tag}")
    _run("groupadd", t.group)
    try:
        yield t
    finally:
        t.remove()


@pytest.fixture
def open_tmp() -> Iterator[Path]:
    """A temporary folder other users can enter (pytest's own is private to the runner), removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="tk-team-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def as_user(user: str, args: Sequence[str], *, env: dict[str, str] | None = None, groups: bool = True,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run `args` as `user` (with the groups of /etc/group, or with `groups=False` none of the supplementary
    ones: a rep added to a group after logging in)."""
    pw = pwd.getpwnam(user)
    base = {"PATH": "/usr/bin:/bin", "HOME": "/", "USER": user, "LOGNAME": user, "LANG": "C.UTF-8"}
    cmd = ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}",
           "--init-groups" if groups else "--clear-groups", "--", *args]
    return subprocess.run(cmd, env={**base, **(env or {})}, capture_output=True, text=True, timeout=timeout,
                          cwd="/", stdin=subprocess.DEVNULL)


def _runnable_by_others(path: Path) -> bool:
    """Whether every folder up to `path` lets others in, and `path` lets them read (and run) it."""
    path = path.resolve()
    for folder in path.parents:
        if not os.stat(folder).st_mode & 0o001:
            return False
    return bool(os.stat(path).st_mode & 0o004)


@pytest.fixture(scope="session")
def rep_python() -> Iterator[Path]:
    """A python every user can run that imports this tuikanban (or skip with one reason), for the whole session.

    Its base is the runner's own interpreter where others can run it, else the system's python3 of the same
    version. It finds this tuikanban and its dependencies through a .pth file; where others cannot read them (a
    checkout or venv under /root), they are copied into its folder first (a few seconds, once per session).
    """
    need_root()
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [Path(getattr(sys, "_base_executable", sys.executable)), Path(sys.executable),
                  Path(f"/usr/bin/python{version}")]
    base = next((c for c in candidates if c.exists() and _runnable_by_others(c)), None)
    if base is None:
        pytest.skip(f"no Python {version} that other users can run (the runner's lives in a private folder)")
    folder = Path(tempfile.mkdtemp(prefix="tk-python-"))
    folder.chmod(0o755)
    try:
        venv = folder / "venv"
        subprocess.run([str(base), "-m", "venv", "--without-pip", str(venv)], check=True, capture_output=True,
                       timeout=120)
        site = Path(subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; "
                                    "print(sysconfig.get_paths()['purelib'])"], check=True, capture_output=True,
                                   text=True).stdout.strip())
        paths = []
        for i, lib in enumerate([str(SRC), *sorted({sysconfig.get_paths()["purelib"],
                                                    sysconfig.get_paths()["platlib"]})]):
            if not _runnable_by_others(Path(lib)):
                copy = folder / f"lib{i}"
                shutil.copytree(lib, copy, symlinks=True)
                lib = str(copy)
            paths.append(lib)
        (site / "tuikanban-under-test.pth").write_text("\n".join(paths) + "\n")
        subprocess.run(["chmod", "-R", "a+rX", str(folder)], check=True)
        yield venv / "bin" / "python"
    finally:
        shutil.rmtree(folder, ignore_errors=True)

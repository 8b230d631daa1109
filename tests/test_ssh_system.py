"""The README's SSH recipe, end to end through a real OpenSSH server (issue 12).

As root, where `sshd` is installed: an own sshd on 127.0.0.1 on a free high port (own config, host key and
authorized_keys files in a temporary folder), two reps in a group and a third with a forced-command key,
`tuikanban share`, then everything a rep does goes through SSH: the CLI as each rep (their names in the
history), a key that gets the board and no shell, `ssh` without `-t` (one sentence, within a second), and two
boards on pseudo-terminals (`ssh -t`) that name each other on their presence lines, where one rep's move shows
up on the other's board within a second.
Users, keys, processes and sshd are removed afterwards, whatever happens.

Notes for the set-up: sshd runs with `StrictModes no` because its files live under /tmp (world-writable, which
StrictModes refuses as a parent of an authorized_keys file); the keys files are root-owned and not writable by
the reps, as the README recommends. `UsePAM no` needs accounts that are not locked, so the reps get the
password '*' (no password login, not locked).
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import termios
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyte
import pytest

from team_helpers import Team, open_tmp, rep_python, team

__all__ = ["open_tmp", "rep_python", "team"]  # fixtures

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]  # the README's SSH recipe: reps sharing one file on one host
SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
COLS, ROWS = 160, 45
NO_TERMINAL = "The board needs a terminal: connect with 'ssh -t', or run a command such as 'tuikanban deal list'."


@dataclass
class Host:
    """The shared host as the reps reach it: an sshd, the reps' keys, the wrapper `tuikanban share` wrote."""

    port: int
    folder: Path
    wrapper: Path
    team: Team

    def key(self, user: str) -> Path:
        return self.folder / "client" / user

    def ssh_args(self, user: str, *remote: str, tty: bool = False) -> list[str]:
        return ["ssh", "-t" if tty else "-T", "-i", str(self.key(user)), "-p", str(self.port),
                "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-F", "/dev/null",
                f"{user}@127.0.0.1", *([shlex.join(remote)] if remote else [])]  # the remote shell parses it

    def ssh(self, user: str, *remote: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        env = {"PATH": "/usr/bin:/bin", "HOME": str(self.folder), "LANG": "C.UTF-8"}
        return subprocess.run(self.ssh_args(user, *remote), capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, env=env)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"sshd stopped: {log.read_text(errors='replace')[-2000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    pytest.fail("sshd did not start listening within 15 seconds")


def _keygen(path: Path) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True, timeout=60)
    return Path(f"{path}.pub").read_text().strip()


@pytest.fixture
def host(team: Team, open_tmp: Path, rep_python: Path) -> Iterator[Host]:
    if not Path(SSHD).exists():
        pytest.skip("OpenSSH's server (sshd) is not installed (apt-get install -y openssh-server)")
    python = rep_python
    tag = os.getpid() % 100000
    homes = open_tmp / "home"
    homes.mkdir(mode=0o755)
    reps = [team.add(f"tk{name}{tag}", home=homes / f"tk{name}{tag}") for name in ("ann", "ben", "cal")]
    for rep in reps:  # not locked (UsePAM no refuses locked accounts), but no password either
        subprocess.run(["usermod", "-p", "*", rep], check=True, capture_output=True)
        (homes / rep).mkdir(mode=0o700)
        shutil.chown(homes / rep, rep)
    folder = open_tmp
    wrapper = folder / "tk-team"
    r = subprocess.run([str(python), "-m", "tuikanban", "share", "--group", team.group, "--dir",
                        str(folder / "srv"), "--wrapper", str(wrapper)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    forced = next(line.strip() for line in r.stdout.splitlines() if line.strip().startswith('command="'))
    (folder / "client").mkdir(mode=0o700)
    keys = folder / "keys"
    keys.mkdir(mode=0o755)
    for i, rep in enumerate(reps):
        public = _keygen(folder / "client" / rep)
        line = public if i < 2 else forced.replace("ssh-ed25519 AAAA... rep@laptop", public)
        (keys / rep).write_text(line + "\n")
        (keys / rep).chmod(0o644)  # root-owned, readable by sshd, not writable by the rep
    _keygen(folder / "hostkey")
    port = _free_port()
    config = folder / "sshd_config"
    config.write_text("\n".join([
        f"Port {port}", "ListenAddress 127.0.0.1", f"HostKey {folder / 'hostkey'}", f"PidFile {folder / 'sshd.pid'}",
        f"AuthorizedKeysFile {keys}/%u", "StrictModes no", "PubkeyAuthentication yes", "PasswordAuthentication no",
        "KbdInteractiveAuthentication no", "UsePAM no", "PermitRootLogin no", f"AllowUsers {' '.join(reps)}",
        "PrintMotd no", "PrintLastLog no", "X11Forwarding no", "AllowTcpForwarding no", "LogLevel VERBOSE", "",
    ]))
    made_run = not Path("/run/sshd").exists()
    if made_run:
        Path("/run/sshd").mkdir(mode=0o755)
    log = folder / "sshd.log"
    sshd = subprocess.Popen([SSHD, "-D", "-f", str(config), "-E", str(log)], stdin=subprocess.DEVNULL)
    try:
        _wait_for_port(port, sshd, log)
        yield Host(port, folder, wrapper, team)
    finally:
        sshd.terminate()
        try:
            sshd.wait(timeout=10)
        except subprocess.TimeoutExpired:
            sshd.kill()
            sshd.wait()
        for rep in reps:  # sessions sshd forked for the reps (and anything they left) end with the test
            for pid in subprocess.run(["pgrep", "-u", rep], capture_output=True, text=True).stdout.split():
                os.kill(int(pid), signal.SIGKILL)
        if made_run:
            shutil.rmtree("/run/sshd", ignore_errors=True)


class Terminal:
    """`ssh -t` on a pseudo-terminal, rendered with pyte."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        self.proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
        os.close(slave)
        self.screen = pyte.Screen(COLS, ROWS)
        self.stream = pyte.ByteStream(self.screen)

    def pump(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            ready, _, _ = select.select([self.master], [], [], min(left, 0.05))
            if ready:
                try:
                    data = os.read(self.master, 65536)
                except OSError:
                    return
                self.stream.feed(data)

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def wait_for(self, predicate: Callable[[str], bool], seconds: float) -> float | None:
        """Seconds until `predicate(screen text)` holds, or None."""
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            self.pump(0.05)
            if predicate(self.text()):
                return time.monotonic() - start
        return None

    def wait_exit(self, seconds: float) -> int | None:
        """The exit code once the session ends (reading its output meanwhile, so it never blocks on a full pty)."""
        end = time.monotonic() + seconds
        while self.proc.poll() is None and time.monotonic() < end:
            self.pump(0.05)
        return self.proc.poll()

    def send(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        os.close(self.master)


def _column_of(screen: str, word: str) -> int | None:
    for line in screen.splitlines():
        at = line.find(word)
        if at >= 0:
            return at
    return None


def _in_column(screen: str, title: str, stage: str, stages: list[str]) -> bool:
    """Whether the card `title` is drawn under the header of `stage` (the nearest header to its left)."""
    x = _column_of(screen, title)
    heads = {s: _column_of(screen, s) for s in stages}
    if x is None or any(v is None for v in heads.values()):
        return False
    left = [(hx, s) for s, hx in heads.items() if hx is not None and hx <= x + 2]
    return bool(left) and max(left)[1] == stage


def test_a_team_shares_a_board_through_sshd(host: Host) -> None:
    ann, ben, cal = host.team.users
    wrapper = str(host.wrapper)

    # the CLI as each rep, through ssh: their login names go into the history
    r = host.ssh(ann, wrapper, "pipeline", "create", "Sales", "--stages", "Lead,Proposal,Won")
    assert r.returncode == 0, r.stderr
    r = host.ssh(ann, wrapper, "deal", "add", "Acme rollout")
    assert r.returncode == 0, r.stderr
    deal = r.stdout.strip()
    r = host.ssh(ben, wrapper, "deal", "move", deal, "Proposal")
    assert (r.returncode, r.stdout.strip()) == (0, f"Moved deal {deal} from Lead to Proposal."), r.stderr
    shown = json.loads(host.ssh(ben, wrapper, "deal", "show", deal, "--json").stdout)
    assert [(e["kind"], e["user"]) for e in shown["events"]][:2] == [("create", ann), ("move", ben)]

    # ssh without -t: one sentence, exit 1, about as fast as a command that does nothing
    start = time.monotonic()
    host.ssh(ann, "true")
    baseline = time.monotonic() - start
    start = time.monotonic()
    r = host.ssh(ann, wrapper)
    elapsed = time.monotonic() - start
    assert (r.returncode, r.stderr.strip()) == (1, NO_TERMINAL)
    assert elapsed < baseline + 1.0, (elapsed, baseline)

    # a forced-command key gets the board, whatever command it asks for, and never a shell
    r = host.ssh(cal, "/bin/sh", "-c", "echo SHELL-$((6*7))")
    assert "SHELL-42" not in r.stdout + r.stderr
    assert (r.returncode, r.stderr.strip()) == (1, NO_TERMINAL)

    # two boards on pseudo-terminals; a move made from ann's CLI shows on ben's board within a second
    env = {"PATH": "/usr/bin:/bin", "HOME": str(host.folder), "TERM": "xterm-256color", "LANG": "C.UTF-8"}
    r = host.ssh(ann, wrapper, "deal", "add", "Globex pilot")
    assert r.returncode == 0, r.stderr
    globex = r.stdout.strip()
    boards = [Terminal(host.ssh_args(ben, wrapper, tty=True), env), Terminal(host.ssh_args(cal, tty=True), env)]
    stages = ["Lead", "Proposal", "Won"]
    try:
        for board in boards:
            assert board.wait_for(lambda s: "Globex pilot" in s and _in_column(s, "Globex pilot", "Lead", stages),
                                  30) is not None, board.text()
        board.pump(1.0)  # let both boards settle (the ORM import after the first paint)
        # each rep's name on the other's presence line (the header, the top line)
        for board, other in ((boards[0], cal), (boards[1], ben)):
            assert board.wait_for(lambda s, o=other: f"{o} here" in s.splitlines()[0], 5) is not None, board.text()
        r = host.ssh(ann, wrapper, "deal", "move", globex, "Proposal")
        assert r.returncode == 0, r.stderr
        start = time.monotonic()  # the commit happened before ssh returned: the real delay is a little longer
        seen: dict[int, float] = {}
        while len(seen) < len(boards) and time.monotonic() - start < 5:
            for i, board in enumerate(boards):
                board.pump(0.02)
                if i not in seen and _in_column(board.text(), "Globex pilot", "Proposal", stages):
                    seen[i] = time.monotonic() - start
        assert sorted(seen) == [0, 1], [b.text() for b in boards]
        assert max(seen.values()) < 1.0, seen
        for board in boards:
            board.send(b"q")
        for board in boards:
            assert board.wait_exit(15) == 0, board.text()
    finally:
        for board in boards:
            board.close()

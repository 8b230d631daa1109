"""A real board process on a pseudo-terminal: keys in, every byte it writes kept (`raw`) and rendered with pyte."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path

import pyte

COLS, ROWS = 160, 45
SRC = Path(__file__).resolve().parent.parent / "src"


def _controlling_tty() -> None:
    """In the child, after setsid: make its stdin (the pty) its controlling terminal, as sshd and tmux do."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class PtyBoard:
    """`tuikanban --db DB` on a pty of its own (with `controlling`, the pty is its controlling terminal)."""

    def __init__(self, db: Path, *, user: str = "tester", controlling: bool = True) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        env = dict(os.environ, PYTHONPATH=str(SRC), TERM="xterm-256color", LANG="C.UTF-8", TUIKANBAN_USER=user,
                   COLUMNS=str(COLS), LINES=str(ROWS))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tuikanban", "--db", str(db)], stdin=slave, stdout=slave, stderr=slave, env=env,
            start_new_session=True, preexec_fn=_controlling_tty if controlling else None)
        os.close(slave)
        self.raw = bytearray()
        self.screen = pyte.Screen(COLS, ROWS)
        self.stream = pyte.ByteStream(self.screen)
        self.closed = False

    def pump(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            ready, _, _ = select.select([self.master], [], [], min(left, 0.05))
            if ready:
                try:
                    data = os.read(self.master, 65536)
                except OSError:
                    return
                self.raw += data
                self.stream.feed(data)

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def wait_for(self, predicate: Callable[[str], bool], seconds: float) -> bool:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.pump(0.05)
            if predicate(self.text()):
                return True
        return False

    def send(self, keys: bytes, settle: float = 0.4) -> None:
        os.write(self.master, keys)
        self.pump(settle)

    def cpu_seconds(self) -> float:
        """User and system CPU time the board has used so far (Linux /proc)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def hang_up(self) -> None:
        """Close the terminal under the board (what an SSH drop or `tmux kill-session` does to it)."""
        os.close(self.master)
        self.closed = True

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        if not self.closed:
            os.close(self.master)
            self.closed = True

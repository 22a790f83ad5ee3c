"""``cbm`` run with one of its output streams a real pseudo-terminal: what a user sees on an 80-column screen."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CBM = Path(sys.executable).parent / "cbm"


def run_on_terminal(env: dict[str, str], *args: str, terminal: str = "stdout") \
        -> tuple[subprocess.CompletedProcess[bytes], str]:
    """``cbm ARGS`` with ``terminal`` ("stdout", "stderr" or "none") a pseudo-terminal and the other stream a pipe:
    the finished process and what the terminal received (escape codes included, line ends as ``\\n``)."""
    controller, tty = os.openpty()
    try:
        done = subprocess.run([str(CBM), *args], stdin=subprocess.DEVNULL, env=env, timeout=120,
                              stdout=tty if terminal == "stdout" else subprocess.PIPE,
                              stderr=tty if terminal == "stderr" else subprocess.PIPE)
    finally:
        os.close(tty)
    shown = b""
    try:
        while chunk := os.read(controller, 65536):
            shown += chunk
    except OSError:  # EIO: the terminal's other side is closed and everything has been read
        pass
    finally:
        os.close(controller)
    return done, shown.decode("utf-8").replace("\r\n", "\n")

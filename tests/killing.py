"""Test helper: run a child process until it writes its marker file (from inside a transaction), then
SIGKILL it — no cleanup, no rollback from the client side."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path


def kill_when_marked(argv: list[str], marker: Path, timeout: float = 300) -> None:
    """Start ``argv``, wait until ``marker`` has content, kill the child with SIGKILL and reap it."""
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + timeout
        while not marker.exists() or not marker.read_text():
            if child.poll() is not None:
                raise AssertionError(f"the child ended (exit {child.returncode}) before it stalled:\n"
                                     + child.stderr.read().decode())
            assert time.monotonic() < deadline, "the child never reached the middle of its transaction"
            time.sleep(0.05)
        time.sleep(0.2)  # the marker is written by the hook; let its write finish
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=60) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
        child.stderr.close()

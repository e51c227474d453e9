"""A real headless browser for tests: find Debian's chromium, render a local HTML file, read its console.

``render(page, workdir)`` runs chromium twice on ``file://page`` — once for a PNG screenshot, once for
``--dump-dom`` — with a throw-away profile and everything that phones home switched off, and returns
the screenshot path, the serialised DOM and the console messages chromium logged to stderr.

Chromium (156 on Debian 12) logs *every* console message — console.log/warn/error, an uncaught exception,
a Content-Security-Policy violation — at one level, as::

    [pid:tid:MMDD/HHMMSS.micros:INFO:CONSOLE:1] "Uncaught ReferenceError: f is not defined", source: file:///… (1)

(older versions wrote ``INFO:CONSOLE(1)``), without saying which kind it was. A page with no scripts
has no business writing to the console at all, so :func:`console_messages` returns them all.

What the page fetched: the second run writes chromium's net log, and :func:`page_requests` lists every
network request the page itself started (initiator: the page's origin, ``null`` for a file; chromium's own
background requests say ``not an origin``). Every host name resolves to nothing
(``--host-resolver-rules``), so no request, the page's or the browser's, leaves the machine.

When chromium is missing, :func:`require_chromium` skips the test with the reason — or fails it under
``CI=true``, where the test setup must have installed it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL_HINT = "apt-get update && apt-get install -y chromium"
CONSOLE_LINE = re.compile(r":CONSOLE[:(]")
TIMEOUT = 120


def find_chromium() -> str | None:
    """``$TILSYN_CHROMIUM`` if set, else the first chromium-like browser on ``PATH``, else None."""
    explicit = os.environ.get("TILSYN_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else None
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def require_chromium() -> str:
    """The browser, or skip (fail under ``CI=true``) saying how to install it."""
    found = find_chromium()
    if found:
        return found
    reason = f"no headless chromium found (looked for {', '.join(CANDIDATES)}; install it: {INSTALL_HINT})"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


@dataclass
class Rendered:
    """What the browser made of a page."""

    screenshot: Path
    dom: str
    stderr: str
    console: list[str]
    requests: list[str]


def console_messages(stderr: str) -> list[str]:
    """Every console message chromium logged (see the module docstring for the format)."""
    return [line for line in stderr.splitlines() if CONSOLE_LINE.search(line)]


def page_requests(net_log: Path) -> list[str]:
    """URLs of the network requests the page started, from a chromium net log (see the module docstring)."""
    log = json.loads(net_log.read_text(encoding="utf-8"))
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [e["params"]["url"] for e in log["events"] if e["type"] == start and "url" in e.get("params", {})
            and e["params"].get("initiator") != "not an origin"]


def _run(browser: str, workdir: Path, name: str, extra: list[str], url: str) -> subprocess.CompletedProcess:
    profile = workdir / f"profile-{name}"
    args = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-default-apps", "--disable-extensions", f"--user-data-dir={profile}",
            "--host-resolver-rules=MAP * ~NOTFOUND", "--enable-logging=stderr", "--v=0", *extra, url]
    # HOME inside the work dir: chromium writes caches and crash dumps there, never in the user's home.
    env = {**os.environ, "HOME": str(workdir)}
    result = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT, env=env)
    if result.returncode != 0:
        raise AssertionError(f"chromium exited {result.returncode}:\n{result.stderr[-3000:]}")
    return result


def render(page: Path, workdir: Path, size: tuple[int, int] = (1280, 2000)) -> Rendered:
    """Screenshot and DOM of the local file ``page``, rendered in a fresh headless chromium."""
    browser = require_chromium()
    workdir.mkdir(parents=True, exist_ok=True)
    url = page.resolve().as_uri()
    png = workdir / f"{page.stem}.png"
    shot = _run(browser, workdir, "shot", [f"--screenshot={png}", f"--window-size={size[0]},{size[1]}"], url)
    net_log = workdir / f"{page.stem}.netlog.json"
    dom = _run(browser, workdir, "dom", ["--dump-dom", f"--log-net-log={net_log}"], url)
    stderr = shot.stderr + dom.stderr
    return Rendered(png, dom.stdout, stderr, console_messages(stderr), page_requests(net_log))

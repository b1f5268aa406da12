"""Serving a trace in Playwright's trace viewer on a port.

``playwright show-trace`` would look for a browser of Playwright's own, which
cannot be downloaded here; with ``--host/--port`` it serves the viewer over
HTTP instead. We print its URL (loopback by default) and open Debian's
Chromium on it when a display exists.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from .browser import launch_args


def start_viewer(trace: Path, host: str, port: int) -> tuple[subprocess.Popen, str]:
    """Start the viewer server; returns the process and the URL it listens on."""
    process = subprocess.Popen(
        [sys.executable, "-m", "playwright", "show-trace", "--host", host, "--port", str(port), str(trace)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "BROWSER": "none"},
    )
    assert process.stdout is not None
    for line in process.stdout:
        match = re.search(r"Listening on (http://\S+)", line)
        if match:
            return process, match.group(1).rstrip("/") + "/"
    process.wait()
    raise RuntimeError(f"the trace viewer did not start (exit code {process.returncode})")


def serve_trace(trace: Path, host: str, port: int, chromium: Path, console: Console) -> None:
    process, url = start_viewer(trace, host, port)
    console.print(f"trace viewer for {trace.name}: [bold]{url}[/]  (Ctrl-C to stop)")
    if os.environ.get("DISPLAY") and chromium.exists():
        subprocess.Popen([str(chromium), *launch_args(), url], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        process.wait()
    except KeyboardInterrupt:
        process.terminate()

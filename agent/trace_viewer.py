"""Serving a trace in Playwright's trace viewer on a port.

``playwright show-trace`` would look for a browser of Playwright's own, which
cannot be downloaded here; with ``--host/--port`` it serves the viewer over
HTTP instead. We print its URL (loopback by default) and open Debian's
Chromium on it when a display exists.
"""

from __future__ import annotations

import os
import re
import signal
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
        start_new_session=True,  # its own process group: the viewer's Node child is stopped with it
    )
    assert process.stdout is not None
    for line in process.stdout:
        match = re.search(r"Listening on (http://\S+)", line)
        if match:
            return process, match.group(1).rstrip("/") + "/"
    process.wait()
    raise RuntimeError(f"the trace viewer did not start (exit code {process.returncode})")


def stop_viewer(process: subprocess.Popen, timeout: float = 5.0) -> None:
    """Stop the viewer and its children (its own process group, started by us), by their PID."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def serve_trace(trace: Path, host: str, port: int, chromium: Path, console: Console) -> None:
    """Serve until Ctrl-C or SIGTERM; either way the viewer and its children stop with us."""
    process, url = start_viewer(trace, host, port)
    console.print(f"trace viewer for {trace.name}: [bold]{url}[/]  (Ctrl-C to stop)")
    viewer_browser = None
    if os.environ.get("DISPLAY") and chromium.exists():
        viewer_browser = subprocess.Popen([str(chromium), *launch_args(), url], stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL)

    def on_term(signum, frame) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        stop_viewer(process)
        if viewer_browser is not None and viewer_browser.poll() is None:
            viewer_browser.terminate()

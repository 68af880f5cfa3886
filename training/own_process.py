"""Helpers shared by the benchmark scripts: one variant in its own process, and the CPU to name next to a figure."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def run_in_own_process(script: str, variant: str, *args: str) -> dict | None:
    """``python SCRIPT --variant VARIANT ARGS...``; its last stdout line is a JSON result. None if it failed."""
    done = subprocess.run([sys.executable, script, "--variant", variant, *args], capture_output=True, text=True)
    if done.returncode != 0:
        print(f"{variant}: failed\n{done.stderr[-3000:]}")
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo (every speed figure names it)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"

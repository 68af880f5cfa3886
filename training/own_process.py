"""Run one benchmark variant in its own Python process (so its timings and peak RSS are its own)."""

from __future__ import annotations

import json
import subprocess
import sys


def run_in_own_process(script: str, variant: str, *args: str) -> dict | None:
    """``python SCRIPT --variant VARIANT ARGS...``; its last stdout line is a JSON result. None if it failed."""
    done = subprocess.run([sys.executable, script, "--variant", variant, *args], capture_output=True, text=True)
    if done.returncode != 0:
        print(f"{variant}: failed\n{done.stderr[-3000:]}")
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])

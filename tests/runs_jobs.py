"""Job functions for tests/test_runs.py (module level, so spawned workers can import them)."""

from __future__ import annotations

import os
import time
from pathlib import Path

STATE: dict = {}


def init(arg):
    if arg == "boom":
        raise RuntimeError("cannot load the model")
    if isinstance(arg, str) and arg.startswith("slow:"):  # a setup that takes this many seconds
        time.sleep(float(arg[5:]))
    STATE["init"] = arg


def square(payload):
    """payload: {"x": int, "sleep": s, "fail_unless": path, "exit": code, "pid_dir": dir, "error_row": bool,
    "final_row": bool}."""
    if payload.get("pid_dir"):
        Path(payload["pid_dir"], f"{os.getpid()}.pid").write_text(str(os.getpid()))
    time.sleep(payload.get("sleep", 0))
    if "exit" in payload:
        os._exit(payload["exit"])
    if payload.get("fail_unless") and not Path(payload["fail_unless"]).exists():
        raise ValueError(f"bad input {payload['x']}")
    if payload.get("error_row"):
        return {"status": "error", "error": "unknown goal 'unicorn'"}
    if payload.get("final_row"):  # a failure a rerun would only repeat (e.g. an unreachable goal)
        return {"status": "unreachable", "final": True, "error": "no goal reachable"}
    return {"y": payload["x"] ** 2, "init": STATE.get("init"), "pid": os.getpid()}

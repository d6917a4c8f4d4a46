"""Shared part of weft's cluster drivers (Ray and Dask): the plan format, the task body and the
event lines weft reads. weft writes this file next to the backend's driver script; users never
maintain it.

A plan is JSON:
  {"version": 1, "binary": "path/to/flow", "keep_going": false,
   "tasks": [{"id": "t0", "name": "node", "argv": ["{binary}", "__weft-worker", ...],
              "deps": ["t1"], "resources": {"cpus": 1, "gpus": 0, "memory": null, "custom": {}}}]}
Each task runs its argv (``{binary}`` replaced by the flow binary's absolute path) once its
dependencies finished ``ok``; a dependency that did not finish ``ok`` makes the task
``skipped`` without running. Progress goes to stdout as one line per event:
  WEFT-EVENT {"event": "submitted"|"finished"|"done", ...}
"""

import json
import os
import subprocess
import sys
import time

PLAN_VERSION = 1
TAIL_BYTES = 4096


def load_plan(path):
    with open(path, encoding="utf-8") as f:
        plan = json.load(f)
    if plan.get("version") != PLAN_VERSION:
        raise SystemExit(
            "weft cluster driver: plan version %r, this driver reads version %d "
            "(the flow binary and its driver script come from different weft versions)"
            % (plan.get("version"), PLAN_VERSION)
        )
    return plan


def emit(event, **fields):
    fields["event"] = event
    sys.stdout.write("WEFT-EVENT " + json.dumps(fields, sort_keys=True) + "\n")
    sys.stdout.flush()


def topological(tasks):
    """Tasks ordered so that every task comes after its dependencies (the plan is a DAG)."""
    by_id = {t["id"]: t for t in tasks}
    order, state = [], {}
    for root in tasks:
        stack = [(root["id"], False)]
        while stack:
            tid, done = stack.pop()
            if done:
                state[tid] = 2
                order.append(by_id[tid])
                continue
            if state.get(tid):
                continue
            state[tid] = 1
            stack.append((tid, True))
            for dep in by_id[tid]["deps"]:
                if dep not in by_id:
                    raise SystemExit("weft cluster driver: task %s depends on unknown task %s" % (tid, dep))
                if state.get(dep) == 1:
                    raise SystemExit("weft cluster driver: the plan has a cycle through %s" % dep)
                if not state.get(dep):
                    stack.append((dep, False))
    return order


def run_task(task, binary, dep_results):
    """Runs one task's command after its dependencies; returns its result record."""
    blocked = [d for d in dep_results if d["outcome"] != "ok"]
    if blocked:
        return {"id": task["id"], "name": task["name"], "outcome": "skipped",
                "stdout": "", "stderr_tail": "", "returncode": None, "seconds": 0.0,
                "reason": "upstream %s %s" % (blocked[0]["name"], blocked[0]["outcome"])}
    argv = [binary if a == "{binary}" else a for a in task["argv"]]
    start = time.monotonic()
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as e:
        return {"id": task["id"], "name": task["name"], "outcome": "failed", "stdout": "",
                "stderr_tail": "cannot start %s: %s" % (argv[0], e), "returncode": None,
                "seconds": time.monotonic() - start}
    return {"id": task["id"], "name": task["name"],
            "outcome": "ok" if proc.returncode == 0 else "failed",
            "stdout": proc.stdout.decode("utf-8", "replace"),
            "stderr_tail": proc.stderr[-TAIL_BYTES:].decode("utf-8", "replace"),
            "returncode": proc.returncode, "seconds": time.monotonic() - start}


def binary_path(plan):
    path = os.path.abspath(plan["binary"])
    if not os.access(path, os.X_OK):
        raise SystemExit("weft cluster driver: the flow binary %s is missing or not executable" % path)
    return path

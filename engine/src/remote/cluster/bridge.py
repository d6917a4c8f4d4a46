"""weft's cluster bridge: hands weft tasks to Dask or Ray and streams their reports back.

weft writes this file and runs (Dask) or ships (Ray) it; users never maintain it. It speaks one
JSON object per line:

    python3 bridge.py dask [ADDRESS] -- FLOW [ARGS...]     stdin/stdout are the driver's lines
    python3 bridge.py ray HOST:PORT TOKEN -- FLOW [ARGS...] (a Ray job's entrypoint) connects
                                                            back to the driver over TCP

Environment: WEFT_NO_WORKERS_S=S fails the waiting tasks once the cluster has had no worker
for S seconds (Dask; the driver sets it).

In:  {"op": "submit", "id": N, "task": "<weft Task JSON>", "deps": [M, ...],
      "head": "<first node's name>", "run_id": "...", "resources": {...}}
                                          (the task is passed to the worker undecoded)
     {"op": "cancel", "id": N}
     {"op": "forget"}                     (end of a run: finished futures are released)
Out: {"ready": {"cluster": "...", "resources": {...}, "threads": N}} once, or {"fatal": "..."}
     {"id": N, "report": {...}} | {"id": N, "crashed": "..."} | {"id": N, "error": "..."}

The clients of the two clusters are modules beside this file: `bridge_dask.py` (class `Dask`)
and `bridge_ray.py` (class `Ray`); this file is what both share (`Bridge`: the driver's lines,
batches, reports, retiring finished runs' futures).

Each weft task becomes one cluster task (`run_task` of `flow_worker.py`, the worker half,
written beside this file) whose arguments include the futures of the earlier tasks whose
results it reads, so the cluster's scheduler sees the dependencies. On the cluster's worker,
`run_task` hands the task to a worker process of the flow binary, which reads its inputs from
the shared store, runs the node and writes the result there. Submit lines that arrive together
go to the cluster together (Dask: one `update-graph` message for the batch).
"""

import gc
import json
import os
import queue
import socket
import sys
import threading
import time

PROTOCOL = 1


# How long a finished run's futures are kept when no next run comes (see `Bridge.retire`).
RETIRE_S = 2.0


class Bridge:
    def __init__(self, backend, argv, out, no_workers_s=None):
        self.backend = backend
        self.argv = argv
        self.out = out
        self.lock = threading.Lock()
        self.futures = {}
        self.failed = set()
        self.retired = []
        self.timer = None
        if no_workers_s:
            threading.Thread(target=self._watch, args=(no_workers_s,), name="weft-workers",
                             daemon=True).start()

    def _watch(self, grace):
        """Fails the tasks waiting on a cluster that has had no worker for `grace` seconds (the
        scheduler keeps them queued forever: a run would never end)."""
        since = None
        while True:
            time.sleep(min(1.0, grace / 4))
            waiting = [(tid, f) for tid, f in list(self.futures.items())
                       if not f.done() and tid not in self.failed]
            if not waiting or self.backend.has_workers() is not False:
                since = None
                continue
            now = time.monotonic()
            since = since or now
            if now - since < grace:
                continue
            why = ("%s has had no workers for %.0f s, so the task cannot run; %s"
                   % (self.backend.describe(), grace, self.backend.no_workers_hint()))
            for tid, fut in waiting:
                self.failed.add(tid)
                self.send({"id": tid, "error": why})
                try:
                    self.backend.cancel(fut)
                except Exception:  # noqa: BLE001 - finished meanwhile
                    pass
            since = None

    def retire(self):
        """Lets go of the finished run's futures, later rather than now. Letting go of a future
        sends the scheduler a release, and the scheduler a `free-keys` message to the worker
        that holds it; Dask's scheduler sends a worker at most one batch of messages every
        5 ms, so releases sent as a run ends held the next run's first tasks back by up to 5 ms
        (seen in the workers' logs: the first `compute-task` arriving 5 ms after the scheduler
        had it). They are let go once a task of the next run has finished (its first tasks are
        on the workers by then: the first batch the bridge hands over may hold only the first
        of them), or after `RETIRE_S` when no run follows."""
        with self.lock:
            self.retired.append((time.monotonic(), list(self.futures.values())))
            # One timer at a time (many short runs would otherwise keep one each).
            if self.timer is None:
                self._wake_in(RETIRE_S)
        self.futures.clear()

    def _wake_in(self, seconds):
        # (With the lock held.)
        self.timer = threading.Timer(seconds, self._expire)
        self.timer.daemon = True
        self.timer.start()

    def _expire(self):
        """The timer: lets go of the runs retired `RETIRE_S` ago or more, and waits again for
        the others (a run retired while the timer ran keeps its full time)."""
        now = time.monotonic()
        with self.lock:
            old = [r for r in self.retired if now - r[0] >= RETIRE_S]
            self.retired = [r for r in self.retired if now - r[0] < RETIRE_S]
            self.timer = None
            if self.retired:
                self._wake_in(RETIRE_S - (now - self.retired[0][0]))
        del old

    def release(self):
        """Lets go of the futures of the runs that are over."""
        with self.lock:
            retired, self.retired = self.retired, []
        del retired

    def send(self, obj):
        self.send_line(json.dumps(obj))

    def send_line(self, text):
        with self.lock:
            self.out.write(text + "\n")
            self.out.flush()

    def finished(self, tid, fut):
        self._report(tid, fut)
        if self.retired:
            # A task of the next run has finished: its first tasks are on the workers.
            self.release()

    def _report(self, tid, fut):
        if tid in self.failed:
            return
        try:
            result = self.backend.result(fut)
        except BaseException as e:  # noqa: BLE001 - cancelled, a lost worker, ...
            result = {"error": "the %s task failed: %s: %s"
                      % (self.backend.name, type(e).__name__, e)}
        report = result.get("report")
        if isinstance(report, str):
            # The flow worker's report line, passed on as it came (it is JSON already).
            self.send_line('{"id": %d, "report": %s}' % (tid, report))
            return
        result["id"] = tid
        self.send(result)

    def submit_many(self, msgs):
        """Hands the tasks of `msgs` (submit lines read together) to the cluster in one batch."""
        items, tids = [], []
        for msg in msgs:
            tid = msg["id"]
            try:
                opts, why = self.backend.options(msg.get("resources") or {})
            except Exception as e:  # noqa: BLE001 - reported to the driver
                opts, why = None, "cannot read the task: %s: %s" % (type(e).__name__, e)
            if why is not None:
                self.send({"id": tid, "error": why})
                continue
            # The driver submits a task once the tasks it reads from have reported, so their
            # futures are here (unless the run that made them is over: then the store has them).
            deps = [self.futures[d] for d in msg.get("deps", []) if d in self.futures]
            key = "%s-%d-%s" % (msg.get("head") or "task", tid, (msg.get("run_id") or "")[:12])
            items.append((key, msg["task"], self.argv, deps, opts))
            tids.append(tid)
        pairs = []
        for tid, fut in zip(tids, self.backend.submit_many(items) if items else []):
            if isinstance(fut, Exception):
                self.send({"id": tid, "error": "cannot submit to %s: %s: %s"
                           % (self.backend.name, type(fut).__name__, fut)})
                continue
            self.futures[tid] = fut
            pairs.append((fut, lambda f, tid=tid: self.finished(tid, f)))
        self.backend.when_done(pairs)

    def serve(self, lines):
        """Follows the driver's lines until they end. A reader thread queues them, so the
        submit lines that arrive while a batch is being handed over go together in the next."""
        queue_ = queue.Queue()

        def read():
            try:
                for line in lines:
                    if line.strip():
                        queue_.put(json.loads(line))
            finally:
                queue_.put(None)

        threading.Thread(target=read, name="weft-read", daemon=True).start()
        while True:
            batch = [queue_.get()]
            while batch[-1] is not None:
                try:
                    batch.append(queue_.get_nowait())
                except queue.Empty:
                    break
            submits = []
            for msg in batch:
                if msg is not None and msg.get("op") == "submit":
                    submits.append(msg)
                    continue
                # Other lines keep their place: the submits before them go first.
                if submits:
                    self.submit_many(submits)
                    submits = []
                if msg is None:
                    return
                self.handle(msg)
            if submits:
                self.submit_many(submits)

    def handle(self, msg):
        op = msg.get("op")
        if op == "cancel":
            fut = self.futures.get(msg["id"])
            if fut is not None:
                self.backend.cancel(fut)
        elif op == "forget":
            self.retire()
            self.failed.clear()
            forget = getattr(self.backend, "forget", None)
            if forget is not None:
                forget()


def main(args):
    if "--" not in args or len(args) < 2:
        sys.exit("usage: bridge.py dask [ADDRESS] -- FLOW [ARGS...] | "
                 "bridge.py ray HOST:PORT TOKEN -- FLOW [ARGS...]")
    cut = args.index("--")
    head, argv = args[:cut], args[cut + 1:]
    kind = head[0]
    if kind == "ray":
        host, port = head[1].rsplit(":", 1)
        conn = socket.create_connection((host, int(port)))
        # Reports go out as they are written (without, one written while the last is
        # unacknowledged waits for the driver's delayed ACK, up to 40 ms).
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        out = conn.makefile("w", encoding="utf-8")
        lines = conn.makefile("r", encoding="utf-8")
        out.write(json.dumps({"hello": head[2], "protocol": PROTOCOL}) + "\n")
        out.flush()
    else:
        out, lines = sys.stdout, sys.stdin
    try:
        if kind == "ray":
            from bridge_ray import Ray

            backend = Ray()
        else:
            from bridge_dask import Dask

            backend = Dask(head[1] if len(head) > 1 else None)
    except Exception as e:  # noqa: BLE001 - the driver names the address and what to do
        out.write(json.dumps({"fatal": "%s: %s" % (type(e).__name__, e)}) + "\n")
        out.flush()
        sys.exit(1)
    grace = float(os.environ.get("WEFT_NO_WORKERS_S") or 0) or None
    # The objects of Dask's or Ray's modules and connection live as long as the bridge: moved
    # out of the cyclic collector's way, whose full passes otherwise walk them all again and
    # again (a tenth of the bridge's CPU in a profile of 200-task runs), and its youngest
    # generation collected every 10,000 allocations rather than 700 (a task's submission and
    # its answer allocate a few hundred objects that reference counting frees).
    gc.freeze()
    gc.set_threshold(10000, 10, 10)
    bridge = Bridge(backend, argv, out, grace)
    bridge.send({"ready": {"cluster": backend.describe(), "resources": backend.declared,
                           "threads": backend.threads, "protocol": PROTOCOL}})
    try:
        bridge.serve(lines)
    finally:
        # The driver is gone (or done): nothing it waits for should keep running.
        for fut in list(bridge.futures.values()):
            try:
                bridge.backend.cancel(fut)
            except Exception:  # noqa: BLE001 - already finished
                pass
        backend.close()


if __name__ == "__main__":
    # The bridge does no linear algebra: NumPy's OpenBLAS (imported by Dask and Ray) would
    # start a thread per core that competes with the cluster's workers for them.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main(sys.argv[1:])

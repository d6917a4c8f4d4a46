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
import shutil
import socket
import sys
import threading
import time

PROTOCOL = 1


RESOURCE_NAMES = {"cpus": "CPU", "gpus": "GPU", "memory": "MEMORY"}
# How long a finished run's futures are kept when no next run comes (see `Bridge.retire`).
RETIRE_S = 2.0


class Dask:
    name = "Dask"

    def __init__(self, address):
        import logging

        from dask.distributed import Client, LocalCluster

        # Closing the client while its batched stream to the scheduler still has a message to
        # send (a release, an unsubscription) logs the closed stream's traceback at INFO level:
        # expected at the end, and no news to weft's user.
        logging.getLogger("distributed.batched").setLevel(logging.WARNING)
        self.cluster = None
        if address:
            self.client = Client(address, timeout="20s")
        else:
            self.cluster = LocalCluster(host="127.0.0.1", dashboard_address=None,
                                        processes=True)
            self.client = Client(self.cluster)
        # Workers import `run_task` from the worker half (flow_worker.py, beside this file):
        # ship it to them, under a name of this bridge's own. Several drivers share a cluster:
        # uploading a module of a name already there reloads it on every worker, and a worker
        # that reloads it while another driver's task refers to it fails to pickle that task
        # (and Dask loses the worker). Uploaded by Dask's own plugins under names of the
        # bridge's (`client.upload_file` names them itself), so that the bridge can take them
        # back as it closes: the scheduler replays every registered upload to each worker that
        # joins, for as long as it runs.
        import importlib
        import uuid

        from distributed.diagnostics.plugin import SchedulerUploadFile, UploadFile

        here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "flow_worker.py")
        name = "weft_flow_worker_%s" % uuid.uuid4().hex
        copy = os.path.join(os.path.dirname(here), name + ".py")
        shutil.copyfile(here, copy)
        self.upload = name + ".py"
        # The scheduler imports it too: it unpickles the tasks that refer to `run_task`.
        self.client.register_plugin(SchedulerUploadFile(copy), name=self.upload)
        try:
            self.client.register_plugin(UploadFile(copy), name=self.upload)
        except BaseException:
            # The bridge fails to start (the driver says why, with this error, not one of
            # taking the scheduler's upload back): nothing of it should stay behind.
            try:
                self.client.unregister_scheduler_plugin(self.upload)
            except Exception:  # noqa: BLE001 - the error above is the one to report
                pass
            raise
        self.module = importlib.import_module(name)
        # Answers come back as events pushed by the scheduler (one topic per bridge), not by
        # gathering each task's result from its worker: a round trip per task saved.
        self.topic = name
        self.lock = threading.Lock()
        self.waiting = {}  # key -> callback, until the answer is delivered
        self.early = {}  # key -> answer, an event that came before `when_done`
        self.client.subscribe_topic(self.topic, self._on_event)
        # The workers publish each answer as they report its task done (`Announcer`); without
        # it (a worker that refuses the plugin) tasks publish their own, up to 2 ms later.
        self.announcer = False
        try:
            self.client.register_plugin(self.module.Announcer(self.topic), name=self.topic)
            self.announcer = True
        except Exception as e:  # noqa: BLE001 - slower, not wrong: say so, go on
            sys.stderr.write("weft: Dask workers refused weft's worker plugin (answers will "
                             "reach the scheduler up to 2 ms later): %s: %s\n"
                             % (type(e).__name__, e))
        self.declared = {}
        # How many tasks the cluster runs at once (the driver sizes the tasks in flight by it).
        self.threads = 0
        for w in self.client.scheduler_info(n_workers=-1)["workers"].values():
            self.threads += int(w.get("nthreads") or 0)
            for k, v in (w.get("resources") or {}).items():
                self.declared[k] = max(self.declared.get(k, 0), v)

    def describe(self):
        return self.client.scheduler.address

    def has_workers(self):
        """Whether the scheduler has a worker now (`None`: it cannot be asked)."""
        try:
            return bool(self.client.scheduler_info(n_workers=1)["workers"])
        except Exception:  # noqa: BLE001 - the scheduler is away: Dask reports that itself
            return None

    def no_workers_hint(self):
        return ("start workers with `dask worker %s`" % self.describe())

    def options(self, res):
        """Dask places tasks by the resources its workers declare (`--resources NAME=N`):
        custom resources must be declared; cpus, gpus and memory are honoured as `CPU`, `GPU`
        and `MEMORY` when workers declare them (else Dask runs one task per worker thread)."""
        wanted = {}
        for field, name in RESOURCE_NAMES.items():
            if res.get(field) is not None and name in self.declared:
                wanted[name] = res[field]
        for name, amount in res.get("custom") or []:
            wanted[name] = amount
        for name, amount in wanted.items():
            if self.declared.get(name, 0) < amount:
                return None, ("no Dask worker has %s of the resource `%s` (declared: %s); start "
                              "workers with `dask worker ... --resources \"%s=%s\"`"
                              % (amount, name, self.declared or "none", name, amount))
        return wanted, None

    def submit_many(self, items):
        """Submits `items` (key, task line, argv, dependency futures, resources), one
        `update-graph` message per resources wanted: a batch reaches the scheduler at once, as
        Hamilton's graph does. Returns their futures, in order.

        A key is `("NODE-ID-RUN", 0)`: Dask's task prefix (the dashboard's name, the durations
        it learns) is the node's name, and its task group is the task alone. Tasks of one large
        group with few dependencies are "root-ish" to Dask's scheduler, which then holds them
        back and sends each to a worker only as a thread frees (a round trip per task: measured
        here, 1.9 ms a task against 1.0 for the same tasks in groups of their own).

        An item that could not be submitted gets the exception instead of a future (with the
        other items of its `update-graph` message)."""
        futures = [None] * len(items)
        groups = {}
        for i, (_key, _line, _argv, _deps, wanted) in enumerate(items):
            groups.setdefault(tuple(sorted((wanted or {}).items())), []).append(i)
        for resources, at in groups.items():
            keys = [(items[i][0], 0) for i in at]
            try:
                # The module the workers have (uploaded), not __main__.
                futs = self.client.map(self.module.run_dask_task,
                                       [items[i][1] for i in at], [items[i][2] for i in at],
                                       [items[i][3] for i in at],
                                       [(self.topic, items[i][0]) for i in at],
                                       key=keys, pure=False, retries=0,
                                       resources=dict(resources) or None)
            except Exception as e:  # noqa: BLE001 - each task's error goes to the driver
                futs = [e] * len(at)
            for i, fut in zip(at, futs):
                futures[i] = fut
        return futures

    def when_done(self, fut, callback):
        """Calls `callback` once with the task's answer: from its event (pushed by the
        scheduler before it says the task is done), or, when the task failed, was cancelled or
        its event did not come, from the future itself (a round trip to a worker)."""
        with self.lock:
            answer = self.early.pop(fut.key[0], None)
            if answer is None:
                self.waiting[fut.key[0]] = callback
        if answer is not None:
            callback(answer)
            return
        fut.add_done_callback(self._done)

    def _take(self, key):
        with self.lock:
            return self.waiting.pop(key, None)

    def _on_event(self, event):
        msg = event[1]
        key, answer = msg["key"], msg["answer"]
        with self.lock:
            callback = self.waiting.pop(key, None)
            if callback is None:
                # Before `when_done` (or a second run of a task Dask ran again): kept until
                # the end of the run.
                self.early[key] = answer
        if callback is not None:
            callback(answer)

    def forget(self):
        with self.lock:
            self.early.clear()

    def _done(self, fut):
        # Dask's callback thread. An event sent as the task ended reaches the client before
        # the scheduler says the task is done (both in order on one stream), so a finished
        # task's answer is normally in already (then there is nothing to do); a task that
        # failed sent none.
        with self.lock:
            if fut.key[0] not in self.waiting:
                return
        loop = self.client.loop
        if fut.status == "finished":
            loop.add_callback(lambda: loop.call_later(1.0, self._fallback, fut))
        else:
            loop.add_callback(self._fallback, fut)

    def _fallback(self, fut):
        callback = self._take(fut.key[0])
        if callback is not None:
            self.client.loop.add_callback(self._deliver, fut, callback)

    async def _deliver(self, fut, callback):
        # Fetched on the client's event loop, concurrently with the others.
        try:
            [result] = await self.client.gather([fut], asynchronous=True)
        except BaseException as e:  # noqa: BLE001 - cancelled, a lost worker, the task's error
            result = e
        callback(result)

    def result(self, result):
        if isinstance(result, BaseException):
            raise result
        return result

    def cancel(self, fut):
        fut.cancel()

    def close(self):
        # The plugin goes with the bridge (also after a registration that failed part way:
        # the scheduler may hold it), or every later worker would take it on.
        try:
            self.client.unregister_worker_plugin(self.topic)
        except Exception as e:  # noqa: BLE001 - never registered, or the scheduler is away
            if self.announcer:
                sys.stderr.write("weft: cannot unregister weft's plugin from the Dask workers: "
                                 "%s: %s\n" % (type(e).__name__, e))
        # The uploads go too, or the scheduler would send the module to every worker that
        # joins later (and keep it, with every other driver's, for as long as it runs).
        for unregister in (self.client.unregister_worker_plugin,
                           self.client.unregister_scheduler_plugin):
            try:
                unregister(self.upload)
            except Exception as e:  # noqa: BLE001 - the scheduler is away: say so, go on
                sys.stderr.write("weft: cannot take weft's module %s back from the Dask "
                                 "scheduler: %s: %s\n" % (self.upload, type(e).__name__, e))
        # The flow's worker processes live in Dask's worker processes, which outlive this
        # client: end them (each bridge uploads its own module, so they are this bridge's),
        # and forget the module there.
        name = self.module.__name__
        try:
            self.client.run(_leave_worker, name, wait=True)
        except Exception as e:  # noqa: BLE001 - a lost scheduler or worker: say so, go on
            sys.stderr.write("weft: cannot stop the flow's worker processes on the Dask "
                             "workers: %s: %s\n" % (type(e).__name__, e))
        # The scheduler keeps a topic's last events (up to `distributed.admin.low-level-log-
        # length`, 1,000) for as long as it runs: a long-lived cluster would hold those of every
        # driver that ever used it. Dask has no public call for this; a Dask without its broker
        # is said, not ignored.
        try:
            self.client.unsubscribe_topic(self.topic)
            self.client.run_on_scheduler(_leave_scheduler, name, self.topic)
        except Exception as e:  # noqa: BLE001 - a lost scheduler, another Dask: say so, go on
            sys.stderr.write("weft: cannot drop the bridge's answers (event topic %s) and module "
                             "from the Dask scheduler; it keeps up to 1,000 answers until it "
                             "restarts: %s: %s\n" % (self.topic, type(e).__name__, e))
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


# Run on the cluster (pickled by value: this file runs as `__main__`, which the cluster cannot
# import).

def _forget_module(name, server):
    """Forgets the module `name` the bridge uploaded to a Dask worker or scheduler, its import
    and its file, after ending the flow's worker processes it started there; returns how many
    it ended."""
    import glob

    module = sys.modules.pop(name, None)
    ended = module.shutdown() if module is not None else 0
    where = server.local_directory
    compiled = os.path.join(where, "__pycache__", glob.escape(name) + ".*")
    for path in [os.path.join(where, name + ".py")] + glob.glob(compiled):
        try:
            os.remove(path)
        except FileNotFoundError:
            pass
    return ended


def _leave_worker(name, dask_worker):
    return _forget_module(name, dask_worker)


def _leave_scheduler(name, topic, dask_scheduler):
    """Also forgets the events of `topic` and the topic itself."""
    dask_scheduler._broker._topics.pop(topic, None)
    return _forget_module(name, dask_scheduler)


class Ray:
    name = "Ray"

    def __init__(self):
        import ray

        self.ray = ray
        ray.init(address="auto", logging_level="WARNING", log_to_driver=True)
        self.declared = dict(ray.cluster_resources())
        self.threads = int(self.declared.get("CPU", 0))
        import flow_worker  # in the job's working directory, importable by Ray's workers

        self.remote = ray.remote(flow_worker.run_task)

    def describe(self):
        return "Ray job on %s" % self.ray.get_runtime_context().gcs_address

    def has_workers(self):
        """Ray keeps tasks it cannot place waiting for nodes and says so in its own logs; the
        job's lifetime bounds them."""
        return None

    def options(self, res):
        opts, custom = {}, {}
        if res.get("cpus") is not None:
            opts["num_cpus"] = res["cpus"]
        if res.get("gpus") is not None:
            opts["num_gpus"] = res["gpus"]
        if res.get("memory") is not None:
            opts["memory"] = res["memory"]
        for name, amount in res.get("custom") or []:
            custom[name] = amount
        if custom:
            opts["resources"] = custom
        need = dict(custom)
        need.update({"CPU": opts.get("num_cpus", 1), "GPU": opts.get("num_gpus", 0),
                     "memory": opts.get("memory", 0)})
        for name, amount in need.items():
            if amount and self.declared.get(name, 0) < amount:
                return None, ("the Ray cluster has %s of the resource `%s`, the task needs %s; "
                              "start nodes with `ray start ... --resources '{\"%s\": %s}'` (or "
                              "--num-cpus/--num-gpus/--memory)"
                              % (self.declared.get(name, 0), name, amount, name, amount))
        return opts, None

    def submit_many(self, items):
        """One Ray task each (Ray has no batch submission); an item that could not be
        submitted gets the exception instead of a reference."""
        refs = []
        for key, line, argv, deps, opts in items:
            try:
                refs.append(self.remote.options(name=key, max_retries=0, **opts)
                            .remote(line, argv, *deps))
            except Exception as e:  # noqa: BLE001 - the task's error goes to the driver
                refs.append(e)
        return refs

    def when_done(self, ref, callback):
        ref.future().add_done_callback(lambda _f: callback(ref))

    def result(self, ref):
        return self.ray.get(ref)

    def cancel(self, ref):
        self.ray.cancel(ref)

    def close(self):
        self.ray.shutdown()


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
        for tid, fut in zip(tids, self.backend.submit_many(items) if items else []):
            if isinstance(fut, Exception):
                self.send({"id": tid, "error": "cannot submit to %s: %s: %s"
                           % (self.backend.name, type(fut).__name__, fut)})
                continue
            self.futures[tid] = fut
            self.backend.when_done(fut, lambda f, tid=tid: self.finished(tid, f))

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
        backend = Ray() if kind == "ray" else Dask(head[1] if len(head) > 1 else None)
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

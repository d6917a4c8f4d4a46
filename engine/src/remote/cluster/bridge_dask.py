"""The bridge's Dask client (see bridge.py): submits weft's tasks to a `dask.distributed`
scheduler and takes the answers its workers publish."""

import os
import shutil
import sys
import threading

RESOURCE_NAMES = {"cpus": "CPU", "gpus": "GPU", "memory": "MEMORY"}


class Dask:
    name = "Dask"

    def __init__(self, address):
        import logging

        import dask

        # The bridge's messages are small (task lines and releases): Dask's measure of each
        # one's size, to serialize a large one off the event loop, cost more than it saves (6%
        # of the bridge's CPU in a profile of 200-task runs). A user's setting stands.
        if "DASK_DISTRIBUTED__COMM__OFFLOAD" not in os.environ:
            dask.config.set({"distributed.comm.offload": False})
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

    def when_done(self, pairs):
        """Calls each `callback` of `pairs` (future, callback) once with its task's answer: from
        its event (pushed by the scheduler before it says the task is done), or, when the task
        failed, was cancelled or its event did not come, from the future itself (a round trip
        to a worker). The futures are watched from the client's event loop, registered there
        in one hand-over for the batch (each `add_done_callback` from another thread wakes the
        loop once: a fifth of the bridge's CPU went to those wake-ups and callbacks)."""
        ready, watch = [], []
        with self.lock:
            for fut, callback in pairs:
                answer = self.early.pop(fut.key[0], None)
                if answer is None:
                    self.waiting[fut.key[0]] = callback
                    watch.append(fut)
                else:
                    ready.append((callback, answer))
        for callback, answer in ready:
            callback(answer)
        if watch:
            self.client.loop.add_callback(self._watch, watch)

    def _watch(self, futs):
        for fut in futs:
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


# Run on the cluster (pickled by value: the cluster cannot import this module; see the end).

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


# The functions above that run on the cluster (`client.run`) travel by value: the workers and
# the scheduler have no copy of this module.
def _by_value():
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])


_by_value()

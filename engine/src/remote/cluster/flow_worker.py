"""The worker half of weft's cluster bridge (`bridge.py`): what runs on a Dask or Ray worker.

weft writes this file beside `bridge.py` (Dask: uploaded to the workers under a name of the
bridge's own; Ray: in the job's working directory); users never maintain it. A cluster task
(`run_task`) hands its weft task to a worker process of the flow binary (weft's worker
primitive, one per worker thread, started once and reused) over a Unix socket; that process
reads the task's inputs from the shared store, runs the node, writes the result there and
answers with its report.
"""

import collections
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading

TAIL_LINES = 20

_local = threading.local()
# Every worker process this module started on this cluster worker: `shutdown` ends them when
# the driver's bridge closes (a Dask worker outlives its clients, and would keep them forever).
_started = []
_started_lock = threading.Lock()


class FlowWorker:
    """One worker process of the flow binary, serving weft tasks on a Unix socket."""

    def __init__(self, argv):
        self.argv = argv
        self.tail = collections.deque(maxlen=TAIL_LINES)
        d = tempfile.mkdtemp(prefix="weft-")
        path = os.path.join(d, "w.sock")
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            server.bind(path)
            server.listen(1)
            server.settimeout(0.2)
            env = dict(os.environ, WEFT_WORKER_SOCKET=path)
            self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            threading.Thread(target=self._keep_tail, daemon=True).start()
            while True:
                try:
                    self.conn, _ = server.accept()
                    break
                except socket.timeout:
                    if self.proc.poll() is not None:
                        raise RuntimeError(
                            "the flow binary %s %s without serving tasks%s"
                            % (argv[0], self._how(), self._tail_text()))
        finally:
            server.close()
            shutil.rmtree(d, ignore_errors=True)
        self.conn.settimeout(None)
        self.rfile = self.conn.makefile("rb")
        with _started_lock:
            _started.append(self)

    def _keep_tail(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            sys.stderr.write(line + "\n")
            self.tail.append(line)

    def _how(self):
        code = self.proc.returncode
        if code is None:
            return "stopped answering"
        if code < 0:
            names = {6: "aborted (SIGABRT: a failed memory allocation, an abort)",
                     9: "was killed (SIGKILL: the out-of-memory killer, or a user)",
                     11: "crashed (SIGSEGV)"}
            return names.get(-code, "was killed by signal %d" % -code)
        return "exited with status %d" % code

    def _tail_text(self):
        return "; its last output:\n  " + "\n  ".join(self.tail) if self.tail else ""

    def exchange(self, line):
        """Sends task `line`; returns the worker's report line as it came (JSON text, which
        the bridge passes on to the driver without decoding it)."""
        self.conn.sendall(line.encode("utf-8") + b"\n")
        answer = self.rfile.readline()
        if not answer.endswith(b"\n"):
            raise EOFError("the worker closed the connection")
        return answer[:-1].decode("utf-8")

    def bury(self):
        """Ends the worker process (the end of its socket ends it) and says how it ended."""
        with _started_lock:
            if self in _started:
                _started.remove(self)
        try:
            # `close` alone keeps the socket open while `rfile` refers to it.
            self.conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.rfile.close()
            self.conn.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return "worker process %d %s%s" % (self.proc.pid, self._how(), self._tail_text())


def shutdown():
    """Ends every worker process of the flow this module started here (the bridge that
    uploaded it is closing); returns how many."""
    with _started_lock:
        workers = list(_started)
        del _started[:]
    for w in workers:
        w.bury()
    return len(workers)


# Dask only: a finished task's answer, by Dask key, until `Announcer` publishes it.
_answers = {}

# The plugin's base class: Dask's, on a Dask worker (which has imported `distributed` before
# it imports this module); nothing to import on Ray's workers.
if "distributed" in sys.modules:
    from distributed.diagnostics.plugin import WorkerPlugin as _PluginBase
else:
    _PluginBase = object


class Announcer(_PluginBase):
    """A Dask worker plugin (one per bridge, named by its topic) that publishes a finished
    task's answer as the worker reports the task done, in the same message batch.

    Published from the task's own thread, the event went to the scheduler at once and the
    worker's word that the task finished waited out the worker's 2 ms send interval behind it,
    so the scheduler started the task's dependents up to 2 ms late, every round. The worker
    calls `transition` on its event loop while it records the task's end, just before it
    queues that word: both leave in one batch, the event first."""

    def __init__(self, topic):
        self.name = topic
        self.worker = None
        self.published = 0  # answers published (for the tests)

    def setup(self, worker):
        self.worker = worker

    def transition(self, key, start, finish, **kwargs):
        if not _answers:
            return
        # Any other end (cancelled, released while it ran): nobody waits for its answer.
        item = _answers.pop(key, None)
        if item is not None and finish == "memory":
            self.worker.log_event(item[0], {"key": item[1], "answer": item[2]})
            self.published += 1


def run_task(line, argv, *deps, event=None):
    """The cluster task: weft task `line` run by this thread's worker process of the flow.

    `deps` are the earlier tasks' results: unused, they are there so the cluster's scheduler
    orders and places this task after them. With `event=(TOPIC, KEY)` (Dask), the answer is
    also published as a Dask event on TOPIC, which the scheduler pushes to the bridge as the
    task ends (see `Dask.when_done`; by the bridge's `Announcer` when the worker has it, else
    from here); it is returned in any case."""
    del deps
    answer = _run_task(line, argv)
    if event is not None:
        try:
            from distributed import get_worker

            worker = get_worker()
            if event[0] in worker.plugins:
                _answers[worker.get_current_task()] = (event[0], event[1], answer)
            else:
                worker.log_event(event[0], {"key": event[1], "answer": answer})
        except Exception:  # noqa: BLE001 - the bridge gathers the returned answer instead
            pass
    return answer


def run_dask_task(line, argv, deps, event):
    """`run_task` as Dask's `Client.map` calls it (the dependencies' futures in one list)."""
    return run_task(line, argv, *deps, event=event)


def _run_task(line, argv):
    # The flow binary's absolute path, made executable (a zip shipped to Ray loses the mode).
    argv = [os.path.abspath(argv[0])] + list(argv[1:])
    st = os.stat(argv[0])
    if not st.st_mode & stat.S_IXUSR:
        os.chmod(argv[0], st.st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    # A rebuilt binary gets a new worker (the old one would refuse the new code's tasks).
    key = (tuple(argv), st.st_mtime_ns, st.st_ino)
    worker = getattr(_local, "worker", None)
    if worker is not None and (worker[0] != key or worker[1].proc.poll() is not None):
        worker[1].bury()
        worker = None
    if worker is None:
        try:
            worker = (key, FlowWorker(argv))
        except Exception as e:  # noqa: BLE001 - the message goes back to the driver
            return {"crashed": "cannot start a worker of the flow on %s: %s"
                    % (socket.gethostname(), e)}
        _local.worker = worker
    try:
        return {"report": worker[1].exchange(line)}
    except (OSError, EOFError, ValueError):
        _local.worker = None
        return {"crashed": worker[1].bury()}

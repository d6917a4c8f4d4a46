"""weft's Dask driver: runs one weft plan on a dask.distributed scheduler (see plan_runner.py).

Each plan task becomes one future submitted with its dependencies' futures as arguments, so
Dask's scheduler places and orders them. With no scheduler address, a LocalCluster is started
for the run and closed afterwards.
"""

import sys

from dask.distributed import Client, LocalCluster, as_completed

import plan_runner


def main(plan_path, address=None):
    plan = plan_runner.load_plan(plan_path)
    binary = plan_runner.binary_path(plan)
    cluster = None
    if address:
        client = Client(address, timeout="30s")
    else:
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                               dashboard_address=None)
        client = Client(cluster)
    try:
        # Workers import the task body from this module: ship it to them.
        client.upload_file(plan_runner.__file__)
        futures, tasks = {}, {}
        for task in plan_runner.topological(plan["tasks"]):
            res = task.get("resources") or {}
            custom = dict(res.get("custom") or {})
            fut = client.submit(plan_runner.run_task, task, binary,
                                [futures[d] for d in task["deps"]],
                                key="weft-%s-%s" % (task["name"], task["id"]), pure=False,
                                retries=0, resources=custom or None)
            futures[task["id"]] = fut
            tasks[fut.key] = task
            plan_runner.emit("submitted", id=task["id"], name=task["name"])
        failed = stopping = False
        for fut in as_completed(list(futures.values())):
            task = tasks[fut.key]
            if fut.cancelled():
                result = {"id": task["id"], "name": task["name"], "outcome": "cancelled"}
            else:
                try:
                    result = fut.result()
                except Exception as e:  # the worker died or the task raised
                    result = {"id": task["id"], "name": task["name"], "outcome": "failed",
                              "stderr_tail": "Dask task failed: %s" % e}
            plan_runner.emit("finished", **result)
            if result["outcome"] == "failed":
                failed = True
                if not plan["keep_going"] and not stopping:
                    stopping = True
                    client.cancel([f for f in futures.values() if not f.done()])
        plan_runner.emit("done", failed=failed)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)

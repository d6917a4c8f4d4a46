"""weft's Ray driver: runs one weft plan as Ray tasks inside one Ray job (see plan_runner.py).

weft submits it through Ray's Jobs REST API as the job's entrypoint, with the flow binary, this
script and plan_runner.py in the job's working_dir. Each plan task becomes one Ray task with the
node's resources; dependencies are passed as ObjectRefs, so Ray schedules them.
"""

import sys

import ray

import plan_runner


def main(plan_path):
    plan = plan_runner.load_plan(plan_path)
    binary = plan_runner.binary_path(plan)
    ray.init(address="auto", log_to_driver=False)

    @ray.remote
    def task_body(task, binary, *deps):
        return plan_runner.run_task(task, binary, list(deps))

    refs, names = {}, {}
    for task in plan_runner.topological(plan["tasks"]):
        res = task.get("resources") or {}
        options = {"num_cpus": res.get("cpus") if res.get("cpus") is not None else 1,
                   "max_retries": 0}
        if res.get("gpus"):
            options["num_gpus"] = res["gpus"]
        if res.get("memory"):
            options["memory"] = int(res["memory"])
        if res.get("custom"):
            options["resources"] = dict(res["custom"])
        ref = task_body.options(**options).remote(task, binary, *[refs[d] for d in task["deps"]])
        refs[task["id"]] = ref
        names[ref] = task
        plan_runner.emit("submitted", id=task["id"], name=task["name"])

    pending = list(refs.values())
    failed = stopping = False
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        for ref in ready:
            task = names[ref]
            try:
                result = ray.get(ref)
            except ray.exceptions.TaskCancelledError:
                result = {"id": task["id"], "name": task["name"], "outcome": "cancelled"}
            except Exception as e:  # the task itself died (worker crash, out of memory)
                result = {"id": task["id"], "name": task["name"], "outcome": "failed",
                          "stderr_tail": "Ray task failed: %s" % e}
            plan_runner.emit("finished", **result)
            if result["outcome"] == "failed":
                failed = True
            if failed and not plan["keep_going"] and not stopping:
                stopping = True
                for other in pending:
                    ray.cancel(other, force=False)
    plan_runner.emit("done", failed=failed)


if __name__ == "__main__":
    main(sys.argv[1])

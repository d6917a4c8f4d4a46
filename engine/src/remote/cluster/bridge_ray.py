"""The bridge's Ray client (see bridge.py): runs as a Ray job's entrypoint and turns weft's
tasks into Ray tasks."""


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

    def when_done(self, pairs):
        for ref, callback in pairs:
            ref.future().add_done_callback(lambda _f, ref=ref, callback=callback: callback(ref))

    def result(self, ref):
        return self.ray.get(ref)

    def cancel(self, ref):
        self.ray.cancel(ref)

    def close(self):
        self.ray.shutdown()

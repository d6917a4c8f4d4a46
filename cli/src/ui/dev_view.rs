//! `weft dev --ui`: the web view of the flow's cache, following the code-edit loop. The flow
//! runs in a child process (rebuilt on each save), so its nodes' progress is not seen here;
//! the pages hear why each rerun happened (the source files saved, or a failed build) and
//! show the new run's picture when the flow exits. The server starts once the flow's cache
//! exists (after the first successful run): the view never creates a cache itself.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;
use weft::Cache;

use super::args::Listen;
use super::live::Hub;
use super::{safety, FlowInfo, Server};

/// The live view of a `weft dev` session.
pub(crate) struct DevView {
    hub: Hub,
    listen: Listen,
    cache_dir: PathBuf,
    /// Opened once the cache exists.
    cache: Option<Cache>,
    reason: String,
    /// Cycles ended so far (the number of the next one, less one).
    cycles: u64,
}

impl DevView {
    /// A view of `cache_dir` (the flow's `--cache-dir`, relative to the crate's directory).
    pub(crate) fn new(listen: Listen, cache_dir: PathBuf) -> DevView {
        DevView {
            hub: Hub::default(),
            listen,
            cache_dir,
            cache: None,
            reason: "first run".into(),
            cycles: 0,
        }
    }

    /// A rebuild starts because `paths` were saved.
    pub(crate) fn rebuilding(&mut self, paths: &[PathBuf]) {
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        self.reason = match shown.as_slice() {
            [] => "sources changed".into(),
            _ => format!("{} changed", shown.join(", ")),
        };
        self.hub.send(json!({
            "kind": "reason",
            "reason": self.reason,
            "files": shown,
        }));
    }

    /// The cycle ended: the build failed (`None`), or the flow exited with `code`.
    pub(crate) fn cycle_ended(&mut self, code: Option<i32>, took: Duration) {
        if self.cache.is_none() {
            self.start();
        }
        let last = self
            .cache
            .as_ref()
            .and_then(|c| c.runs().ok())
            .and_then(|mut runs| runs.pop());
        if let (Some(run), Some(_)) = (&last, code) {
            self.hub.send(json!({
                "kind": "run_started",
                "run_id": run.run_id,
                "outputs": run.outputs,
                "path": [],
            }));
        }
        let status = match code {
            Some(0) => "completed",
            Some(_) => "failed",
            None => "build failed",
        };
        self.cycles += 1;
        self.hub
            .run_ended(self.cycles, status, self.reason.clone(), took);
    }

    /// Starts the server if the cache is there now.
    fn start(&mut self) {
        let Ok(dir) = safety::cache_dir(&self.cache_dir) else {
            return;
        };
        let cache = match Cache::open(&dir) {
            Ok(c) => c,
            Err(e) => {
                outln!("weft dev: cannot open the cache for --ui: {e}");
                return;
            }
        };
        match Server::live(
            cache.clone(),
            &dir,
            FlowInfo::default(),
            self.hub.clone(),
            &self.listen,
        ) {
            Ok(server) => {
                server.announce("live view");
                // Dropping the handle detaches the server's thread: it serves until exit.
                drop(server);
                self.cache = Some(cache);
            }
            Err(e) => outln!("weft dev: --ui: {}", e.message),
        }
    }
}

/// The cache directory the flow arguments name (`--cache-dir DIR`), or the flow's default,
/// relative to the crate's directory `dir`.
pub(crate) fn cache_dir_of(dir: &Path, flow_args: &[String]) -> PathBuf {
    let mut given = None;
    for (i, a) in flow_args.iter().enumerate() {
        if let Some(v) = a.strip_prefix("--cache-dir=") {
            given = Some(v.to_string());
        } else if a == "--cache-dir" {
            given = flow_args.get(i + 1).cloned();
        }
    }
    dir.join(given.unwrap_or_else(|| ".weft/cache".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_directory_comes_from_the_flow_arguments() {
        let d = Path::new("/crate");
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(cache_dir_of(d, &args(&["build"])), d.join(".weft/cache"));
        assert_eq!(
            cache_dir_of(d, &args(&["build", "--cache-dir", "c"])),
            d.join("c")
        );
        assert_eq!(
            cache_dir_of(d, &args(&["build", "--cache-dir=/abs"])),
            Path::new("/abs")
        );
    }
}

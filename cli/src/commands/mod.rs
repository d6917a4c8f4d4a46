//! The flow CLI's commands, one file each, and [`dispatch`], which runs the parsed one.
//!
//! `build` and `watch` share [`request`] (outputs, inputs, config and cache checked before
//! anything runs) and [`execute`] (the driver for `--executor`, the only place that knows the
//! async driver). `cache` is shared with the standalone `weft` tool.

use weft::{Builder, Driver, Inputs};

use crate::args::{ConfigArgs, FlowCommand};
use crate::error::CliError;
use crate::{inputs, Cli, Exit};

mod build;
pub(crate) mod cache;
mod cache_dir;
mod cluster;
pub(crate) mod completions;
mod execute;
mod explain;
mod failure;
mod list;
mod request;
mod viz;
mod watch;
pub(crate) mod worker;

/// Runs `command` for the flow of `cli`; `bin` is the program's name (for hints and help).
pub(crate) fn dispatch(cli: &Cli, command: FlowCommand, bin: &str) -> Result<Exit, CliError> {
    match command {
        FlowCommand::Build(a) => build::run(cli, a),
        FlowCommand::Watch(a) => watch::run(cli, a),
        FlowCommand::List(a) => list::run(cli, a),
        FlowCommand::Viz(a) => viz::run(cli, a),
        FlowCommand::Explain(a) => explain::run(cli, a, bin),
        FlowCommand::Cache(a) => cache::run(a, bin).map(|()| Exit::Success),
        FlowCommand::Completions(a) => {
            completions::print(a.shell, &mut cli.command(bin), bin)?;
            Ok(Exit::Success)
        }
        #[cfg(feature = "ui")]
        FlowCommand::Ui(a) => {
            let driver = cli.graph_driver(&ConfigArgs::default())?;
            let flow = crate::ui::FlowInfo::of(driver.graph());
            crate::ui::server::serve(&a, Some(flow)).map(|()| Exit::Success)
        }
    }
}

impl Cli {
    /// A builder with the flow's modules, config and customizations (no cache, no progress).
    fn builder(&self) -> Builder {
        let mut b = Builder::new().with_modules(self.modules.clone());
        for c in &self.config {
            b = b.with_config(c.clone());
        }
        for f in &self.customize {
            b = f(b);
        }
        b
    }

    /// The driver for commands that only look at the graph, with `--config` applied.
    fn graph_driver(&self, config: &ConfigArgs) -> Result<Driver, CliError> {
        self.checked(config).map(|(driver, _)| driver)
    }

    /// A driver without cache with `--config` applied, and that config parsed (the types of
    /// config keys come from the graph, so it is built once without them first).
    fn checked(&self, config: &ConfigArgs) -> Result<(Driver, Inputs), CliError> {
        let probe = self.builder().build().map_err(build_error)?;
        if config.config.is_empty() {
            return Ok((probe, Inputs::new()));
        }
        let parsed = inputs::parse_config(probe.graph(), &config.config)?;
        let driver = self
            .builder()
            .with_config(parsed.clone())
            .build()
            .map_err(build_error)?;
        Ok((driver, parsed))
    }
}

/// A graph that does not build is a usage error (exit code 2): nothing ran. A cache that
/// cannot be opened is a run-time failure (exit code 1), like every other cache problem.
fn build_error(e: weft::BuildError) -> CliError {
    let cache: Vec<&str> = e
        .problems
        .iter()
        .filter_map(|p| match p {
            weft::Problem::Cache(m) => Some(m.as_str()),
            _ => None,
        })
        .collect();
    if !cache.is_empty() && cache.len() == e.problems.len() {
        return CliError::failure(cache.join("\n"));
    }
    CliError::usage(e.to_string())
}

#[cfg(test)]
pub(crate) mod tests {
    use weft::NodeKind;

    use super::*;

    pub mod nodes {
        use weft::prelude::*;

        #[node]
        pub fn ratio(spend: &f64, target: &f64) -> f64 {
            spend / target
        }

        #[node]
        pub fn doubled(ratio: &f64) -> f64 {
            ratio * 2.0
        }

        #[node]
        pub fn halved(ratio: &f64) -> f64 {
            ratio / 2.0
        }
    }

    /// The CLI of [`nodes`].
    pub(crate) fn cli() -> Cli {
        Cli::new(weft::modules![crate::commands::tests::nodes])
    }

    #[test]
    fn command_line_config_adds_to_the_program_config_and_wins() {
        let cli = cli().with_config(weft::inputs! { "target" => 2.0 });
        let (driver, _) = cli.checked(&ConfigArgs::default()).unwrap();
        assert!(matches!(
            driver.graph().node("target").unwrap().kind(),
            NodeKind::Config { .. }
        ));
        let out = driver
            .execute(&["ratio"], weft::inputs! { "spend" => 10.0 })
            .unwrap();
        assert_eq!(*out.get::<f64>("ratio").unwrap(), 5.0);

        let args = ConfigArgs {
            config: vec![("target".into(), "4".into())],
        };
        let (driver, parsed) = cli.checked(&args).unwrap();
        assert_eq!(parsed.get::<f64>("target"), Some(&4.0));
        let out = driver
            .execute(&["ratio"], weft::inputs! { "spend" => 10.0 })
            .unwrap();
        assert_eq!(*out.get::<f64>("ratio").unwrap(), 2.5, "--config wins");

        let bad = ConfigArgs {
            config: vec![("target".into(), "four".into())],
        };
        let e = cli.checked(&bad).err().unwrap();
        assert_eq!(e.exit, Exit::Usage);
        assert!(
            e.message
                .contains("config `target` expects a `f64`, but `four` is not one"),
            "{}",
            e.message
        );
    }

    #[test]
    fn run_from_maps_usage_errors_to_exit_2() {
        assert_eq!(cli().run_from(["flow", "frobnicate"]), Exit::Usage);
        assert_eq!(
            cli().run_from(["flow", "build", "--no-cache", "nope"]),
            Exit::Usage
        );
    }
}

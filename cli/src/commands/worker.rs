//! `FLOW __weft-worker [--config NAME=VALUE]…` (hidden): the flow binary as a worker of a
//! process pool (`--executor processes:N`, `weft::remote::ProcessPool`). It builds the same
//! graph as the driver and serves tasks on the socket the pool gives it until the pool closes
//! it.

use std::ffi::OsString;

use crate::args::ConfigArgs;
use crate::error::{report, CliError, Exit};
use crate::Cli;

/// Serves tasks; `args` are what follows `__weft-worker`.
pub(crate) fn serve(cli: &Cli, args: &[OsString]) -> Exit {
    match run(cli, args) {
        Ok(()) => Exit::Success,
        Err(e) => report(e),
    }
}

fn run(cli: &Cli, args: &[OsString]) -> Result<(), CliError> {
    let mut config = ConfigArgs { config: Vec::new() };
    let mut rest = args.iter();
    while let Some(a) = rest.next() {
        let pair = match (a.to_str(), rest.next().and_then(|v| v.to_str())) {
            (Some("--config"), Some(pair)) => pair,
            _ => {
                return Err(CliError::usage(format!(
                    "a weft worker takes only `--config NAME=VALUE` arguments, got `{}`",
                    a.to_string_lossy()
                )))
            }
        };
        config
            .config
            .push(crate::args::key_value(pair).map_err(CliError::usage)?);
    }
    let (driver, _) = cli.checked(&config)?;
    driver
        .serve_worker()
        .map_err(|e| CliError::failure(format!("the worker stopped: {e}")))
}

//! `viz`: a picture of the DAG, or of what computing OUTPUTS involves (SVG or DOT).

use crate::args::VizArgs;
use crate::error::CliError;
use crate::{Cli, Exit};

use super::failure::execute_error;

/// Runs `viz`: writes the picture and says where.
pub(super) fn run(cli: &Cli, a: VizArgs) -> Result<Exit, CliError> {
    let driver = cli.graph_driver(&a.config)?;
    let picture = if a.outputs.is_empty() {
        driver.display_all()
    } else {
        let names: Vec<&str> = a.outputs.iter().map(String::as_str).collect();
        driver
            .visualize_execution(&names, &[])
            .map_err(execute_error)?
    };
    picture
        .write(&a.output)
        .map_err(|e| CliError::failure(e.to_string()))?;
    eprintln!(
        "wrote {} ({} nodes)",
        a.output.display(),
        picture.nodes.len()
    );
    Ok(Exit::Success)
}

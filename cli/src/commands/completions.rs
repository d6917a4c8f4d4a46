//! `completions SHELL`: a shell completion script, for the flow CLI and the `weft` tool.

use crate::error::CliError;
use crate::output;

/// Prints the completion script of `cmd` for `shell` on stdout.
pub(crate) fn print(
    shell: clap_complete::Shell,
    cmd: &mut clap::Command,
    bin: &str,
) -> Result<(), CliError> {
    let mut script = Vec::new();
    clap_complete::generate(shell, cmd, bin, &mut script);
    output::to_stdout("the completion script", &String::from_utf8_lossy(&script))
}

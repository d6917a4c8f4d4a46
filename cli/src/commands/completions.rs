//! `completions SHELL`: a shell completion script, for the flow CLI and the `weft` tool.

/// Prints the completion script of `cmd` for `shell` on stdout.
pub(crate) fn print(shell: clap_complete::Shell, cmd: &mut clap::Command, bin: &str) {
    let mut script = Vec::new();
    clap_complete::generate(shell, cmd, bin, &mut script);
    out!("{}", String::from_utf8_lossy(&script));
}

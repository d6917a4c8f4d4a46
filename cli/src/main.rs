//! The `weft` tool: `weft cache …` on any cache directory, `weft new NAME`, `weft completions
//! SHELL`. Run `weft --help`.

fn main() -> std::process::ExitCode {
    weft_cli::tool::run(std::env::args_os()).into()
}

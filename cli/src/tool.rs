//! The standalone `weft` binary: `weft cache …`, `weft new`, `weft dev`, `weft completions`. Its `main` is
//! [`run`]; it lives in the library so that the flow CLI and the tool share the cache commands.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::args::CompletionsArgs;
use crate::commands::cache::{self, CacheArgs};
use crate::commands::completions;
use crate::error::{report, CliError};
use crate::examples::render_examples;
use crate::scaffold::{self, Source};
use crate::Exit;

/// The weft tool.
#[derive(Parser, Debug)]
#[command(
    name = "weft",
    version,
    about = "The weft tool: inspect and clean caches, start new flows",
    long_about = "The weft tool: inspect and clean caches, start new flows.\n\n\
        A flow's own binary (built with `weft_cli::main`) runs it: `build`, `list`, `viz`, \
        `explain`. This tool needs no flow: it works on cache directories and creates flow \
        crates.",
    disable_help_subcommand = true,
    max_term_width = 100
)]
struct ToolArgs {
    #[command(subcommand)]
    command: ToolCommand,
}

#[derive(Subcommand, Debug)]
enum ToolCommand {
    /// Inspect and clean a cache directory: runs, per-node records, pictures, gc
    Cache(CacheArgs),
    /// Create a new flow crate: Cargo.toml, src/main.rs with the CLI, src/nodes.rs with tests
    New(NewArgs),
    /// Print a shell completion script for `weft`
    Completions(CompletionsArgs),
    /// Watch a flow crate: rebuild on save and rerun the flow (only edited nodes rerun)
    Dev(crate::dev::DevArgs),
    /// Serve the web view of a cache directory: runs, pictures, timings, explanations, values
    /// (on 127.0.0.1)
    #[cfg(feature = "ui")]
    Ui(crate::ui::UiArgs),
}

#[derive(clap::Args, Debug)]
struct NewArgs {
    /// The directory to create; its last component is the package name
    #[arg(value_name = "NAME")]
    path: PathBuf,

    /// Depend on this local checkout of weft (the directory holding engine/ and cli/); default:
    /// the checkout this `weft` was built from
    #[arg(long, value_name = "DIR", conflicts_with = "weft_version")]
    weft_path: Option<PathBuf>,

    /// Depend on this released version of weft from crates.io (`weft-dataflow`,
    /// `weft-dataflow-cli`) instead of a checkout
    #[arg(long, value_name = "VERSION")]
    weft_version: Option<String>,
}

fn command() -> clap::Command {
    let mut cmd = ToolArgs::command();
    cmd = cmd.mut_subcommand("cache", |c| cache::with_examples(c, "weft"));
    cmd = cmd.mut_subcommand("new", |c| {
        c.after_help(render_examples(
            "weft",
            &[
                "weft new spend_report",
                "weft new flows/spend_report --weft-path ~/src/weft",
                "cd spend_report && cargo run -- build --input text=\"to be or not to be\"",
            ],
        ))
    });
    cmd = cmd.mut_subcommand("dev", |c| {
        c.after_help(render_examples(
            "weft",
            &[
                "weft dev -- build report --input spend=10 --input signups=4",
                "weft dev -p spend_report --dir flows -- build --inputs inputs.json",
            ],
        ))
    });
    #[cfg(feature = "ui")]
    {
        cmd = cmd.mut_subcommand("ui", |c| {
            c.after_help(render_examples(
                "weft",
                &[
                    "weft ui                                  # .weft/cache on http://127.0.0.1:7878/",
                    "weft ui --cache flows/report/.weft/cache --port 0",
                ],
            ))
        });
    }
    cmd = cmd.mut_subcommand("completions", |c| {
        c.after_help(render_examples(
            "weft",
            &[
                "weft completions bash > ~/.local/share/bash-completion/completions/weft",
                "weft completions zsh > ~/.zfunc/_weft",
                "weft completions fish > ~/.config/fish/completions/weft.fish",
            ],
        ))
    });
    cmd.after_help(render_examples(
        "weft",
        &[
            "weft cache runs",
            "weft cache --cache ./my_cache show",
            "weft new spend_report",
            "weft ui",
        ],
    ))
}

/// Runs the `weft` tool with `args` (the first is the program name) and returns how it ended.
pub fn run<I, T>(args: I) -> Exit
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let matches = match command().try_get_matches_from(args) {
        Ok(m) => m,
        Err(e) => return crate::clap_exit(&e),
    };
    let parsed = match ToolArgs::from_arg_matches(&matches) {
        Ok(p) => p,
        Err(e) => return crate::clap_exit(&e),
    };
    let result = match parsed.command {
        ToolCommand::Cache(a) => cache::run(a, "weft"),
        ToolCommand::New(a) => new(a),
        ToolCommand::Dev(a) => crate::dev::run(a),
        ToolCommand::Completions(a) => completions::print(a.shell, &mut command(), "weft"),
        #[cfg(feature = "ui")]
        ToolCommand::Ui(a) => crate::ui::server::serve(&a, None),
    };
    match result {
        Ok(()) => Exit::Success,
        Err(e) => report(e),
    }
}

fn new(a: NewArgs) -> Result<(), CliError> {
    let source = match (&a.weft_path, &a.weft_version) {
        (Some(dir), _) => Source::Path(scaffold::weft_checkout(dir)?),
        (None, Some(v)) => Source::Version(v.clone()),
        (None, None) => Source::Path(scaffold::own_checkout()?),
    };
    let name = scaffold::create(&a.path, &source)?;
    let dir = a.path.display();
    outln!("created flow `{name}` in {dir}");
    match &source {
        Source::Path(root) => outln!("  weft and weft-cli from {}", root.display()),
        Source::Version(v) => outln!("  weft-dataflow and weft-dataflow-cli {v} from crates.io"),
    }
    outln!("next:");
    outln!("  cd {dir}");
    outln!("  cargo test");
    outln!("  cargo run -- build --input text=\"to be or not to be\"");
    outln!("  cargo run -- --help");
    Ok(())
}

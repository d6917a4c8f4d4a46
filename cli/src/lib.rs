//! # weft-cli
//!
//! The command line of [`weft`] flows. One line turns a flow into a CLI:
//!
//! ```no_run
//! mod nodes {
//!     use weft::prelude::*;
//!
//!     /// Spend per signup.
//!     #[node]
//!     pub fn spend_per_signup(spend: &f64, signups: &u64) -> Result<f64, String> {
//!         if *signups == 0 {
//!             return Err("no signups: cannot divide by zero".into());
//!         }
//!         Ok(spend / *signups as f64)
//!     }
//! }
//!
//! fn main() {
//!     weft_cli::main(weft::modules![crate::nodes])
//! }
//! ```
//!
//! The binary then has these subcommands (each with `--help` and examples):
//!
//! | command | what it does |
//! |---|---|
//! | `build [OUTPUTS…] --input k=v …` | computes the outputs (default: every node nothing depends on), cached in `.weft/cache` |
//! | `list [--json]` | the nodes (module, type, doc, tags, dependencies), the inputs, the config |
//! | `viz [OUTPUTS…] -o dag.svg` | a picture of the DAG, or of what computing OUTPUTS involves (`.dot` for DOT) |
//! | `explain NODE [--run RUN]` | why the node executed, or hit the cache, in the last (or given) run |
//! | `cache runs\|show\|explain\|view\|gc\|clear` | the cache directory, without running anything |
//! | `ui [--cache DIR] [--port P]` | the web view of the cache: runs, pictures, timings, explanations (feature `ui`, on by default) |
//! | `completions SHELL` | a completion script for bash, zsh, fish, PowerShell or elvish |
//!
//! Exit codes ([`Exit`]): 0 success, 1 a node failed, 2 a usage, graph or input error. Errors go
//! to stderr; results to stdout; progress and the summary to stderr.
//!
//! The `weft` binary of this crate works without any flow: `weft cache …` on any cache
//! directory, `weft new NAME` to start a flow crate, `weft completions SHELL`.
//!
//! See the book's "Command line" chapter for every command with examples.

#![warn(missing_docs)]

use std::ffi::OsString;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{CommandFactory, FromArgMatches};
use weft::{Builder, Inputs, Modules};

/// `println!` that ignores a closed stdout (`flow list | head -3` must not panic).
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

/// `print!` that ignores a closed stdout.
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($t)*);
    }};
}

mod args;
mod commands;
mod dev;
mod error;
mod examples;
mod inputs;
mod output;
mod progress;
mod render;
mod scaffold;
mod text;
#[doc(hidden)]
pub mod tool;
#[cfg(feature = "ui")]
mod ui;

pub use error::Exit;

/// The book's "Command line" chapter: its Rust snippets compile as doctests of this crate
/// (they use `weft_cli`, which the engine's doctests cannot).
#[cfg(doctest)]
#[doc = include_str!("../../book/src/command-line.md")]
mod book_command_line {}

use args::FlowArgs;
use error::report;

/// Runs the flow made of `modules` as a command line, with the process's arguments, and exits
/// with the command's exit code ([`Exit`]). Never returns, so that `fn main` stays one line.
///
/// ```no_run
/// mod nodes {
///     use weft::prelude::*;
///     #[node]
///     pub fn doubled(x: &i64) -> i64 { x * 2 }
/// }
///
/// fn main() {
///     weft_cli::main(weft::modules![crate::nodes])
/// }
/// ```
///
/// Use [`Cli`] to add build-time config, a name, or builder customizations.
pub fn main(modules: Modules) -> ! {
    let exit = Cli::new(modules).run_from(std::env::args_os());
    let _ = std::io::Write::flush(&mut std::io::stdout());
    std::process::exit(i32::from(exit.code()))
}

type Customize = Arc<dyn Fn(Builder) -> Builder + Send + Sync>;

/// A flow's command line, configured step by step; [`run`](Cli::run) parses the process's
/// arguments and executes the command.
///
/// ```no_run
/// mod nodes {
///     use weft::prelude::*;
///     /// Cost per signup relative to the target.
///     #[node]
///     pub fn cost_ratio(spend_per_signup: &f64, target_cost: &f64) -> f64 {
///         spend_per_signup / target_cost
///     }
/// }
///
/// fn main() -> std::process::ExitCode {
///     weft_cli::Cli::new(weft::modules![crate::nodes])
///         .name("marketing")
///         .about("Marketing metrics")
///         .with_config(weft::inputs! { "target_cost" => 2.0 })
///         .with_builder(|b| b.with_adapter(weft::TracingAdapter))
///         .run()
/// }
/// ```
#[derive(Clone)]
pub struct Cli {
    modules: Modules,
    /// Applied in order, so later values win (`Inputs` cannot be merged outside the engine).
    config: Vec<Inputs>,
    customize: Vec<Customize>,
    name: Option<String>,
    about: Option<String>,
}

impl Cli {
    /// The command line of the flow made of `modules` (see [`weft::modules!`]).
    pub fn new(modules: Modules) -> Self {
        Cli {
            modules,
            config: Vec::new(),
            customize: Vec::new(),
            name: None,
            about: None,
        }
    }

    /// Build-time config the program sets itself (as [`Builder::with_config`]); `--config
    /// k=v` on the command line adds to it and wins on the same key.
    pub fn with_config(mut self, config: Inputs) -> Self {
        self.config.push(config);
        self
    }

    /// Customizes the [`Builder`] before each build (adapters, run-time nodes, module
    /// overrides). The closure may be called more than once. The command line's cache flags
    /// replace any cache configuration set here.
    pub fn with_builder(mut self, f: impl Fn(Builder) -> Builder + Send + Sync + 'static) -> Self {
        self.customize.push(Arc::new(f));
        self
    }

    /// The name shown in help and used for completions (default: the executable's file name).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The one-line description shown at the top of `--help`.
    pub fn about(mut self, about: impl Into<String>) -> Self {
        self.about = Some(about.into());
        self
    }

    /// Parses the process's arguments, runs the command, and returns its exit code.
    pub fn run(self) -> ExitCode {
        self.run_from(std::env::args_os()).into()
    }

    /// Parses `args` (the first is the program's name, as in `std::env::args_os()`), runs the
    /// command, printing results on stdout and errors on stderr, and returns how it ended.
    pub fn run_from<I, T>(self, args: I) -> Exit
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        if args.get(1).is_some_and(|a| a == weft::remote::WORKER_ARG) {
            return commands::worker::serve(&self, &args[2..]);
        }
        let bin = self
            .name
            .clone()
            .unwrap_or_else(|| program_name(args.first(), "flow"));
        let matches = match self.command(&bin).try_get_matches_from(&args) {
            Ok(m) => m,
            Err(e) => return clap_exit(&e),
        };
        let parsed = match FlowArgs::from_arg_matches(&matches) {
            Ok(p) => p,
            Err(e) => return clap_exit(&e),
        };
        match commands::dispatch(&self, parsed.command, &bin) {
            Ok(exit) => exit,
            Err(e) => report(e),
        }
    }

    /// The clap command, named `bin`, with examples in every subcommand's help.
    fn command(&self, bin: &str) -> clap::Command {
        let mut cmd = FlowArgs::command()
            .name(bin.to_string())
            .bin_name(bin.to_string());
        if let Some(about) = &self.about {
            cmd = cmd.about(about.clone()).long_about(None);
        }
        let mut subs = vec!["build", "watch", "list", "viz", "explain", "completions"];
        if cfg!(feature = "ui") {
            subs.push("ui");
        }
        for sub in subs {
            let ex = examples::flow_examples(bin, sub).unwrap_or_default();
            cmd = cmd.mut_subcommand(sub, |c| c.after_help(ex));
        }
        cmd = cmd.mut_subcommand("cache", |c| commands::cache::with_examples(c, bin));
        cmd.after_help(examples::render_examples(
            bin,
            &[
                "{bin} build --input spend=10.5 --input signups=4",
                "{bin} list",
                "{bin} viz -o dag.svg",
                "{bin} cache show",
            ],
        ))
    }
}

/// Prints a clap error (or help) and maps it to an exit status.
pub(crate) fn clap_exit(e: &clap::Error) -> Exit {
    let _ = e.print();
    if e.use_stderr() {
        Exit::Usage
    } else {
        Exit::Success
    }
}

/// The file name of `argv[0]` without extension, or `fallback`.
pub(crate) fn program_name(arg0: Option<&OsString>, fallback: &str) -> String {
    arg0.map(std::path::Path::new)
        .and_then(|p| p.file_stem())
        .and_then(|s| s.to_str())
        .filter(|s| !s.is_empty())
        .map_or_else(|| fallback.to_string(), str::to_string)
}

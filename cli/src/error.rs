//! Exit statuses and the error the commands return.

use std::fmt;
use std::process::ExitCode;

/// How a command ended; its [`code`](Exit::code) is the process exit code.
///
/// | code | meaning |
/// |---|---|
/// | 0 | success |
/// | 1 | a node failed (or the results or a file could not be written, or the cache could not be read) |
/// | 2 | a usage, graph or input error (an input given twice, a cache directory that cannot be created): nothing was executed |
///
/// ```
/// use weft_cli::Exit;
/// assert_eq!(Exit::Success.code(), 0);
/// assert_eq!(Exit::Failure.code(), 1);
/// assert_eq!(Exit::Usage.code(), 2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Exit {
    /// Everything went well (exit code 0).
    Success,
    /// A node failed, or an operation on files or the cache failed (exit code 1).
    Failure,
    /// Bad arguments, an invalid graph, bad or missing inputs, unknown names (exit code 2).
    Usage,
}

impl Exit {
    /// The process exit code: 0, 1 or 2.
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::Usage => 2,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}

/// A command's failure: the exit status and the message printed on stderr after `error: `.
#[derive(Debug)]
pub(crate) struct CliError {
    pub(crate) exit: Exit,
    pub(crate) message: String,
}

impl CliError {
    /// A usage, graph or input error (exit code 2).
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        CliError {
            exit: Exit::Usage,
            message: message.into(),
        }
    }

    /// A run-time failure (exit code 1).
    pub(crate) fn failure(message: impl Into<String>) -> Self {
        CliError {
            exit: Exit::Failure,
            message: message.into(),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Prints the error on stderr the way every command does, and returns its exit status.
pub(crate) fn report(e: CliError) -> Exit {
    eprintln!("error: {}", e.message.trim_end());
    e.exit
}

/// The closest of `candidates` to `name`, as ` (did you mean `x`?)`, or an empty string.
pub(crate) fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> String {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

/// `a`, `b` and `c` as "`a`, `b`, `c`", or "(none)".
pub(crate) fn name_list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let v: Vec<String> = names.into_iter().map(|n| format!("`{n}`")).collect();
    if v.is_empty() {
        "(none)".to_string()
    } else {
        v.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            did_you_mean("reprot", ["report", "cost_ratio"]),
            " (did you mean `report`?)"
        );
        assert_eq!(did_you_mean("zzz", ["report"]), "");
        assert_eq!(name_list(["a", "b"]), "`a`, `b`");
        assert_eq!(name_list([]), "(none)");
    }
}

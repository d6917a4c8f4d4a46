//! How an execution error is reported: its exit code and message.

use weft::ExecuteError;

use crate::error::CliError;

/// An execution error: a failed node is exit code 1, with its error chain and upstream path.
pub(super) fn execute_error(e: ExecuteError) -> CliError {
    match e {
        e @ ExecuteError::NodeFailed { .. } => CliError::failure(node_failed(e)),
        ExecuteError::Many(errors) => {
            let n = errors.len();
            let all_nodes = errors
                .iter()
                .all(|e| matches!(e, ExecuteError::NodeFailed { .. }));
            let mut m = format!("{n} nodes failed:");
            for e in errors {
                m.push_str("\n  - ");
                m.push_str(&node_failed(e).replace('\n', "\n    "));
            }
            if all_nodes {
                CliError::failure(m)
            } else {
                CliError::usage(m)
            }
        }
        e @ (ExecuteError::UnknownOutputs(_) | ExecuteError::BadInputs(_)) => {
            CliError::usage(e.to_string())
        }
        other => CliError::failure(other.to_string()),
    }
}

/// `node `x` failed: …`, each cause, and the upstream path.
fn node_failed(e: ExecuteError) -> String {
    let ExecuteError::NodeFailed { node, path, source } = e else {
        return e.to_string();
    };
    let chain = source.chain();
    let mut m = format!(
        "node `{node}` failed: {}",
        chain.first().map_or("", String::as_str)
    );
    for cause in chain.iter().skip(1) {
        m.push_str(&format!("\n  caused by: {cause}"));
    }
    if path.len() > 1 {
        m.push_str(&format!(
            "\n  upstream path: {} (each needs the next)",
            path.join(" <- ")
        ));
    } else {
        m.push_str(&format!("\n  upstream path: {node} (requested directly)"));
    }
    m
}

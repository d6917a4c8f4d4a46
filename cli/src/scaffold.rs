//! `weft new NAME`: a flow crate that builds, runs and tests as generated.

use std::path::{Path, PathBuf};

use crate::error::CliError;

/// Where the scaffold's `weft` and `weft-cli` come from (published as `weft-dataflow` and
/// `weft-dataflow-cli`; the flow's code says `weft` and `weft_cli`).
pub(crate) enum Source {
    /// A local checkout of weft (its root, holding `engine/` and `cli/`).
    Path(PathBuf),
    /// A released version from crates.io, by number.
    Version(String),
}

/// The checkout this `weft` was built from, if it is still there: the default source of a
/// scaffold (`cargo install --path cli` from a checkout, then `weft new NAME`).
pub(crate) fn own_checkout() -> Result<PathBuf, CliError> {
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    weft_checkout(&built_from).map_err(|_| {
        CliError::usage(format!(
            "this weft was built from `{}`, which is no longer a weft checkout; pass \
             --weft-path DIR (a checkout) or --weft-version V (a release from crates.io)",
            built_from.display()
        ))
    })
}

/// Checks `name` is a valid package name: letters, digits, `_` and `-`, starting with a letter.
pub(crate) fn check_name(name: &str) -> Result<(), CliError> {
    let ok = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !ok {
        return Err(CliError::usage(format!(
            "`{name}` cannot be a package name: use letters, digits, `_` and `-`, starting with a \
             letter (for example `spend_report`)"
        )));
    }
    const RESERVED: [&str; 6] = ["test", "weft", "weft-cli", "weft_cli", "core", "std"];
    if RESERVED.contains(&name) {
        return Err(CliError::usage(format!(
            "`{name}` is reserved (it would clash with a crate the flow uses); pick another name"
        )));
    }
    Ok(())
}

/// Resolves `--weft-path DIR` to an absolute checkout root, checking it is one.
pub(crate) fn weft_checkout(dir: &Path) -> Result<PathBuf, CliError> {
    let root = dir.canonicalize().map_err(|e| {
        CliError::usage(format!(
            "--weft-path `{}` cannot be used: {e}; give the root of a weft checkout (the \
             directory holding engine/ and cli/)",
            dir.display()
        ))
    })?;
    for part in ["engine", "cli"] {
        if !root.join(part).join("Cargo.toml").is_file() {
            return Err(CliError::usage(format!(
                "--weft-path `{}` is not a weft checkout: `{}` is missing; give the directory \
                 holding engine/ and cli/",
                dir.display(),
                root.join(part).join("Cargo.toml").display()
            )));
        }
    }
    Ok(root)
}

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The files of the scaffold, as (relative path, contents).
pub(crate) fn files(name: &str, source: &Source) -> Vec<(&'static str, String)> {
    let deps = match source {
        Source::Path(root) => format!(
            "weft = {{ package = \"weft-dataflow\", path = {} }}\n\
             weft-cli = {{ package = \"weft-dataflow-cli\", path = {} }}\n",
            toml_str(&root.join("engine").to_string_lossy()),
            toml_str(&root.join("cli").to_string_lossy())
        ),
        Source::Version(v) => format!(
            "weft = {{ package = \"weft-dataflow\", version = {v} }}\n\
             weft-cli = {{ package = \"weft-dataflow-cli\", version = {v} }}\n",
            v = toml_str(v)
        ),
    };
    let cargo_toml = format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2021"
publish = false

# A workspace of its own, so the flow builds wherever it was generated. Remove this table to
# make the crate a member of an enclosing workspace instead.
[workspace]

[dependencies]
{deps}"#
    );
    let main_rs = format!(
        r#"//! {name}: a weft flow with a command line.
//!
//! ```sh
//! cargo run -- build --input text="the quick brown fox"
//! cargo run -- list
//! cargo run -- viz -o dag.svg
//! cargo run -- --help
//! ```

mod nodes;

fn main() {{
    weft_cli::main(weft::modules![crate::nodes])
}}
"#
    );
    let nodes_rs =
        r#"//! The flow's nodes. Each `#[node]` function is a node named after the function; each
//! parameter is what it needs: another node's output, or an input (`text` here) given with
//! `--input text=...`. A `&str` parameter reads a `String` value, a `&[T]` one a `Vec<T>`.

use weft::prelude::*;

/// The words of the text, lower-cased.
#[node]
pub fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_lowercase).collect()
}

/// How many words the text has.
#[node]
pub fn word_count(words: &[String]) -> usize {
    words.len()
}

/// The mean length of the words; fails on a text without words.
#[node]
pub fn mean_word_length(words: &[String]) -> Result<f64, String> {
    if words.is_empty() {
        return Err("the text has no words: give a non-empty --input text=...".to_string());
    }
    let letters: usize = words.iter().map(|w| w.chars().count()).sum();
    Ok(letters as f64 / words.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_are_plain_functions() {
        let w = words("The quick brown fox");
        assert_eq!(w, ["the", "quick", "brown", "fox"]);
        assert_eq!(word_count(&w), 4);
        assert_eq!(mean_word_length(&w), Ok(4.0));
        assert!(mean_word_length(&[]).is_err());
    }

    #[test]
    fn the_flow_runs() {
        let dr = Builder::new()
            .with_modules(weft::modules![crate::nodes])
            .build()
            .expect("a valid graph");
        let out = dr
            .execute(
                &["word_count", "mean_word_length"],
                inputs! { "text" => "to be or not to be".to_string() },
            )
            .expect("the flow runs");
        assert_eq!(*out.get::<usize>("word_count").unwrap(), 6);
        assert_eq!(*out.get::<f64>("mean_word_length").unwrap(), 13.0 / 6.0);
    }
}
"#
        .to_string();
    let gitignore = "/target\n/.weft\n".to_string();
    vec![
        ("Cargo.toml", cargo_toml),
        ("src/main.rs", main_rs),
        ("src/nodes.rs", nodes_rs),
        (".gitignore", gitignore),
    ]
}

/// Writes the scaffold into `dir` (which must not exist), named after its last component.
pub(crate) fn create(dir: &Path, source: &Source) -> Result<String, CliError> {
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| {
            CliError::usage(format!(
                "`{}` does not end in a name for the flow crate",
                dir.display()
            ))
        })?
        .to_string();
    check_name(&name)?;
    if dir.exists() {
        return Err(CliError::usage(format!(
            "`{}` already exists; weft new never overwrites: pick another name or remove it",
            dir.display()
        )));
    }
    for (rel, contents) in files(&name, source) {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| {
                CliError::failure(format!("cannot create `{}`: {e}", parent.display()))
            })?;
        }
        std::fs::write(&path, contents)
            .map_err(|e| CliError::failure(format!("cannot write `{}`: {e}", path.display())))?;
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(check_name("spend_report").is_ok());
        assert!(check_name("spend-report2").is_ok());
        assert!(check_name("2fast").is_err());
        assert!(check_name("my flow").is_err());
        assert!(check_name("weft").is_err());
    }

    #[test]
    fn depends_by_path_or_by_version() {
        let by_path = files("f", &Source::Path(PathBuf::from("/src/we\"ft")));
        assert!(by_path[0]
            .1
            .contains(r#"weft = { package = "weft-dataflow", path = "/src/we\"ft/engine" }"#));
        let by_version = files("f", &Source::Version("0.2".into()));
        assert!(by_version[0].1.contains(
            "weft = { package = \"weft-dataflow\", version = \"0.2\" }\n\
             weft-cli = { package = \"weft-dataflow-cli\", version = \"0.2\" }"
        ));
        assert!(by_version[1]
            .1
            .contains("weft_cli::main(weft::modules![crate::nodes])"));
    }
}

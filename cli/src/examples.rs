//! The "Examples:" section of each command's help: the lines, with the binary's own name.

/// Example lines for the flow CLI's subcommands, with the binary's own name.
pub(crate) fn flow_examples(bin: &str, subcommand: &str) -> Option<String> {
    let lines: &[&str] = match subcommand {
        "build" => &[
            "{bin} build",
            "{bin} build report --input spend=10.5 --input signups=4",
            "{bin} build --inputs inputs.json --config target_cost=2 --output json",
            "{bin} build report -o results.json --quiet",
            "{bin} build --recompute spend_per_signup     # run it even if cached",
            "{bin} build --no-cache                       # leave .weft/cache alone",
            "{bin} build --executor threads:8 --keep-going",
            "{bin} build --executor async                 # many async nodes at once",
        ],
        "watch" => &[
            "{bin} watch report --input data=sales.csv       # a FileInput: its content is watched",
            "{bin} watch --inputs inputs.json -v              # a line per node after each run",
            "{bin} watch report --executor threads:4 --debounce 200",
            "{bin} watch report --input data=sales.csv --ui   # live in the browser",
        ],
        "list" => &["{bin} list", "{bin} list --json | jq '.functions[].name'"],
        "viz" => &[
            "{bin} viz -o dag.svg",
            "{bin} viz report -o report.dot               # DOT for Graphviz",
        ],
        "explain" => &["{bin} explain report", "{bin} explain report --run 3f2a"],
        "ui" => &[
            "{bin} ui                                   # http://127.0.0.1:7878/",
            "{bin} ui --cache .weft/cache --port 0      # any free port (printed)",
        ],
        "completions" => &[
            "{bin} completions bash > ~/.local/share/bash-completion/completions/{bin}",
            "{bin} completions zsh > ~/.zfunc/_{bin}",
            "{bin} completions fish > ~/.config/fish/completions/{bin}.fish",
        ],
        _ => return None,
    };
    Some(render_examples(bin, lines))
}

/// "Examples:" followed by the lines, `{bin}` replaced.
pub(crate) fn render_examples(bin: &str, lines: &[&str]) -> String {
    let mut s = String::from("Examples:\n");
    for l in lines {
        s.push_str("  ");
        s.push_str(&l.replace("{bin}", bin));
        s.push('\n');
    }
    s.pop();
    s
}

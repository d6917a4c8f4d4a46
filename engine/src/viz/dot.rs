//! Graphviz DOT text for a [`Viz`].

use std::collections::HashSet;
use std::fmt::Write as _;

use super::escape::{dot_quote, label_escape};
use super::{Viz, VizError};
use crate::type_name::short_type_name;

impl Viz {
    /// Graphviz DOT text (digraph, rankdir=LR). Node names and types must be escaped properly (quotes, backslashes, <, >, &). Roles styled apart (colours/shapes), with a legend cluster when `legend` is true.
    ///
    /// # Errors
    /// [`VizError::BadEdge`] if an edge refers to a node that does not exist.
    pub fn to_dot(&self) -> Result<String, VizError> {
        self.check_edges()?;
        let mut s = String::new();
        s.push_str("digraph weft {\n");
        s.push_str("  graph [rankdir=LR, fontname=\"Helvetica,Arial,sans-serif\"");
        if !self.title.is_empty() {
            let _ = write!(
                s,
                ", label=\"{}\", labelloc=t, labeljust=l, fontsize=16",
                dot_quote(&self.title)
            );
        }
        s.push_str("];\n");
        s.push_str(
            "  node [shape=box, style=\"rounded,filled\", \
             fontname=\"Helvetica,Arial,sans-serif\", fontsize=12, \
             margin=\"0.15,0.06\"];\n",
        );
        s.push_str("  edge [color=\"#6b7280\", arrowsize=0.7];\n");

        for (i, node) in self.nodes.iter().enumerate() {
            let st = node.role.style();
            // An HTML-like label: bold name, then type and note in small type.
            // (Graphviz rejects empty <B></B>, so empty parts are left out.)
            let mut lines = Vec::new();
            if !node.name.is_empty() {
                lines.push(format!("<B>{}</B>", label_escape(&node.name)));
            }
            let ty = short_type_name(&node.type_name);
            if !ty.is_empty() {
                lines.push(format!(
                    "<FONT POINT-SIZE=\"10\" FACE=\"Courier\" COLOR=\"#374151\">{}</FONT>",
                    label_escape(&ty)
                ));
            }
            if !node.note.is_empty() {
                lines.push(format!(
                    "<FONT POINT-SIZE=\"10\" COLOR=\"#4b5563\"><I>{}</I></FONT>",
                    label_escape(&node.note)
                ));
            }
            let label = if lines.is_empty() {
                "\" \"".to_string()
            } else {
                format!("<{}>", lines.join("<BR/>"))
            };
            let _ = writeln!(
                s,
                "  n{i} [label={label}, tooltip=\"{}\", style=\"{}\", fillcolor=\"{}\", color=\"{}\", penwidth={}];",
                dot_quote(&node.name),
                st.dot_style(),
                st.fill,
                st.stroke,
                st.width
            );
        }

        for (g, (label, members)) in self.groups.iter().enumerate() {
            let _ = write!(
                s,
                "  subgraph cluster_group{g} {{ label=\"{}\"; style=\"rounded,dashed\"; color=\"#7c3aed\"; fontsize=11;",
                dot_quote(label)
            );
            for m in members.iter().filter(|m| **m < self.nodes.len()) {
                let _ = write!(s, " n{m};");
            }
            s.push_str(" }\n");
        }

        let mut seen = HashSet::new();
        for &(from, to) in &self.edges {
            if seen.insert((from, to)) {
                let _ = writeln!(s, "  n{from} -> n{to};");
            }
        }

        let roles = self.legend_roles();
        if !roles.is_empty() {
            s.push_str("  subgraph cluster_legend {\n");
            s.push_str(
                "    graph [label=\"Legend\", labelloc=t, labeljust=l, fontsize=12, \
                 style=\"rounded,dashed\", color=\"#9ca3af\"];\n",
            );
            for (k, role) in roles.iter().enumerate() {
                let st = role.style();
                let _ = writeln!(
                    s,
                    "    legend{k} [label=\"{}\", fontsize=10, height=0.3, margin=\"0.12,0.02\", style=\"{}\", fillcolor=\"{}\", color=\"{}\", penwidth={}];",
                    role.label(),
                    st.dot_style(),
                    st.fill,
                    st.stroke,
                    st.width
                );
            }
            s.push_str("  }\n");
        }
        s.push_str("}\n");
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{node, sample};
    use super::super::VizRole;
    use super::*;

    #[test]
    fn dot_has_every_node_and_edge() {
        let viz = sample(false);
        let dot = viz.to_dot().expect("dot");
        assert!(dot.starts_with("digraph"));
        assert!(dot.contains("rankdir=LR"));
        for (i, n) in viz.nodes.iter().enumerate() {
            assert!(dot.contains(&format!("  n{i} [")), "missing node {i}");
            assert!(dot.contains(&format!("<B>{}</B>", n.name)));
        }
        for (a, b) in &viz.edges {
            assert!(
                dot.contains(&format!("n{a} -> n{b};")),
                "missing edge {a}->{b}"
            );
        }
        // Types are shortened and HTML-escaped.
        assert!(dot.contains("Vec&lt;String&gt;"));
        assert!(dot.contains("Option&lt;u64&gt;"));
        // Roles styled apart.
        assert!(dot.contains("fillcolor=\"#dbeafe\""));
        assert!(dot.contains("fillcolor=\"#fde68a\""));
        assert!(dot.contains("dashed"));
        assert!(!dot.contains("cluster_legend"));
        assert_eq!(dot.matches('{').count(), dot.matches('}').count());
    }

    #[test]
    fn dot_escapes_quotes_backslashes_and_markup() {
        let viz = Viz {
            title: "a \"t\" \\ title".to_string(),
            nodes: vec![
                node("say \"hi\"", VizRole::Function, "u8"),
                node("back\\slash <b> & co", VizRole::Output, "u8"),
            ],
            edges: vec![(0, 1)],
            legend: false,
            groups: Vec::new(),
        };
        let dot = viz.to_dot().expect("dot");
        // Quoted strings: \" and \\.
        assert!(dot.contains("tooltip=\"say \\\"hi\\\"\""));
        assert!(dot.contains("tooltip=\"back\\\\slash <b> & co\""));
        assert!(dot.contains("label=\"a \\\"t\\\" \\\\ title\""));
        // HTML labels: entities.
        assert!(dot.contains("<B>say &quot;hi&quot;</B>"));
        assert!(dot.contains("<B>back\\slash &lt;b&gt; &amp; co</B>"));
        // Never a raw, unescaped quote inside a string.
        assert!(!dot.contains("say \"hi\""));
        // Every line has balanced unescaped quotes.
        for line in dot.lines() {
            let unescaped = line.replace("\\\\", "").replace("\\\"", "");
            assert_eq!(unescaped.matches('"').count() % 2, 0, "line {line}");
        }
    }

    #[test]
    fn dot_legend_cluster() {
        let dot = sample(true).to_dot().expect("dot");
        assert!(dot.contains("subgraph cluster_legend"));
        for label in ["input", "config", "function", "output"] {
            assert!(dot.contains(&format!("label=\"{label}\"")), "{label}");
        }
        // Only roles that appear.
        assert!(!dot.contains("label=\"override\""));
        assert!(!dot.contains("cache hit"));
    }
}

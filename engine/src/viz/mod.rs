//! Pictures of the DAG: DOT text and SVG rendered in-process.
//!
//! [`Viz`] is a plain description of a picture (nodes with a role, a type and
//! an optional note, plus dependency edges). It can be turned into Graphviz
//! DOT text ([`Viz::to_dot`]) or into a standalone SVG document laid out
//! in-process with the `layout-rs` crate ([`Viz::to_svg`]); no `dot` binary is
//! needed.
//!
//! Notes on the SVG renderer:
//! * `layout-rs` only computes the placement (ranks, node order, edge curves);
//!   the SVG itself is written here, so that node styles (dashed/bold borders,
//!   two fonts per node, tooltips) and the legend can be drawn.
//! * `layout-rs` asserts on cycles in its own checks and tests reachability
//!   with a path-enumerating search, so the graph is made acyclic here first
//!   (back edges are drawn reversed, with the arrowhead at the start) and the
//!   edges are handed over in topological order, which keeps that search
//!   trivial; its exhaustive self-verification is switched off.
//! * Should `layout-rs` panic anyway (the panic is caught; the default hook
//!   still prints it), or the graph be too large for it to lay out quickly, a
//!   simple built-in layered layout is used instead, so rendering never fails
//!   on user data.
//!
//! The module's files, by concern: this one holds the public model ([`Viz`],
//! [`VizNode`], [`VizRole`], [`VizError`]) and writing a picture to a file;
//! `style` the colours and borders of each role; `dot` the DOT text; `svg`
//! the SVG document, drawing `node_box`es and the `legend`; `escape` the
//! escaping of text and numbers; `layout` where boxes and edges go, computed
//! by `layout_rs` (the `layout-rs` integration) or, as a fallback, by
//! `layered`.

mod dot;
mod escape;
mod layered;
mod layout;
mod layout_rs;
mod legend;
mod node_box;
mod placement;
mod style;
mod svg;
#[cfg(test)]
mod test_support;

/// What a node is in the picture; each role gets its own style and a legend entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VizRole {
    /// An external input supplied at execute time (e.g. dashed box).
    Input,
    /// An optional input (`Option<&T>`): the run goes on without it (dotted box).
    OptionalInput,
    /// A config value fixed at build time.
    Config,
    /// A function node that is computed.
    Function,
    /// A requested output (function node, emphasised).
    Output,
    /// A node whose value was supplied as an override (not executed).
    Override,
    /// Cache run: the value was served from the cache.
    Hit,
    /// Cache run: the node was executed (no usable cache entry).
    Executed,
    /// Cache run: the node was recomputed (its cache entry was stale).
    Recomputed,
    /// Cache run: caching is disabled for the node.
    Disabled,
    /// Cache run: the node failed.
    Failed,
    /// Cache run: a requested node that never ran (something it needs failed first).
    NotRun,
}

impl VizRole {
    /// Every role, in legend order.
    pub const ALL: [VizRole; 12] = [
        VizRole::Input,
        VizRole::OptionalInput,
        VizRole::Config,
        VizRole::Function,
        VizRole::Output,
        VizRole::Override,
        VizRole::Hit,
        VizRole::Executed,
        VizRole::Recomputed,
        VizRole::Disabled,
        VizRole::Failed,
        VizRole::NotRun,
    ];

    /// This role's fill and stroke colours (`#rrggbb`), as the pictures and their legend
    /// draw it: other views of the same outcomes (`weft ui`) use these, so that a hit is the
    /// same green everywhere.
    ///
    /// ```
    /// use weft::viz::VizRole;
    /// assert_eq!(VizRole::Hit.colours(), ("#bbf7d0", "#15803d"));
    /// ```
    #[must_use]
    pub fn colours(self) -> (&'static str, &'static str) {
        let st = self.style();
        (st.fill, st.stroke)
    }

    /// The text of this role's legend entry.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            VizRole::Input => "input",
            VizRole::OptionalInput => "optional input",
            VizRole::Config => "config",
            VizRole::Function => "function",
            VizRole::Output => "output",
            VizRole::Override => "override",
            VizRole::Hit => "cache hit",
            VizRole::Executed => "executed",
            VizRole::Recomputed => "recomputed",
            VizRole::Disabled => "cache disabled",
            VizRole::Failed => "failed",
            VizRole::NotRun => "not run",
        }
    }
}

/// One node of the picture.
#[derive(Debug, Clone)]
pub struct VizNode {
    /// The node's name, shown in bold.
    pub name: String,
    /// What the node is; decides its style.
    pub role: VizRole,
    /// Rust type name of the node's value, shown under the name (shorten `alloc::string::String` to `String` etc: strip module paths from each path segment of the type, keep generics).
    pub type_name: String,
    /// Optional extra line (e.g. "12.3 ms"), shown under the type when non-empty.
    pub note: String,
}

/// A picture of a DAG, ready to be rendered as DOT or SVG.
#[derive(Debug, Clone, Default)]
pub struct Viz {
    /// Shown above the graph when non-empty.
    pub title: String,
    /// The nodes; edges refer to them by index.
    pub nodes: Vec<VizNode>,
    /// (from, to) indices into `nodes`: `from` is a dependency of `to`.
    pub edges: Vec<(usize, usize)>,
    /// Whether to draw a legend of the roles that appear.
    pub legend: bool,
    /// Boxes drawn around groups of nodes (a `with_columns` group): a label and the indices
    /// into `nodes` of its members.
    pub groups: Vec<(String, Vec<usize>)>,
}

/// Why a picture could not be made or saved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VizError {
    /// An edge names a node index past the end of `nodes`.
    #[error("edge ({0}, {1}) refers to a node index that does not exist")]
    BadEdge(usize, usize),
    /// Writing the output file failed.
    #[error("could not write {path}: {source}")]
    Io {
        /// The file that was being written.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Kept so that code written against the old path still builds; the function lives in
/// [`crate::short_type_name`] now.
#[doc(hidden)]
pub use crate::type_name::short_type_name;
pub use escape::html_escape;

impl Viz {
    /// Writes DOT or SVG depending on the file extension (".dot"/".gv" → DOT, anything else → SVG), whole ([`write_whole`](crate::files::write_whole)): a reader never
    /// sees part of a picture.
    ///
    /// # Errors
    /// [`VizError::BadEdge`] as for [`Viz::to_dot`], or [`VizError::Io`] if
    /// the file cannot be written.
    pub fn write(&self, path: impl AsRef<std::path::Path>) -> Result<(), VizError> {
        let path = path.as_ref();
        let is_dot = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("dot") || e.eq_ignore_ascii_case("gv"));
        let text = if is_dot {
            self.to_dot()?
        } else {
            self.to_svg()?
        };
        crate::files::write_whole(path, text.as_bytes()).map_err(|source| VizError::Io {
            path: path.display().to_string(),
            source,
        })
    }

    fn check_edges(&self) -> Result<(), VizError> {
        let n = self.nodes.len();
        match self.edges.iter().find(|&&(a, b)| a >= n || b >= n) {
            Some(&(a, b)) => Err(VizError::BadEdge(a, b)),
            None => Ok(()),
        }
    }

    /// The roles to show in the legend (those that appear, in a fixed order).
    fn legend_roles(&self) -> Vec<VizRole> {
        if !self.legend {
            return Vec::new();
        }
        VizRole::ALL
            .into_iter()
            .filter(|r| self.nodes.iter().any(|n| n.role == *r))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::sample;
    use super::*;

    #[test]
    fn bad_edge_is_an_error() {
        let mut viz = sample(true);
        viz.edges.push((1, 5));
        assert!(matches!(viz.to_dot(), Err(VizError::BadEdge(1, 5))));
        assert!(matches!(viz.to_svg(), Err(VizError::BadEdge(1, 5))));
        let err = viz.write(std::env::temp_dir().join("weft-viz-never-written.svg"));
        assert!(matches!(err, Err(VizError::BadEdge(1, 5))));
        viz.edges = vec![(7, 0)];
        assert!(matches!(viz.to_svg(), Err(VizError::BadEdge(7, 0))));
        assert_eq!(
            VizError::BadEdge(7, 0).to_string(),
            "edge (7, 0) refers to a node index that does not exist"
        );
    }

    #[test]
    fn write_picks_format_by_extension() {
        let dir = std::env::temp_dir().join(format!("weft-viz-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let viz = sample(true);
        for (file, prefix) in [
            ("g.dot", "digraph"),
            ("g.GV", "digraph"),
            ("g.svg", "<?xml"),
            ("g", "<?xml"),
        ] {
            let path = dir.join(file);
            viz.write(&path).expect("write");
            let text = std::fs::read_to_string(&path).expect("read");
            assert!(text.starts_with(prefix), "{file}");
        }
        // No temp files left behind.
        let names: Vec<String> = std::fs::read_dir(&dir)
            .expect("readdir")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
        // A missing directory is an Io error naming the path.
        let bad = dir.join("missing").join("g.svg");
        match viz.write(&bad) {
            Err(VizError::Io { path, .. }) => assert!(path.ends_with("g.svg")),
            other => panic!("expected Io error, got {other:?}"),
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

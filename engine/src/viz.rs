//! Pictures of the DAG (placeholder until the renderer lands).
#![allow(missing_docs)]

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VizRole {
    Input,
    Config,
    Function,
    Output,
    Override,
    Hit,
    Executed,
    Recomputed,
    Disabled,
    Failed,
}

#[derive(Debug, Clone)]
pub struct VizNode {
    pub name: String,
    pub role: VizRole,
    pub type_name: String,
    pub note: String,
}

#[derive(Debug, Clone, Default)]
pub struct Viz {
    pub title: String,
    pub nodes: Vec<VizNode>,
    pub edges: Vec<(usize, usize)>,
    pub legend: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum VizError {
    #[error("edge ({0}, {1}) refers to a node index that does not exist")]
    BadEdge(usize, usize),
    #[error("could not write {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl Viz {
    pub fn to_dot(&self) -> Result<String, VizError> {
        Ok(String::new())
    }
    pub fn to_svg(&self) -> Result<String, VizError> {
        Ok(String::new())
    }
    pub fn write(&self, _path: impl AsRef<std::path::Path>) -> Result<(), VizError> {
        Ok(())
    }
}

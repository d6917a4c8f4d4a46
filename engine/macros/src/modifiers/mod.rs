//! Hamilton's function modifiers as `#[node(..)]` arguments: `when*`, `parameterize`,
//! `extract_fields`.

pub mod check;
pub mod extract;
pub mod parameterize;
pub mod when;

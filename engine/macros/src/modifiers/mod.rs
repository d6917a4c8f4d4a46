//! Hamilton's function modifiers as `#[node(..)]` arguments: `when*`, `parameterize`,
//! `extract_fields`, `check_output`, `with_columns`.

pub mod check;
pub mod extract;
pub mod parameterize;
pub mod when;
pub mod with_columns;

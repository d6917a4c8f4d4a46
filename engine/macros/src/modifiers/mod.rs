//! Hamilton's function modifiers as `#[node(..)]` arguments: `when*`, `parameterize`,
//! `extract_fields`, `check_output`, `pipe_input`/`pipe_output`, `with_columns`.

pub mod check;
pub mod extract;
pub mod parameterize;
pub mod pipe;
pub mod subdag;
pub mod when;
pub mod with_columns;

//! Hamilton's function modifiers, the engine's side: what `#[node(when(..))]`,
//! `parameterize(..)` and `extract_fields(..)` leave on a [`NodeSpec`](crate::NodeSpec), and how
//! the builder resolves them against the build-time config.

pub mod check;
pub(crate) mod extract;
pub(crate) mod subdag;
pub(crate) mod when;

pub use check::{
    CheckReport, CheckResult, DataTypes, Element, Elements, Importance, Nullable, Numbers, Text,
};
pub use subdag::{Subdag, SubdagRegistration};
pub use when::{ConfigCondition, ConfigLiteral};

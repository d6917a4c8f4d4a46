//! Code versions (what counts as an edit) and nodes defined twice.

use super::*;

mod code_a {
    use weft::prelude::*;
    #[node]
    pub fn f(x: &u64) -> u64 {
        x + 1
    }
}
#[rustfmt::skip] // the layout is the point
mod code_b {
    use weft::prelude::*;
    /// Same code, other layout, comments, visibility and node arguments.
    #[node(tags(k = "v"), cache = "recompute")]
    pub(crate) fn f(
        x: &u64 // the input
    ) -> u64 {
        // add one
        x+1
    }
}
mod code_c {
    use weft::prelude::*;
    #[node]
    pub fn f(x: &u64) -> u64 {
        x + 2
    }
}

#[test]
fn code_version_ignores_layout_comments_and_attributes_but_not_edits() {
    let v = |m: weft::Modules| {
        Builder::new()
            .with_modules(m)
            .build()
            .unwrap()
            .graph()
            .node("f")
            .unwrap()
            .spec()
            .unwrap()
            .code_version()
            .to_string()
    };
    let a = v(weft::modules![crate::code::code_a]);
    let b = v(weft::modules![crate::code::code_b]);
    let c = v(weft::modules![crate::code::code_c]);
    assert_eq!(a.len(), 64);
    assert_eq!(a, b);
    assert_ne!(a, c);
}

mod tuple_of_one {
    use weft::prelude::*;
    #[node]
    pub fn shown(x: &u64) -> String {
        format!("{:?}", (x,))
    }
}
mod parenthesized {
    use weft::prelude::*;
    #[node]
    pub fn shown(x: &u64) -> String {
        format!("{:?}", (x))
    }
}

/// A comma that makes a value a one-element tuple, inside a macro's arguments, is part of the
/// code version: the two bodies compute different values, so a stored result of one must never
/// answer for the other.
#[test]
fn code_version_sees_a_one_element_tuples_comma_in_macro_arguments() {
    let run = |m: weft::Modules| {
        let dr = Builder::new().with_modules(m).build().unwrap();
        let version = dr
            .graph()
            .node("shown")
            .unwrap()
            .spec()
            .unwrap()
            .code_version()
            .to_string();
        let out = dr.execute(&["shown"], inputs! { "x" => 7u64 }).unwrap();
        (version, out.get::<String>("shown").unwrap().clone())
    };
    let (tuple_version, tuple_value) = run(weft::modules![crate::code::tuple_of_one]);
    let (paren_version, paren_value) = run(weft::modules![crate::code::parenthesized]);
    assert_eq!((tuple_value.as_str(), paren_value.as_str()), ("(7,)", "7"));
    assert_ne!(tuple_version, paren_version);
}

#[test]
fn duplicate_nodes_fail_unless_overrides_are_allowed() {
    let err = Builder::new()
        .with_modules(weft::modules![crate::code::code_a, crate::code::code_c])
        .build()
        .err()
        .unwrap();
    assert!(
        matches!(&err.problems[..], [Problem::Duplicate { name, modules }] if name == "f" && modules.len() == 2)
    );
    assert!(err.to_string().contains("allow_module_overrides"));
    let dr = Builder::new()
        .with_modules(weft::modules![crate::code::code_a, crate::code::code_c])
        .allow_module_overrides()
        .build()
        .unwrap();
    let out = dr.execute(&["f"], inputs! { "x" => 1u64 }).unwrap();
    assert_eq!(*out.get::<u64>("f").unwrap(), 3, "the later module wins");
}

#[test]
fn cache_attribute_is_recorded_not_part_of_code() {
    let dr = Builder::new()
        .with_modules(weft::modules![crate::code::code_b])
        .build()
        .unwrap();
    let spec = dr.graph().node("f").unwrap().spec().unwrap();
    assert_eq!(spec.cache_behavior(), Some(CacheBehavior::Recompute));
    assert_eq!(spec.tag("k"), Some("v"));
}

//! What a graph that cannot build or run says: every problem at once, inputs and config
//! checked by name and type, a dynamic node of the wrong type.

use super::*;

mod broken {
    use weft::prelude::*;
    #[node]
    pub fn a(c: &u64) -> u64 {
        *c
    }
    #[node]
    pub fn b(a: &u64) -> u64 {
        *a
    }
    #[node]
    pub fn c(b: &u64) -> u64 {
        *b
    }
    #[node]
    pub fn text() -> String {
        String::new()
    }
    #[node]
    pub fn wants_number(text: &u64) -> u64 {
        *text
    }
}

#[test]
fn build_lists_every_problem_at_once() {
    let err: BuildError = Builder::new()
        .with_modules(weft::modules![crate::build::broken])
        .build()
        .err()
        .unwrap();
    assert_eq!(err.problems.len(), 2, "{err}");
    assert!(err.problems.contains(&Problem::TypeMismatch {
        producer: "text".into(),
        produced: "alloc::string::String".into(),
        consumer: "wants_number".into(),
        expected: "u64".into(),
    }));
    assert!(err.problems.contains(&Problem::Cycle(vec![
        "a".into(),
        "b".into(),
        "c".into(),
        "a".into()
    ])));
    let text = err.to_string();
    assert!(
        text.contains("2 problems") && text.contains("a -> b -> c -> a"),
        "{text}"
    );
}

#[test]
fn inputs_are_checked_by_name_and_overrides_can_give_inputs() {
    let (dr, _) = marketing_driver();
    // A typo is reported with a suggestion; a computed node is not an input.
    let err = dr
        .execute(
            &["report"],
            inputs! { "spend" => 1.0, "signup" => 2u64, "spend_per_signup" => 3.0 },
        )
        .unwrap_err();
    let ExecuteError::BadInputs(problems) = &err else {
        panic!("{err}")
    };
    assert!(problems.contains(&InputProblem::Unknown(
        "signup".into(),
        Some("signups".into())
    )));
    assert!(problems.contains(&InputProblem::NotAnInput("spend_per_signup".into())));
    let text = err.to_string();
    assert!(
        text.contains("did you mean `signups`") && text.contains("pass it as an override"),
        "{text}"
    );
    // Overriding an input is giving it; a &'static str is a String input.
    let out = dr
        .execute_with_overrides(
            &["report"],
            inputs! { "spend" => 6.0, "region" => "EU" },
            inputs! { "signups" => 3u64 },
        )
        .unwrap();
    assert_eq!(out.get::<String>("report").unwrap(), "EU: 2.00");
}

#[test]
fn config_type_mismatch_names_key_and_consumer() {
    let err = Builder::new()
        .with_modules(weft::modules![crate::marketing])
        .with_config(inputs! { "region" => 7u8 })
        .build()
        .err()
        .unwrap();
    assert!(
        matches!(&err.problems[..], [Problem::ConfigTypeMismatch { key, consumer, .. }] if key == "region" && consumer == "report"),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("config `region` is a `u8`, but `report` expects `region: String`"),
        "{text}"
    );
}

#[test]
fn a_dynamic_node_returning_the_wrong_type_is_an_error_naming_it() {
    let bad = NodeSpec::builder("bad", value_type!(u64)).sync(|_| Ok(Arc::new("oops".to_string())));
    let dr = Builder::new().with_nodes([bad]).build().unwrap();
    let err = dr.execute(&["bad"], Inputs::new()).unwrap_err();
    assert!(
        matches!(&err, ExecuteError::NodeFailed { node, source: weft::NodeError::Internal(_), .. } if node == "bad"),
        "{err:?}"
    );
    let err = err.to_string();
    assert!(
        err.contains("node `bad` returned a value that is not the `u64` it declares"),
        "{err}"
    );
}

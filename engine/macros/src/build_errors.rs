//! `#[node(..)]` arguments that do not compile, and what the error says.

use quote::quote;

/// The error `#[node(attr)] item` gives.
fn error(attr: proc_macro2::TokenStream, item: proc_macro2::TokenStream) -> String {
    let attrs = match syn::parse2::<crate::attrs::NodeAttrs>(attr) {
        Ok(a) => a,
        Err(e) => return e.to_string(),
    };
    let func: syn::ItemFn = syn::parse2(item).expect("a function");
    match crate::expand(attrs, func, "cv") {
        Ok(_) => panic!("expected a build error"),
        Err(e) => e.to_string(),
    }
}

fn assert_contains(text: &str, part: &str) {
    assert!(text.contains(part), "{text:?} does not say {part:?}");
}

#[test]
fn on_input_must_name_a_parameter() {
    let e = error(
        quote!(pipe_input(add_one, on_input = "y")),
        quote!(
            fn scaled(x: &f64) -> f64 {
                x * 2.0
            }
        ),
    );
    assert_contains(&e, "`scaled` has no parameter `y`; its parameters are: x");
}

#[test]
fn a_closure_steps_parameters_need_types() {
    let e = error(
        quote!(pipe_output(|x| x + 1.0)),
        quote!(
            fn total(values: &[f64]) -> f64 {
                values.iter().sum()
            }
        ),
    );
    assert_contains(&e, "a closure step's parameters need types");
}

#[test]
fn a_step_named_twice_is_refused() {
    let e = error(
        quote!(pipe_input(add_one, add_one)),
        quote!(
            fn f(x: &f64) -> f64 {
                *x
            }
        ),
    );
    assert_contains(&e, "step `add_one` appears twice in one pipe");
}

#[test]
fn an_optional_parameter_cannot_be_piped() {
    let e = error(
        quote!(pipe_input(add_one)),
        quote!(
            fn f(x: Option<&f64>) -> f64 {
                x.copied().unwrap_or(0.0)
            }
        ),
    );
    assert_contains(&e, "`pipe_input` pipes a required parameter");
}

#[test]
fn pipe_output_does_not_go_with_extract_fields() {
    let e = error(
        quote!(pipe_output(add_one), extract_fields(a: f64)),
        quote!(
            fn f(x: &f64) -> f64 {
                *x
            }
        ),
    );
    assert_contains(
        &e,
        "`pipe_output(..)` does not go with `extract_fields(..)`",
    );
}

#[test]
fn a_subdag_needs_its_modules() {
    let e = error(
        quote!(subdag(inputs(raw = source("raw_eu")))),
        quote!(
            fn total_eu(total: &f64) -> f64 {
                *total
            }
        ),
    );
    assert_contains(&e, "subdag needs the modules of the part");
}

#[test]
fn a_subdag_input_is_bound_to_a_source_or_a_value() {
    let e = error(
        quote!(subdag(crate::part, inputs(raw = "raw_eu"))),
        quote!(
            fn total_eu(total: &f64) -> f64 {
                *total
            }
        ),
    );
    assert_contains(
        &e,
        "bind a parameter to `value(expr)` or to `source(\"node\")`",
    );
}

#[test]
fn two_parameterize_outputs_with_one_name_are_refused() {
    let e = error(
        quote!(parameterize(twice(x = value(1)), twice(x = value(2)))),
        quote!(
            fn double(x: u64) -> u64 {
                x * 2
            }
        ),
    );
    assert_contains(&e, "parameterize output `twice` is given twice");
}

#[test]
fn check_output_names_a_misspelled_validator_and_the_closest_one() {
    let f = quote!(
        fn f(x: &f64) -> f64 {
            *x
        }
    );
    let e = error(quote!(check_output(max_fraction_nan = 0.1)), f.clone());
    assert_contains(
        &e,
        "`max_fraction_nan` is not a validator of check_output; did you mean `max_fraction_nans`?",
    );
    assert_contains(&e, "`values_in = [\"a\", \"b\"]`");
    let e = error(quote!(check_output(max_fraction_nans = 5)), f.clone());
    assert_contains(&e, "max_fraction_nans is a fraction within [0, 1], not 5");
    let e = error(quote!(check_output(values_in = [region])), f.clone());
    assert_contains(&e, "values_in takes a list of literals");
    let e = error(quote!(check_output(values_in = [])), f.clone());
    assert_contains(&e, "values_in needs at least one value");
    let e = error(quote!(check_output(contains = 3)), f.clone());
    assert_contains(&e, "write a string, or a list of strings");
    let e = error(quote!(check_output(allow_none = true)), f);
    assert_contains(&e, "check_output needs a validator");
}

#[test]
fn check_output_targets_are_the_functions_nodes_each_checked_once() {
    let f = quote!(
        fn bounds(x: &f64) -> Bounds {
            Bounds { low: *x, high: *x }
        }
    );
    let e = error(
        quote!(extract_fields(low: f64, high: f64), check_output(range = (0, 1), target = "hihg")),
        f.clone(),
    );
    assert_contains(
        &e,
        "check_output's target `hihg` is not a node of this function; did you mean `high`? \
         its nodes are: bounds, low, high",
    );
    let e = error(
        quote!(
            extract_fields(low: f64, high: f64),
            check_output(range = (0, 1)),
            check_output(range = (0, 2), target = "low")
        ),
        f.clone(),
    );
    assert_contains(
        &e,
        "`low` is checked by two `check_output(..)`s: write its validators in one",
    );
    let e = error(quote!(check_output(range = (0, 1), target_ = "x")), f);
    assert_contains(
        &e,
        "`target_` is not a validator of check_output; did you mean `target`?",
    );
}

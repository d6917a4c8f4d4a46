//! Modifiers that do not go together: rejected at expansion, each with the reason and what to
//! write instead.

use crate::attrs::NodeAttrs;
use crate::signature::Signature;

/// Modifiers that do not go together, rejected with a reason.
pub(crate) fn check_combinations(attrs: &NodeAttrs, sig: &Signature) -> syn::Result<()> {
    let span = proc_macro2::Span::call_site();
    if attrs.parameterize.is_some() && attrs.name.is_some() {
        return Err(syn::Error::new(
            span,
            "`name = ..` and `parameterize(..)` do not go together: each parameterize output \
             names its node",
        ));
    }
    if attrs.parameterize.is_some() && attrs.extract_fields.is_some() {
        return Err(syn::Error::new(
            span,
            "`parameterize(..)` and `extract_fields(..)` do not go together yet: extract the \
             fields in a node that takes the parameterized output",
        ));
    }
    if !attrs.check_output.is_empty() && sig.item.is_some() {
        return Err(syn::Error::new(
            span,
            "`check_output(..)` does not go with a fan-out (`Parallel<T>`) yet: check the \
             values in a node that takes them",
        ));
    }
    if attrs.subdag.is_some()
        && (attrs.parameterize.is_some() || attrs.pipe_input.is_some() || sig.item.is_some())
    {
        return Err(syn::Error::new(
            span,
            "`subdag(..)` does not go with `parameterize(..)`, `pipe_input(..)` or a fan-out: \
             its parameters are the part's nodes",
        ));
    }
    let piped = attrs.pipe_input.is_some() || attrs.pipe_output.is_some();
    if piped && attrs.parameterize.is_some() {
        return Err(syn::Error::new(
            span,
            "`pipe_input(..)`/`pipe_output(..)` do not go with `parameterize(..)` yet: pipe in a \
             node that takes the parameterized outputs",
        ));
    }
    if attrs.pipe_output.is_some() && (attrs.extract_fields.is_some() || sig.item.is_some()) {
        return Err(syn::Error::new(
            span,
            "`pipe_output(..)` does not go with `extract_fields(..)` or a fan-out \
             (`Parallel<T>`): its last step is the node; extract in a node that takes it",
        ));
    }
    if attrs.with_columns.is_some() && (attrs.parameterize.is_some() || sig.item.is_some()) {
        return Err(syn::Error::new(
            span,
            "`with_columns(..)` does not go with `parameterize(..)` or a fan-out yet: apply \
             them in a node that takes the frame",
        ));
    }
    if attrs.extract_columns.is_some()
        && (attrs.extract_fields.is_some()
            || attrs.parameterize.is_some()
            || attrs.pipe_output.is_some()
            || sig.item.is_some())
    {
        return Err(syn::Error::new(
            span,
            "`extract_columns(..)` does not go with `extract_fields(..)`, `parameterize(..)`, \
             `pipe_output(..)` or a fan-out (`Parallel<T>`) yet: extract the columns in a node \
             that takes the frame",
        ));
    }
    if attrs.extract_fields.is_some() && sig.item.is_some() {
        return Err(syn::Error::new(
            span,
            "`extract_fields(..)` cannot split a fan-out (`Parallel<T>`): extract the fields of \
             each item in a node inside the fan-out",
        ));
    }
    Ok(())
}

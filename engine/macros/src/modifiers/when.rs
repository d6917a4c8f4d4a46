//! `when(k = v, ..)`, `when_not(..)`, `when_in(k = [..])`, `when_not_in(..)` (Hamilton's
//! `@config.when*`): the node exists only for a build-time config that matches.

use proc_macro2::TokenStream;
use quote::quote;
use syn::meta::ParseNestedMeta;
use syn::{Expr, Lit};

/// One `key = value(s)` condition.
pub struct Clause {
    key: String,
    values: Vec<TokenStream>,
    negated: bool,
}

/// Parses the arguments of `when` (`kind` is the argument's name) into `out`.
pub fn parse(meta: &ParseNestedMeta, kind: &str, out: &mut Vec<Clause>) -> syn::Result<()> {
    let negated = kind.starts_with("when_not");
    let many = kind.ends_with("_in");
    meta.parse_nested_meta(|c| {
        let key = c
            .path
            .get_ident()
            .ok_or_else(|| c.error("a config key is a plain identifier"))?
            .to_string();
        let expr: Expr = c.value()?.parse()?;
        let values = match (&expr, many) {
            (Expr::Array(a), true) => a.elems.iter().map(literal).collect::<syn::Result<_>>()?,
            (_, true) => {
                return Err(syn::Error::new_spanned(
                    &expr,
                    format!("`{kind}` takes a list of values: `{key} = [\"a\", \"b\"]`"),
                ))
            }
            (Expr::Array(_), false) => {
                return Err(syn::Error::new_spanned(
                    &expr,
                    format!("`{kind}` takes one value; for a list use `{kind}_in`"),
                ))
            }
            (_, false) => vec![literal(&expr)?],
        };
        out.push(Clause {
            key,
            values,
            negated,
        });
        Ok(())
    })
}

/// A literal as a `weft::ConfigLiteral`.
fn literal(expr: &Expr) -> syn::Result<TokenStream> {
    let err = || {
        syn::Error::new_spanned(
            expr,
            "a config condition compares with a literal: a string, a bool, an integer or a float",
        )
    };
    let (neg, lit) = match expr {
        Expr::Lit(l) => (false, &l.lit),
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Neg(_)) => match &*u.expr {
            Expr::Lit(l) => (true, &l.lit),
            _ => return Err(err()),
        },
        _ => return Err(err()),
    };
    let path = quote!(::weft::__private::ConfigLiteral);
    Ok(match lit {
        Lit::Str(s) if !neg => quote!(#path::Str(#s)),
        Lit::Bool(b) if !neg => quote!(#path::Bool(#b)),
        Lit::Int(i) => {
            let v: i128 = i.base10_parse()?;
            let v = proc_macro2::Literal::i128_unsuffixed(if neg { -v } else { v });
            quote!(#path::Int(#v))
        }
        Lit::Float(f) => {
            let v: f64 = f.base10_parse()?;
            let v = proc_macro2::Literal::f64_unsuffixed(if neg { -v } else { v });
            quote!(#path::Float(#v))
        }
        _ => return Err(err()),
    })
}

/// The conditions as a `Vec<weft::ConfigCondition>` expression.
pub fn conditions(clauses: &[Clause]) -> TokenStream {
    let items = clauses.iter().map(|c| {
        let key = &c.key;
        let values = &c.values;
        let ctor = if c.negated {
            quote!(is_not_in)
        } else {
            quote!(is_in)
        };
        quote!(::weft::__private::ConfigCondition::#ctor(#key, ::std::vec![#(#values),*]))
    });
    quote!(::std::vec![#(#items),*])
}

/// The node a conditional function implements: `total__eu` → `total` (Hamilton drops the last
/// `__suffix`).
pub fn node_name(function: &str) -> String {
    match function.rsplit_once("__") {
        Some((base, _)) if !base.is_empty() => base.to_string(),
        _ => function.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::node_name;

    #[test]
    fn the_last_double_underscore_suffix_is_dropped() {
        assert_eq!(node_name("total__eu"), "total");
        assert_eq!(node_name("a__b__c"), "a__b");
        assert_eq!(node_name("plain"), "plain");
        assert_eq!(node_name("__x"), "__x");
    }
}

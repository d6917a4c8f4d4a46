//! `check_output(range = (lo, hi), allow_nans = false, values_in = [..], .., custom = path,
//! importance = "warn", target = "x")` (Hamilton's `@check_output` / `@check_output_custom`):
//! node `x` becomes `x_raw` (the function), `x_check` (the validators' report) and `x` (the
//! value once checked). Each validator is a call into `weft::__private::check` on the raw value,
//! in the order written; a validator the value's type does not fit is a compile error there.
//!
//! Which nodes are checked is Hamilton's `target_`: by default the function's "final" nodes —
//! the node itself, or each `parameterize` output, or, with `extract_fields` /
//! `extract_columns`, each extracted node (a field `a` becomes `a_raw`, `a_check`, `a`);
//! `target = "a"` or `["a", "b"]` names them (the function's own node among them). Several
//! `check_output(..)`s check different targets.

use std::collections::BTreeMap;

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};
use syn::meta::ParseNestedMeta;
use syn::{Expr, ExprLit, ExprUnary, Lit, LitBool, LitStr, Path, Type, UnOp};

use crate::code_version;
use crate::generate::NodeDef;

/// Hamilton's default validators, as written, and what each takes.
const VALIDATORS: &[(&str, &str)] = &[
    ("range", "`range = (low, high)`"),
    ("allow_nans", "`allow_nans = false`"),
    ("max_fraction_nans", "`max_fraction_nans = 0.05`"),
    ("mean_in_range", "`mean_in_range = (low, high)`"),
    ("max_standard_dev", "`max_standard_dev = 2.0`"),
    ("values_in", "`values_in = [\"a\", \"b\"]`"),
    (
        "data_type",
        "`data_type = \"f64\"` (a polars series or frame)",
    ),
    ("allow_none", "`allow_none = false` (an `Option`)"),
    ("contains", "`contains = \"..\"` (a string)"),
    ("does_not_contain", "`does_not_contain = \"..\"`"),
    (
        "custom",
        "`custom = path::to::fn` (a `fn(&T) -> Result<(), String>`)",
    ),
];

/// The validators and what a failure does.
pub struct Checks {
    /// One call per validator, each a `CheckResult` of `__value`.
    results: Vec<TokenStream>,
    fail: bool,
    /// `target = ..`: the nodes checked (`None`: the function's final nodes).
    target: Option<Vec<LitStr>>,
    /// The arguments as written, for the check node's code version.
    pub tokens: TokenStream,
}

/// Parses `check_output(..)`.
pub fn parse(meta: &ParseNestedMeta) -> syn::Result<Checks> {
    let check = quote!(::weft::__private::check);
    let mut c = Checks {
        results: Vec::new(),
        fail: false,
        target: None,
        tokens: TokenStream::new(),
    };
    meta.parse_nested_meta(|v| {
        let ident = v.path.get_ident().cloned();
        let name = ident.as_ref().map(ToString::to_string).unwrap_or_default();
        let value: Expr = v.value()?.parse()?;
        let path = &v.path;
        c.tokens.extend(quote!(#path = #value,));
        let call = match name.as_str() {
            "range" | "mean_in_range" => {
                let (lo, hi) = pair(&value)?;
                Some(quote!(#check::#ident(__value, (#lo) as f64, (#hi) as f64)))
            }
            "allow_nans" => checks(&value)?.then(|| quote!(#check::no_nans(__value))),
            "allow_none" => checks(&value)?.then(|| quote!(#check::not_none(__value))),
            "max_fraction_nans" => {
                if let Some(x) = number(&value).filter(|x| !(0.0..=1.0).contains(x)) {
                    return Err(syn::Error::new_spanned(
                        &value,
                        format!("max_fraction_nans is a fraction within [0, 1], not {x}"),
                    ));
                }
                Some(quote!(#check::max_fraction_nans(__value, (#value) as f64)))
            }
            "max_standard_dev" => Some(quote!(#check::max_standard_dev(__value, (#value) as f64))),
            "values_in" => {
                let allowed = elements(&value)?;
                Some(quote!(#check::values_in(__value, &[#(#allowed),*])))
            }
            "data_type" => {
                let s: LitStr = syn::parse2(quote!(#value))?;
                Some(quote!(#check::data_type(__value, #s)))
            }
            "contains" | "does_not_contain" => {
                let each = strings(&value)?;
                Some(quote!(#check::#ident(__value, &[#(#each),*])))
            }
            "custom" => {
                let p: Path = syn::parse2(quote!(#value))?;
                let shown = quote!(#p).to_string().replace(' ', "");
                Some(quote!(#check::custom(#shown, #p(__value))))
            }
            "importance" => {
                let s: LitStr = syn::parse2(quote!(#value))?;
                c.fail = match s.value().as_str() {
                    "warn" => false,
                    "fail" => true,
                    _ => return Err(syn::Error::new_spanned(
                        s,
                        "importance is \"warn\" (log, keep the value) or \"fail\" (fail the node)",
                    )),
                };
                return Ok(());
            }
            "target" => {
                c.target = Some(strings(&value)?);
                return Ok(());
            }
            _ => return Err(syn::Error::new_spanned(path, unknown(&name))),
        };
        c.results.extend(call);
        Ok(())
    })?;
    if c.results.is_empty() {
        return Err(meta.error(format!(
            "check_output needs a validator: {}",
            VALIDATORS
                .iter()
                .map(|(_, w)| *w)
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(c)
}

/// What an unknown validator's error says: the closest name, and every validator.
fn unknown(name: &str) -> String {
    let names = (VALIDATORS.iter().map(|(v, _)| *v)).chain(["importance", "target"]);
    let hint = did_you_mean(name, names);
    format!(
        "`{name}` is not a validator of check_output; {hint}it takes {}, `importance = \
         \"warn\" | \"fail\"` and `target = \"node\"`",
        VALIDATORS
            .iter()
            .map(|(_, w)| *w)
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// "did you mean `x`? " for the name among `names` closest to `name`, if one is close.
fn did_you_mean<'a>(name: &str, names: impl Iterator<Item = &'a str>) -> String {
    (names.map(|n| (strsim::jaro_winkler(name, n), n)))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map_or(String::new(), |(_, n)| format!("did you mean `{n}`? "))
}

/// `(low, high)`.
fn pair(value: &Expr) -> syn::Result<(&Expr, &Expr)> {
    match value {
        Expr::Tuple(t) if t.elems.len() == 2 => Ok((&t.elems[0], &t.elems[1])),
        _ => Err(syn::Error::new_spanned(
            value,
            "write the range as `(low, high)`",
        )),
    }
}

/// `false` or `true`: whether the validator checks anything (`allow_nans = true` does not).
fn checks(value: &Expr) -> syn::Result<bool> {
    let b: LitBool = syn::parse2(quote!(#value))?;
    Ok(!b.value)
}

/// A number written as a literal (`0.05`, `1`, `-2`), to check when it compiles.
fn number(value: &Expr) -> Option<f64> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Float(f), ..
        }) => f.base10_parse().ok(),
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => i.base10_parse().ok(),
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr,
            ..
        }) => number(expr).map(|x| -x),
        _ => None,
    }
}

/// `values_in = [..]`: each literal as the `Element` it matches.
fn elements(value: &Expr) -> syn::Result<Vec<TokenStream>> {
    let wrong = || {
        syn::Error::new_spanned(
            value,
            "values_in takes a list of literals: strings, numbers or booleans \
             (`[\"eu\", \"us\"]`, `[1, 2, 3]`, `[true]`)",
        )
    };
    let Expr::Array(list) = value else {
        return Err(wrong());
    };
    if list.elems.is_empty() {
        return Err(syn::Error::new_spanned(
            value,
            "values_in needs at least one value",
        ));
    }
    let element = quote!(::weft::__private::check::Element);
    (list.elems.iter())
        .map(|e| match e {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => Ok(quote!(#element::Text(#s))),
            Expr::Lit(ExprLit {
                lit: Lit::Bool(b), ..
            }) => Ok(quote!(#element::Bool(#b))),
            e if number(e).is_some() => Ok(quote!(#element::Number((#e) as f64))),
            _ => Err(wrong()),
        })
        .collect()
}

/// `contains = "x"` or `contains = ["x", "y"]`.
fn strings(value: &Expr) -> syn::Result<Vec<LitStr>> {
    let one = |e: &Expr| match e {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Ok(s.clone()),
        _ => Err(syn::Error::new_spanned(
            e,
            "write a string, or a list of strings: `\"x\"`, `[\"x\", \"y\"]`",
        )),
    };
    match value {
        Expr::Array(list) if !list.elems.is_empty() => list.elems.iter().map(one).collect(),
        e => one(e).map(|s| vec![s]),
    }
}

/// Which `check_output(..)` checks each node, by name: its own targets, or the function's
/// final nodes (`own`, or the `extracted` ones when there are any: parameterize's outputs,
/// which replace `own`, extracted fields and columns). A target that is none of them, or one
/// checked twice, is an error naming it.
pub fn targets<'c>(
    checks: &'c [Checks],
    own: Option<&str>,
    extracted: &[String],
) -> syn::Result<BTreeMap<String, &'c Checks>> {
    let mut out = BTreeMap::new();
    let nodes: Vec<&str> = (own.iter().copied())
        .chain(extracted.iter().map(String::as_str))
        .collect();
    for c in checks {
        let named: Vec<(String, Option<&LitStr>)> = match (&c.target, own) {
            (Some(list), _) => list.iter().map(|l| (l.value(), Some(l))).collect(),
            (None, Some(own)) if extracted.is_empty() => vec![(own.to_string(), None)],
            (None, _) => extracted.iter().map(|n| (n.clone(), None)).collect(),
        };
        for (name, lit) in named {
            let error = |message: String| match lit {
                Some(l) => syn::Error::new_spanned(l, message),
                None => syn::Error::new(proc_macro2::Span::call_site(), message),
            };
            if !nodes.contains(&name.as_str()) {
                let closest = did_you_mean(&name, nodes.iter().copied());
                return Err(error(format!(
                    "check_output's target `{name}` is not a node of this function; \
                     {closest}its nodes are: {}",
                    nodes.join(", ")
                )));
            }
            if out.insert(name.clone(), c).is_some() {
                return Err(error(format!(
                    "`{name}` is checked by two `check_output(..)`s: write its validators in one"
                )));
            }
        }
    }
    Ok(out)
}

impl Checks {
    /// The nodes that check `target`: `{target}_check` (the report, from `raw`, the unchecked
    /// node of type `ty`) and `target` itself (the value once checked).
    pub fn nodes(
        &self,
        (target, raw, ty): (&str, &str, &Type),
        ctor: &Ident,
        code_version: &str,
        doc: &str,
    ) -> [NodeDef; 2] {
        let check_node = format!("{target}_check");
        let report = quote!(::weft::__private::value_type!(::weft::CheckReport));
        let param = |name: &str, ty: &TokenStream| {
            quote! {
                ::weft::__private::ParamSpec::new(
                    #name,
                    ::weft::__private::ParamKind::Required,
                    #ty,
                )
            }
        };
        let raw_ty = quote!(::weft::__private::value_type!(#ty));
        let cv_tokens = &self.tokens;
        let none = quote!(::std::option::Option::None);
        [
            NodeDef {
                ctor: format_ident!("{ctor}__check"),
                name: check_node.clone(),
                doc: format!("The checks of `{target}`."),
                code_version: code_version::derived(code_version, quote!(check_output(#cv_tokens))),
                params: vec![param(raw, &raw_ty)],
                output: report.clone(),
                body: self.report_body(target, ty),
                item_type: none.clone(),
                item_split: none.clone(),
                inherit: false,
            },
            NodeDef {
                ctor: format_ident!("{ctor}__checked"),
                name: target.to_string(),
                doc: doc.to_string(),
                code_version: code_version::derived(code_version, quote!(check_output checked)),
                params: vec![param(raw, &raw_ty), param(&check_node, &report)],
                output: raw_ty.clone(),
                body: quote!(::weft::__private::NodeBody::sync(
                    ::weft::__private::check::checked
                )),
                item_type: none.clone(),
                item_split: none,
                inherit: false,
            },
        ]
    }

    /// The body of node `x_check`: every validator on `x_raw`'s value (of type `ty`).
    fn report_body(&self, node: &str, ty: &Type) -> TokenStream {
        let check = quote!(::weft::__private::check);
        let results = &self.results;
        let importance = if self.fail {
            quote!(#check::Importance::Fail)
        } else {
            quote!(#check::Importance::Warn)
        };
        quote! {
            ::weft::__private::NodeBody::sync(|__args: &::weft::__private::Args<'_>| {
                let __value: &#ty = __args.get::<#ty>(0)?;
                ::std::result::Result::Ok(::weft::__private::boxed::<#check::CheckReport>(
                    #check::CheckReport {
                        node: ::std::string::ToString::to_string(#node),
                        importance: #importance,
                        results: ::std::vec![#(#results),*],
                    },
                ))
            })
        }
    }
}

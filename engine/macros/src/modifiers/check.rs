//! `check_output(range = (lo, hi), allow_nans = false, data_type = "f64", custom = path,
//! importance = "warn")`
//! (Hamilton's `@check_output` / `@check_output_custom`): node `x` becomes `x_raw` (the
//! function), `x_check` (the validators' report) and `x` (the value once checked).

use proc_macro2::TokenStream;
use quote::quote;
use syn::meta::ParseNestedMeta;
use syn::{Expr, LitBool, LitStr, Path, Type};

/// The validators and what a failure does.
pub struct Checks {
    range: Option<(Expr, Expr)>,
    allow_nans: Option<bool>,
    data_type: Option<LitStr>,
    custom: Vec<Path>,
    fail: bool,
    /// The arguments as written, for the check node's code version.
    pub tokens: TokenStream,
}

/// Parses `check_output(..)`.
pub fn parse(meta: &ParseNestedMeta) -> syn::Result<Checks> {
    let mut c = Checks {
        range: None,
        allow_nans: None,
        data_type: None,
        custom: Vec::new(),
        fail: false,
        tokens: TokenStream::new(),
    };
    meta.parse_nested_meta(|v| {
        if v.path.is_ident("range") {
            let e: Expr = v.value()?.parse()?;
            let Expr::Tuple(t) = &e else {
                return Err(syn::Error::new_spanned(
                    e,
                    "write the range as `(low, high)`",
                ));
            };
            if t.elems.len() != 2 {
                return Err(syn::Error::new_spanned(
                    t,
                    "write the range as `(low, high)`",
                ));
            }
            c.range = Some((t.elems[0].clone(), t.elems[1].clone()));
            c.tokens.extend(quote!(range = #e,));
        } else if v.path.is_ident("allow_nans") {
            let b: LitBool = v.value()?.parse()?;
            c.allow_nans = Some(b.value);
            c.tokens.extend(quote!(allow_nans = #b,));
        } else if v.path.is_ident("data_type") {
            let s: LitStr = v.value()?.parse()?;
            c.tokens.extend(quote!(data_type = #s,));
            c.data_type = Some(s);
        } else if v.path.is_ident("custom") {
            let p: Path = v.value()?.parse()?;
            c.tokens.extend(quote!(custom = #p,));
            c.custom.push(p);
        } else if v.path.is_ident("importance") {
            let s: LitStr = v.value()?.parse()?;
            c.fail =
                match s.value().as_str() {
                    "warn" => false,
                    "fail" => true,
                    _ => return Err(syn::Error::new_spanned(
                        s,
                        "importance is \"warn\" (log, keep the value) or \"fail\" (fail the node)",
                    )),
                };
            c.tokens.extend(quote!(importance = #s,));
        } else {
            return Err(v.error(
                "check_output takes `range = (low, high)`, `allow_nans = bool`, \
                 `data_type = \"f64\"` (a polars series' or frame's columns' type), \
                 `custom = path::to::fn` (a `fn(&T) -> Result<(), String>`) and \
                 `importance = \"warn\" | \"fail\"`",
            ));
        }
        Ok(())
    })?;
    if c.range.is_none()
        && c.allow_nans != Some(false)
        && c.data_type.is_none()
        && c.custom.is_empty()
    {
        return Err(meta.error(
            "check_output needs a validator: `range = (low, high)`, `allow_nans = false`, \
             `data_type = \"f64\"` or `custom = path::to::fn`",
        ));
    }
    Ok(c)
}

impl Checks {
    /// The body of node `x_check`: every validator on `x_raw`'s value (of type `ty`).
    pub fn report_body(&self, node: &str, ty: &Type) -> TokenStream {
        let check = quote!(::weft::__private::check);
        let mut results = Vec::new();
        if let Some((lo, hi)) = &self.range {
            results.push(quote!(#check::range(__value, (#lo) as f64, (#hi) as f64)));
        }
        if self.allow_nans == Some(false) {
            results.push(quote!(#check::no_nans(__value)));
        }
        if let Some(t) = &self.data_type {
            results.push(quote!(#check::data_type(__value, #t)));
        }
        for p in &self.custom {
            let name = quote!(#p).to_string().replace(' ', "");
            results.push(quote!(#check::custom(#name, #p(__value))));
        }
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

//! A node's parameters and body: how each argument is taken out of the resolved dependency
//! values (or, for a `parameterize` output, bound to a value or renamed), and how the
//! function's result is erased.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{Expr, Ident, Lit};

use crate::modifiers::parameterize::{Bound, Output};
use crate::signature::{ParamShape, Signature};

/// The `ParamSpec` expressions and the `NodeBody` expression of a node calling `func`, with
/// `output`'s bindings applied when given.
pub fn params_and_body(
    sig: &Signature,
    func: &Ident,
    output: Option<&Output>,
) -> syn::Result<(Vec<TokenStream>, TokenStream)> {
    let mut specs = Vec::new();
    let mut extract = Vec::new();
    let mut arg_idents = Vec::new();
    for (i, p) in sig.params.iter().enumerate() {
        let ident = format_ident!("__weft_arg{}", i);
        let ty = &p.ty;
        let bound = output.and_then(|o| o.bound(&p.name));
        if let Some(Bound::Value(expr)) = bound {
            extract.push(bind_value(&ident, p, expr, i)?);
            arg_idents.push(ident);
            continue;
        }
        let dep = match bound {
            Some(Bound::Source(s)) => s.clone(),
            _ => p.dep.clone().unwrap_or_else(|| p.name.to_string()),
        };
        let kind = match p.shape {
            ParamShape::Ref | ParamShape::Owned | ParamShape::Deref(_) => {
                quote!(::weft::__private::ParamKind::Required)
            }
            ParamShape::OptionRef | ParamShape::OptionDeref(_) => {
                quote!(::weft::__private::ParamKind::Optional)
            }
            ParamShape::Collect => quote!(::weft::__private::ParamKind::Collect),
        };
        specs.push(quote! {
            ::weft::__private::ParamSpec::new(#dep, #kind, ::weft::__private::value_type!(#ty))
        });
        let j = specs.len() - 1;
        extract.push(match p.shape {
            ParamShape::Ref => quote!(let #ident: &#ty = __args.get::<#ty>(#j)?;),
            ParamShape::OptionRef => {
                quote!(let #ident: ::std::option::Option<&#ty> = __args.get_optional::<#ty>(#j)?;)
            }
            ParamShape::Owned => {
                quote!(let #ident: #ty = ::std::clone::Clone::clone(__args.get::<#ty>(#j)?);)
            }
            ParamShape::Deref(method) => {
                let m = format_ident!("{}", method);
                quote!(let #ident = __args.get::<#ty>(#j)?.#m();)
            }
            ParamShape::Collect => {
                quote!(let #ident: ::weft::Collect<#ty> = __args.collect::<#ty>(#j)?;)
            }
            ParamShape::OptionDeref(method) => {
                let m = format_ident!("{}", method);
                quote!(let #ident = __args.get_optional::<#ty>(#j)?.map(|v| v.#m());)
            }
        });
        arg_idents.push(ident);
    }

    let out_ty = &sig.output;
    let wrap = if sig.fallible {
        quote! {
            match __out {
                ::std::result::Result::Ok(v) => ::std::result::Result::Ok(::weft::__private::boxed::<#out_ty>(v)),
                ::std::result::Result::Err(e) => ::std::result::Result::Err(::weft::__private::user_error(e)),
            }
        }
    } else {
        quote!(::std::result::Result::Ok(::weft::__private::boxed::<#out_ty>(__out)))
    };
    let body = if sig.is_async {
        quote! {
            ::weft::__private::NodeBody::asynchronous(|__args: ::weft::__private::OwnedArgs| {
                ::std::boxed::Box::pin(async move {
                    let __args = __args.borrow();
                    #(#extract)*
                    let __out = #func(#(#arg_idents),*).await;
                    #wrap
                })
            })
        }
    } else {
        quote! {
            ::weft::__private::NodeBody::sync(|__args: &::weft::__private::Args<'_>| {
                #(#extract)*
                let __out = #func(#(#arg_idents),*);
                #wrap
            })
        }
    };
    Ok((specs, body))
}

/// A parameter bound to a value: the value is made on each call and passed the way the
/// parameter takes it. A string literal converts with `Into` (so `"eu"` binds a `&str` or
/// `String` parameter); any other expression must have the parameter's type.
fn bind_value(
    ident: &Ident,
    p: &crate::signature::Param,
    expr: &Expr,
    i: usize,
) -> syn::Result<TokenStream> {
    let ty = &p.ty;
    let val = format_ident!("__weft_val{}", i);
    let make = match expr {
        Expr::Lit(l) if matches!(l.lit, Lit::Str(_)) => {
            quote!(let #val: #ty = ::std::convert::Into::into(#expr);)
        }
        _ => quote!(let #val: #ty = #expr;),
    };
    let pass = match p.shape {
        ParamShape::Ref => quote!(let #ident: &#ty = &#val;),
        ParamShape::Owned => quote!(let #ident: #ty = #val;),
        ParamShape::OptionRef => quote!(let #ident = ::std::option::Option::Some(&#val);),
        ParamShape::Deref(method) => {
            let m = format_ident!("{}", method);
            quote!(let #ident = #val.#m();)
        }
        ParamShape::OptionDeref(method) => {
            let m = format_ident!("{}", method);
            quote!(let #ident = ::std::option::Option::Some(#val.#m());)
        }
        ParamShape::Collect => {
            return Err(syn::Error::new_spanned(
                expr,
                format!(
                    "`{}` is a `Collect` parameter: it gathers a fan-out's items and cannot be \
                     bound to a value; bind it with `source(..)`",
                    p.name
                ),
            ))
        }
    };
    Ok(quote!(#make #pass))
}

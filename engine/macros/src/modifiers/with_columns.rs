//! `with_columns(modules.., columns_to_pass = [..], pass_dataframe_as = "..", select = [..])`
//! (Hamilton's `@with_columns`) and `#[column]`: column nodes of a group.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::meta::ParseNestedMeta;
use syn::{ItemFn, LitStr, Path, Type};

use crate::signature::{ParamShape, Signature};

/// The parsed arguments.
pub struct WithColumns {
    pub modules: Vec<Path>,
    pub columns_to_pass: Vec<LitStr>,
    pub pass_dataframe_as: Option<LitStr>,
    pub select: Option<Vec<LitStr>>,
    /// The arguments as written (part of the group's code version).
    pub tokens: TokenStream,
}

pub fn parse(meta: &ParseNestedMeta) -> syn::Result<WithColumns> {
    let content;
    syn::parenthesized!(content in meta.input);
    let tokens: TokenStream = content.fork().parse()?;
    let mut out = WithColumns {
        modules: Vec::new(),
        columns_to_pass: Vec::new(),
        pass_dataframe_as: None,
        select: None,
        tokens,
    };
    let strings = |input: syn::parse::ParseStream| -> syn::Result<Vec<LitStr>> {
        let list;
        syn::bracketed!(list in input);
        Ok(list
            .parse_terminated(|p| p.parse::<LitStr>(), syn::Token![,])?
            .into_iter()
            .collect())
    };
    while !content.is_empty() {
        if content.peek(syn::Ident) && content.peek2(syn::Token![=]) {
            let key: syn::Ident = content.parse()?;
            content.parse::<syn::Token![=]>()?;
            match key.to_string().as_str() {
                "columns_to_pass" => out.columns_to_pass = strings(&content)?,
                "select" => out.select = Some(strings(&content)?),
                "pass_dataframe_as" => out.pass_dataframe_as = Some(content.parse()?),
                other => {
                    return Err(syn::Error::new_spanned(
                        &key,
                        format!(
                            "unknown with_columns argument `{other}`; expected module paths, \
                             `columns_to_pass = [\"..\"]`, `pass_dataframe_as = \"..\"` or \
                             `select = [\"..\"]`"
                        ),
                    ))
                }
            }
        } else {
            out.modules.push(content.parse()?);
        }
        if !content.is_empty() {
            content.parse::<syn::Token![,]>()?;
        }
    }
    if out.modules.is_empty() {
        return Err(meta.error(
            "with_columns needs the module(s) of its column nodes: `with_columns(features, \
             columns_to_pass = [\"amount\"])`",
        ));
    }
    Ok(out)
}

/// The group's registration: which frame parameter, the modules, the columns.
pub fn registration(
    w: &WithColumns,
    fn_ident: &syn::Ident,
    node_name: &str,
    sig: &Signature,
    code_version: &str,
) -> syn::Result<TokenStream> {
    let Some(frame) = sig.params.first() else {
        return Err(syn::Error::new_spanned(
            fn_ident,
            "a with_columns node takes the frame as its first parameter",
        ));
    };
    if !matches!(frame.shape, ParamShape::Ref | ParamShape::Owned) {
        return Err(syn::Error::new_spanned(
            &frame.ty,
            "the frame of a with_columns node is taken as `&T` or `T`",
        ));
    }
    let frame_ty = &frame.ty;
    let frame_name = frame.name.to_string();
    let modules = w.modules.iter().map(|p| {
        // A bare name is a module beside the node (`features`), not a crate.
        if p.leading_colon.is_none() && p.segments.len() == 1 {
            quote!(self::#p)
        } else {
            quote!(#p)
        }
    });
    let cols = &w.columns_to_pass;
    let pass = match &w.pass_dataframe_as {
        Some(l) => quote!(::std::option::Option::Some(#l)),
        None => quote!(::std::option::Option::None),
    };
    let select = match &w.select {
        Some(s) => quote!(::std::option::Option::Some(&[#(#s),*])),
        None => quote!(::std::option::Option::None),
    };
    let ctor = format_ident!("__weft_group_{}", fn_ident);
    Ok(quote! {
        #[doc(hidden)]
        #[allow(non_snake_case, dead_code)]
        fn #ctor() -> ::weft::__private::ColumnGroup {
            ::weft::__private::ColumnGroup::new::<#frame_ty>(
                #node_name,
                ::std::module_path!(),
                #frame_name,
                (
                    ::weft::__private::value_type!(#frame_ty),
                    ::weft::__private::value_type!(
                        <#frame_ty as ::weft::columns::ColumnFrame>::Expr
                    ),
                ),
                ::weft::modules![#(#modules),*],
                &[#(#cols),*],
                #pass,
                #select,
                #code_version,
            )
        }

        ::weft::__private::inventory::submit! {
            ::weft::__private::GroupRegistration {
                module: ::std::module_path!(),
                ctor: #ctor,
            }
        }
    })
}

fn is_series(ty: &Type) -> bool {
    match ty {
        Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == "Series"),
        _ => false,
    }
}

/// `#[column]` on a `Series -> Series` function: the node computing the expression that maps
/// it over the columns. `None` for any other function (it is an ordinary node).
pub fn series_wrapper(func: &ItemFn, sig: &Signature, code_version: &str) -> Option<ItemFn> {
    if !is_series(&sig.output) || sig.is_async {
        return None;
    }
    let fn_ident = &func.sig.ident;
    let name = fn_ident.to_string();
    let wrapper = format_ident!("__weft_column_{}", fn_ident);
    let expr = quote!(::weft::frames::polars::prelude::Expr);
    let mut params = Vec::new();
    let mut columns = Vec::new();
    let mut captures = Vec::new();
    let mut call_args = Vec::new();
    let mut column_index = 0usize;
    for p in &sig.params {
        let n = &p.name;
        let ty = &p.ty;
        if is_series(ty) {
            params.push(quote!(#n: #expr));
            columns.push(quote!(#n));
            let i = column_index;
            column_index += 1;
            let take = quote!(__cols.get(#i).cloned().unwrap_or_default());
            call_args.push(match p.shape {
                ParamShape::Ref => quote!(&#take),
                _ => take,
            });
        } else {
            match p.shape {
                ParamShape::Ref => {
                    params.push(quote!(#n: &#ty));
                    captures.push(quote!(let #n: #ty = ::std::clone::Clone::clone(#n);));
                    call_args.push(quote!(&#n));
                }
                _ => {
                    params.push(quote!(#n: #ty));
                    call_args.push(quote!(::std::clone::Clone::clone(&#n)));
                }
            }
        }
    }
    let result = if sig.fallible {
        quote!(#fn_ident(#(#call_args),*).map_err(|e| {
            ::weft::frames::polars::prelude::PolarsError::ComputeError(::std::format!("{e}").into())
        }))
    } else {
        quote!(::std::result::Result::Ok(#fn_ident(#(#call_args),*)))
    };
    let vis = &func.vis;
    Some(syn::parse_quote! {
        #[doc(hidden)]
        #[allow(non_snake_case)]
        #vis fn #wrapper(#(#params),*) -> #expr {
            #(#captures)*
            ::weft::columns::series_column(
                #name,
                #code_version,
                ::std::vec![#(#columns),*],
                ::std::sync::Arc::new(move |__cols: ::std::vec::Vec<::weft::frames::polars::prelude::Series>| {
                    #result
                }),
            )
        }
    })
}

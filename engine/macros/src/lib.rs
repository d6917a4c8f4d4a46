//! Procedural macros for [weft](https://docs.rs/weft). Use them through `weft`'s re-exports
//! (`weft::node`), not directly: the generated code refers to `::weft`.

mod attrs;
mod code_version;
mod signature;

use proc_macro::TokenStream;
use quote::{format_ident, quote};
use syn::{parse_macro_input, ItemFn};

use attrs::NodeAttrs;
use signature::{ParamShape, Signature};

/// Turns a plain function into a weft node. See `weft::node` for the full documentation.
#[proc_macro_attribute]
pub fn node(attr: TokenStream, item: TokenStream) -> TokenStream {
    let attrs = parse_macro_input!(attr as NodeAttrs);
    // The code version hashes the tokens as written, before syn reads them.
    let code_version = code_version::code_version(item.clone().into());
    let func = parse_macro_input!(item as ItemFn);
    match expand(attrs, func, &code_version) {
        Ok(tokens) => tokens.into(),
        Err(err) => err.to_compile_error().into(),
    }
}

fn expand(
    attrs: NodeAttrs,
    func: ItemFn,
    code_version: &str,
) -> syn::Result<proc_macro2::TokenStream> {
    let sig = Signature::parse(&func)?;
    let name = &func.sig.ident;
    let name_str = name.to_string();
    let ctor = format_ident!("__weft_node_{}", name);
    let doc = doc_text(&func.attrs);

    let params = sig.params.iter().map(|p| {
        let pname = p.name.to_string();
        let ty = &p.ty;
        let kind = match p.shape {
            ParamShape::Ref | ParamShape::Owned | ParamShape::Deref(_) => {
                quote!(::weft::__private::ParamKind::Required)
            }
            ParamShape::OptionRef | ParamShape::OptionDeref(_) => {
                quote!(::weft::__private::ParamKind::Optional)
            }
            ParamShape::Collect => quote!(::weft::__private::ParamKind::Collect),
        };
        quote! {
            ::weft::__private::ParamSpec::new(#pname, #kind, ::weft::__private::value_type!(#ty))
        }
    });

    // How each argument is taken out of the resolved dependency values.
    let arg_idents: Vec<_> = (0..sig.params.len())
        .map(|i| format_ident!("__weft_arg{}", i))
        .collect();
    let extract = sig.params.iter().enumerate().map(|(i, p)| {
        let ident = &arg_idents[i];
        let ty = &p.ty;
        match p.shape {
            ParamShape::Ref => quote!(let #ident: &#ty = __args.get::<#ty>(#i)?;),
            ParamShape::OptionRef => {
                quote!(let #ident: ::std::option::Option<&#ty> = __args.get_optional::<#ty>(#i)?;)
            }
            ParamShape::Owned => {
                quote!(let #ident: #ty = ::std::clone::Clone::clone(__args.get::<#ty>(#i)?);)
            }
            ParamShape::Deref(method) => {
                let m = format_ident!("{}", method);
                quote!(let #ident = __args.get::<#ty>(#i)?.#m();)
            }
            ParamShape::Collect => {
                quote!(let #ident: ::weft::Collect<#ty> = __args.collect::<#ty>(#i)?;)
            }
            ParamShape::OptionDeref(method) => {
                let m = format_ident!("{}", method);
                quote!(let #ident = __args.get_optional::<#ty>(#i)?.map(|v| v.#m());)
            }
        }
    });
    let extract: Vec<_> = extract.collect();

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
                    let __out = #name(#(#arg_idents),*).await;
                    #wrap
                })
            })
        }
    } else {
        quote! {
            ::weft::__private::NodeBody::sync(|__args: &::weft::__private::Args<'_>| {
                #(#extract)*
                let __out = #name(#(#arg_idents),*);
                #wrap
            })
        }
    };

    let tags = attrs.tags.iter().map(|(k, v)| quote!((#k, #v)));
    let behavior = match &attrs.cache_behavior {
        Some(b) => {
            let variant = format_ident!("{}", b);
            quote!(::std::option::Option::Some(::weft::CacheBehavior::#variant))
        }
        None => quote!(::std::option::Option::None),
    };
    let format = match &attrs.cache_format {
        Some(f) => quote!(::std::option::Option::Some(#f)),
        None => quote!(::std::option::Option::None),
    };
    let retries = attrs.retries;
    let timeout_ms = match attrs.timeout_ms {
        Some(ms) => quote!(::std::option::Option::Some(::std::time::Duration::from_millis(#ms))),
        None => quote!(::std::option::Option::None),
    };
    let vis = &func.vis;
    let (item_type, item_split) = match &sig.item {
        Some(t) => (
            quote!(::std::option::Option::Some(
                ::weft::__private::value_type!(#t)
            )),
            quote!(::std::option::Option::Some(::weft::__private::splitter::<#t>)),
        ),
        None => (
            quote!(::std::option::Option::None),
            quote!(::std::option::Option::None),
        ),
    };

    Ok(quote! {
        #func

        #[doc(hidden)]
        #[allow(non_snake_case, dead_code)]
        #vis fn #ctor() -> ::weft::NodeSpec {
            ::weft::NodeSpec::from_parts(::weft::__private::NodeParts {
                name: #name_str,
                module: ::std::module_path!(),
                doc: #doc,
                code_version: #code_version,
                params: ::std::vec![#(#params),*],
                output: ::weft::__private::value_type!(#out_ty),
                tags: &[#(#tags),*],
                cache_behavior: #behavior,
                cache_format: #format,
                retries: #retries,
                timeout: #timeout_ms,
                body: #body,
                item_type: #item_type,
                item_split: #item_split,
            })
        }

        ::weft::__private::inventory::submit! {
            ::weft::__private::Registration {
                module: ::std::module_path!(),
                name: #name_str,
                ctor: #ctor,
            }
        }
    })
}

/// The text of the function's doc comments, lines joined with `\n`.
fn doc_text(attrs: &[syn::Attribute]) -> String {
    let mut lines = Vec::new();
    for attr in attrs {
        if !attr.path().is_ident("doc") {
            continue;
        }
        if let syn::Meta::NameValue(nv) = &attr.meta {
            if let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) = &nv.value
            {
                lines.push(s.value().trim().to_string());
            }
        }
    }
    lines.join("\n").trim().to_string()
}

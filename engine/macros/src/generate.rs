//! The code generated for each node of a function: a hidden constructor of its `NodeSpec` and
//! its registration with the module's inventory.

use quote::{format_ident, quote};

use crate::attrs::NodeAttrs;
use crate::modifiers;

/// What every node of one function shares.
pub(crate) struct Common {
    tags: Vec<proc_macro2::TokenStream>,
    behavior: proc_macro2::TokenStream,
    format: proc_macro2::TokenStream,
    retries: u32,
    timeout: proc_macro2::TokenStream,
    when: proc_macro2::TokenStream,
    /// `.with_task(..)` / `.with_resources(..)` calls on the built spec (empty when neither).
    placement: proc_macro2::TokenStream,
}

impl Common {
    pub(crate) fn new(attrs: &NodeAttrs) -> Self {
        let none = quote!(::std::option::Option::None);
        Common {
            tags: attrs.tags.iter().map(|(k, v)| quote!((#k, #v))).collect(),
            behavior: match &attrs.cache_behavior {
                Some(b) => {
                    let variant = format_ident!("{}", b);
                    quote!(::std::option::Option::Some(::weft::CacheBehavior::#variant))
                }
                None => none.clone(),
            },
            format: match &attrs.cache_format {
                Some(f) => quote!(::std::option::Option::Some(#f)),
                None => none.clone(),
            },
            retries: attrs.retries,
            timeout: match attrs.timeout_ms {
                Some(ms) => {
                    quote!(::std::option::Option::Some(::std::time::Duration::from_millis(#ms)))
                }
                None => none,
            },
            when: modifiers::when::conditions(&attrs.when),
            placement: {
                let task = attrs.task.as_ref().map(|g| quote!(.with_task(#g)));
                let calls = &attrs.resources;
                let resources = (!calls.is_empty())
                    .then(|| quote!(.with_resources(::weft::remote::Resources::new() #(#calls)*)));
                quote!(#task #resources)
            },
        }
    }
}

/// One node to generate: a hidden constructor and its registration.
pub(crate) struct NodeDef {
    pub(crate) ctor: proc_macro2::Ident,
    pub(crate) name: String,
    pub(crate) doc: String,
    pub(crate) code_version: String,
    pub(crate) params: Vec<proc_macro2::TokenStream>,
    pub(crate) output: proc_macro2::TokenStream,
    pub(crate) body: proc_macro2::TokenStream,
    pub(crate) item_type: proc_macro2::TokenStream,
    pub(crate) item_split: proc_macro2::TokenStream,
    /// Whether it takes the function's cache behaviour, format, retries and timeout (an
    /// extracted field only reads a value, so it keeps the defaults; it shares the tags and
    /// the `when` conditions).
    pub(crate) inherit: bool,
}

impl NodeDef {
    pub(crate) fn tokens(
        self,
        vis: &syn::Visibility,
        function: &str,
        c: &Common,
    ) -> proc_macro2::TokenStream {
        let NodeDef {
            ctor,
            name,
            doc,
            code_version,
            params,
            output,
            body,
            item_type,
            item_split,
            inherit,
        } = self;
        let tags = &c.tags;
        let when = &c.when;
        let placement = &c.placement;
        let none = quote!(::std::option::Option::None);
        let (behavior, format, retries, timeout) = if inherit {
            (&c.behavior, &c.format, c.retries, &c.timeout)
        } else {
            (&none, &none, 0, &none)
        };
        quote! {
            #[doc(hidden)]
            #[allow(non_snake_case, dead_code)]
            #vis fn #ctor() -> ::weft::NodeSpec {
                ::weft::NodeSpec::from_parts(::weft::__private::NodeParts {
                    name: #name,
                    module: ::std::module_path!(),
                    doc: #doc,
                    code_version: #code_version,
                    params: ::std::vec![#(#params),*],
                    output: #output,
                    tags: &[#(#tags),*],
                    cache_behavior: #behavior,
                    cache_format: #format,
                    retries: #retries,
                    timeout: #timeout,
                    body: #body,
                    item_type: #item_type,
                    item_split: #item_split,
                    function: #function,
                    when: #when,
                }) #placement
            }

            ::weft::__private::inventory::submit! {
                ::weft::__private::Registration {
                    module: ::std::module_path!(),
                    name: #name,
                    ctor: #ctor,
                }
            }
        }
    }
}

/// The text of the function's doc comments, lines joined with `\n`.
pub(crate) fn doc_text(attrs: &[syn::Attribute]) -> String {
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

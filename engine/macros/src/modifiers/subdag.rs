//! `subdag(crate::part, inputs(raw = source("raw_eu")), config(rate = 2.0), namespace = "eu")`
//! (Hamilton's `@subdag`): the nodes of some modules, added under a namespace (the function's
//! name unless given), and the function's parameters read from that part: parameter `total` is
//! node `namespace.total`. The function registers a `weft::Subdag` in its module, so the
//! builder adds the part with the module.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::meta::ParseNestedMeta;
use syn::{Expr, Ident, LitStr, Path};

use super::parameterize::{bound, Bound};

pub struct SubdagAttr {
    pub modules: Vec<Path>,
    pub namespace: Option<LitStr>,
    /// The part's inputs: read from an outer node (`source`) or fixed (`value`).
    pub inputs: Vec<(Ident, Bound)>,
    pub config: Vec<(Ident, Expr)>,
}

pub fn parse(meta: &ParseNestedMeta) -> syn::Result<SubdagAttr> {
    let mut out = SubdagAttr {
        modules: Vec::new(),
        namespace: None,
        inputs: Vec::new(),
        config: Vec::new(),
    };
    meta.parse_nested_meta(|m| {
        if m.path.is_ident("namespace") {
            out.namespace = Some(m.value()?.parse()?);
        } else if m.path.is_ident("inputs") {
            m.parse_nested_meta(|i| {
                let name = i
                    .path
                    .get_ident()
                    .ok_or_else(|| i.error("an input of the part is a plain name"))?
                    .clone();
                let expr: Expr = i.value()?.parse()?;
                out.inputs.push((name, bound(expr)?));
                Ok(())
            })?;
        } else if m.path.is_ident("config") {
            m.parse_nested_meta(|c| {
                let name = c
                    .path
                    .get_ident()
                    .ok_or_else(|| c.error("a config key is a plain name"))?
                    .clone();
                let expr: Expr = c.value()?.parse()?;
                out.config.push((name, expr));
                Ok(())
            })?;
        } else if m.input.is_empty() || m.input.peek(syn::Token![,]) {
            out.modules.push(m.path.clone());
        } else {
            return Err(m.error(
                "expected a module path, `inputs(raw = source(\"..\"))`, `config(key = value)` \
                 or `namespace = \"..\"`",
            ));
        }
        Ok(())
    })?;
    if out.modules.is_empty() {
        return Err(meta.error("subdag needs the modules of the part: `subdag(crate::part, ..)`"));
    }
    Ok(out)
}

impl SubdagAttr {
    /// The namespace: given, or the function's node name.
    pub fn namespace(&self, node: &str) -> String {
        self.namespace
            .as_ref()
            .map_or_else(|| node.to_string(), LitStr::value)
    }

    /// The hidden constructor of the `weft::Subdag` and its registration in the module.
    pub fn tokens(&self, fn_ident: &Ident, namespace: &str) -> TokenStream {
        let ctor = format_ident!("__weft_subdag_{}", fn_ident);
        let function = fn_ident.to_string();
        let modules = &self.modules;
        let mut config: Vec<TokenStream> = self
            .config
            .iter()
            .map(|(k, v)| {
                let k = k.to_string();
                quote!(.with(#k, #v))
            })
            .collect();
        let mut inputs = Vec::new();
        for (k, b) in &self.inputs {
            let k = k.to_string();
            match b {
                Bound::Source(outer) => inputs.push(quote!(.input(#k, #outer))),
                Bound::Value(v) => config.push(quote!(.with(#k, #v))),
            }
        }
        quote! {
            #[doc(hidden)]
            #[allow(non_snake_case, dead_code)]
            fn #ctor() -> ::weft::Subdag {
                ::weft::Subdag::new(#namespace, ::weft::modules![#(#modules),*])
                    #(#inputs)*
                    .config(::weft::Inputs::new() #(#config)*)
            }

            ::weft::__private::inventory::submit! {
                ::weft::__private::SubdagRegistration {
                    module: ::std::module_path!(),
                    function: #function,
                    ctor: #ctor,
                }
            }
        }
    }
}

//! `parameterize(out_a(p = value(..), q = source("node")), out_b(..))` (Hamilton's
//! `@parameterize`): one function, one node per output, each with some parameters bound to a
//! value or renamed to another node.

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use quote::quote;
use syn::meta::ParseNestedMeta;
use syn::{Expr, Ident, Lit};

/// What one parameter is bound to.
pub enum Bound {
    /// A value (a Rust expression of the parameter's type; a string literal converts with
    /// `Into`).
    Value(Expr),
    /// Another node's value, by name.
    Source(String),
}

/// One output node.
pub struct Output {
    pub name: Ident,
    pub bindings: Vec<(Ident, Bound)>,
}

impl Output {
    /// The tokens hashed into the output's code version: its name and every binding.
    pub fn binding_tokens(&self) -> TokenStream {
        let name = &self.name;
        let items = self.bindings.iter().map(|(p, b)| match b {
            Bound::Value(e) => quote!(#p = value(#e)),
            Bound::Source(s) => quote!(#p = source(#s)),
        });
        quote!(parameterize #name (#(#items),*))
    }

    /// The function's doc comment for this output: each `{param}` replaced by what the output
    /// binds it to (a string's text, an expression as written, a source's node name), as
    /// Hamilton formats a parameterized docstring.
    pub fn doc(&self, doc: &str) -> String {
        let mut out = doc.to_string();
        for (p, b) in &self.bindings {
            let text = match b {
                Bound::Value(Expr::Lit(l)) => match &l.lit {
                    Lit::Str(s) => s.value(),
                    other => quote!(#other).to_string(),
                },
                Bound::Value(e) => quote!(#e).to_string(),
                Bound::Source(s) => s.clone(),
            };
            out = out.replace(&format!("{{{p}}}"), &text);
        }
        out
    }

    /// What parameter `param` is bound to, if anything.
    pub fn bound(&self, param: &Ident) -> Option<&Bound> {
        self.bindings
            .iter()
            .find(|(p, _)| p == param)
            .map(|(_, b)| b)
    }
}

/// Parses `parameterize(..)`'s outputs; two outputs with one name are a compile error.
pub fn parse(meta: &ParseNestedMeta) -> syn::Result<Vec<Output>> {
    let mut outputs: Vec<Output> = Vec::new();
    meta.parse_nested_meta(|out| {
        let name = out
            .path
            .get_ident()
            .ok_or_else(|| out.error("a parameterize output is a plain node name"))?
            .clone();
        if outputs.iter().any(|o| o.name == name) {
            return Err(syn::Error::new_spanned(
                &name,
                format!("parameterize output `{name}` is given twice; each output is a node and needs its own name"),
            ));
        }
        let mut bindings: Vec<(Ident, Bound)> = Vec::new();
        if out.input.peek(syn::token::Paren) {
            out.parse_nested_meta(|b| {
                let param = b
                    .path
                    .get_ident()
                    .ok_or_else(|| b.error("bind a parameter by its name"))?
                    .clone();
                if bindings.iter().any(|(p, _)| *p == param) {
                    return Err(syn::Error::new_spanned(
                        &param,
                        format!("parameter `{param}` is bound twice in output `{name}`"),
                    ));
                }
                let expr: Expr = b.value()?.parse()?;
                bindings.push((param, bound(expr)?));
                Ok(())
            })?;
        }
        outputs.push(Output { name, bindings });
        Ok(())
    })?;
    if outputs.is_empty() {
        return Err(
            meta.error("parameterize needs at least one output: `parameterize(out(p = value(1)))`")
        );
    }
    Ok(outputs)
}

pub fn bound(expr: Expr) -> syn::Result<Bound> {
    let err = |e: &Expr| {
        syn::Error::new_spanned(
            e,
            "bind a parameter to `value(expr)` or to `source(\"node\")`",
        )
    };
    let Expr::Call(call) = &expr else {
        return Err(err(&expr));
    };
    let Expr::Path(f) = &*call.func else {
        return Err(err(&expr));
    };
    if call.args.len() != 1 {
        return Err(err(&expr));
    }
    let arg = call.args[0].clone();
    if f.path.is_ident("value") {
        Ok(Bound::Value(arg))
    } else if f.path.is_ident("source") {
        match &arg {
            Expr::Lit(l) => match &l.lit {
                Lit::Str(s) => Ok(Bound::Source(s.value())),
                _ => Err(err(&expr)),
            },
            Expr::Path(p) if p.path.get_ident().is_some() => Ok(Bound::Source(
                p.path
                    .get_ident()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            )),
            _ => Err(err(&expr)),
        }
    } else {
        Err(err(&expr))
    }
}

/// Every bound parameter must be one of the function's.
pub fn check_params(outputs: &[Output], params: &BTreeSet<String>) -> syn::Result<()> {
    for o in outputs {
        for (p, _) in &o.bindings {
            if !params.contains(&p.to_string()) {
                return Err(syn::Error::new_spanned(
                    p,
                    format!(
                        "`{p}` is not a parameter of this function, so output `{}` cannot bind it",
                        o.name
                    ),
                ));
            }
        }
    }
    Ok(())
}

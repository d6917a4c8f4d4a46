//! The arguments of `#[node(...)]`.

use syn::parse::{Parse, ParseStream};
use syn::{LitInt, LitStr};

use crate::modifiers::{check, extract, parameterize, pipe, subdag, when, with_columns};

#[derive(Default)]
pub struct NodeAttrs {
    pub tags: Vec<(String, String)>,
    /// Variant name of `weft::CacheBehavior` (`Default`, `Recompute`, `Disable`, `Ignore`).
    pub cache_behavior: Option<String>,
    pub cache_format: Option<String>,
    pub retries: u32,
    pub timeout_ms: Option<u64>,
    /// `name = ".."`: the node's name, instead of the function's.
    pub name: Option<LitStr>,
    /// `when(..)`, `when_not(..)`, `when_in(..)`, `when_not_in(..)`.
    pub when: Vec<when::Clause>,
    /// `parameterize(..)`: the outputs.
    pub parameterize: Option<Vec<parameterize::Output>>,
    /// `extract_fields(..)`: the fields.
    pub extract_fields: Option<Vec<extract::Field>>,
    /// `check_output(..)`s: validators, each on its targets.
    pub check_output: Vec<check::Checks>,
    /// `pipe_input(..)`: steps before the function, on one parameter.
    pub pipe_input: Option<pipe::PipeInput>,
    /// `pipe_output(..)`: steps after it.
    pub pipe_output: Option<Vec<pipe::Step>>,
    /// `subdag(..)`: a part of a graph the function reads its parameters from.
    pub subdag: Option<subdag::SubdagAttr>,
    /// `task = ".."`: the task group (remote executors run a chain of one group as one task).
    pub task: Option<String>,
    /// `resources(..)`: what the node needs, as `weft::remote::Resources` builder calls.
    pub resources: Vec<proc_macro2::TokenStream>,
    /// `with_columns(..)`: a group of column nodes applied to the frame parameter.
    pub with_columns: Option<with_columns::WithColumns>,
    /// `extract_columns("a", ..)`: the frame's columns that become nodes.
    pub extract_columns: Option<Vec<LitStr>>,
}

const BEHAVIORS: &[(&str, &str)] = &[
    ("default", "Default"),
    ("recompute", "Recompute"),
    ("disable", "Disable"),
    ("ignore", "Ignore"),
];

impl Parse for NodeAttrs {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut out = NodeAttrs::default();
        let parser = syn::meta::parser(|meta| {
            if meta.path.is_ident("tags") {
                meta.parse_nested_meta(|tag| {
                    let key = tag
                        .path
                        .get_ident()
                        .ok_or_else(|| tag.error("a tag name is a plain identifier"))?
                        .to_string();
                    let value: LitStr = tag.value()?.parse()?;
                    out.tags.push((key, value.value()));
                    Ok(())
                })
            } else if meta.path.is_ident("cache") {
                if meta.input.peek(syn::Token![=]) {
                    let lit: LitStr = meta.value()?.parse()?;
                    out.cache_behavior = Some(behavior(&lit)?);
                    Ok(())
                } else {
                    meta.parse_nested_meta(|inner| {
                        let lit: LitStr = inner.value()?.parse()?;
                        if inner.path.is_ident("behavior") {
                            out.cache_behavior = Some(behavior(&lit)?);
                        } else if inner.path.is_ident("format") {
                            out.cache_format = Some(lit.value());
                        } else {
                            return Err(
                                inner.error("expected `behavior = \"..\"` or `format = \"..\"`")
                            );
                        }
                        Ok(())
                    })
                }
            } else if meta.path.is_ident("retries") {
                let lit: LitInt = meta.value()?.parse()?;
                out.retries = lit.base10_parse()?;
                Ok(())
            } else if meta.path.is_ident("timeout") {
                let lit: LitStr = meta.value()?.parse()?;
                out.timeout_ms = Some(parse_duration_ms(&lit)?);
                Ok(())
            } else if meta.path.is_ident("task") {
                let lit: LitStr = meta.value()?.parse()?;
                if lit.value().trim().is_empty() {
                    return Err(syn::Error::new_spanned(&lit, "a task group needs a name"));
                }
                out.task = Some(lit.value());
                Ok(())
            } else if meta.path.is_ident("resources") {
                out.resources = resources(&meta)?;
                Ok(())
            } else if meta.path.is_ident("name") {
                out.name = Some(meta.value()?.parse()?);
                Ok(())
            } else if let Some(kind) = ["when", "when_not", "when_in", "when_not_in"]
                .into_iter()
                .find(|k| meta.path.is_ident(k))
            {
                when::parse(&meta, kind, &mut out.when)
            } else if meta.path.is_ident("parameterize") {
                out.parameterize = Some(parameterize::parse(&meta)?);
                Ok(())
            } else if meta.path.is_ident("check_output") {
                out.check_output.push(check::parse(&meta)?);
                Ok(())
            } else if meta.path.is_ident("subdag") {
                out.subdag = Some(subdag::parse(&meta)?);
                Ok(())
            } else if meta.path.is_ident("pipe_input") {
                out.pipe_input = Some(pipe::parse_input(meta.input)?);
                Ok(())
            } else if meta.path.is_ident("pipe_output") {
                out.pipe_output = Some(pipe::parse_output(meta.input)?);
                Ok(())
            } else if meta.path.is_ident("with_columns") {
                out.with_columns = Some(with_columns::parse(&meta)?);
                Ok(())
            } else if meta.path.is_ident("extract_fields") {
                out.extract_fields = Some(extract::parse(meta.input)?);
                Ok(())
            } else if meta.path.is_ident("extract_columns") {
                out.extract_columns = Some(extract::parse_columns(meta.input)?);
                Ok(())
            } else {
                Err(meta.error(
                    "unknown #[node] argument; expected `tags(k = \"v\")`, `cache = \"..\"`, \
                     `cache(behavior = \"..\", format = \"..\")`, `retries = N`, `timeout = \"5s\"`, \
                     `name = \"..\"`, `task = \"..\"`, `resources(cpus = 2, memory = \"4GB\", gpus = 1, \
                     custom(name = 1))`, `when(k = \"v\")` (or `when_not`, `when_in`, `when_not_in`), \
                     `parameterize(out(p = value(..), q = source(\"..\")))` or \
                     `extract_fields(field: Type, ..)`, `extract_columns(\"a\", ..)`, \
                     `check_output(range = (lo, hi), ..)`, \
                     `pipe_input(step, ..)`, `pipe_output(step, ..)`, \
                     `subdag(crate::part, inputs(..), config(..))` or \
                     `with_columns(module, columns_to_pass = [\"..\"])`",
                ))
            }
        });
        syn::parse::Parser::parse2(parser, input.parse()?)?;
        Ok(out)
    }
}

fn behavior(lit: &LitStr) -> syn::Result<String> {
    let v = lit.value();
    BEHAVIORS
        .iter()
        .find(|(k, _)| *k == v)
        .map(|(_, variant)| variant.to_string())
        .ok_or_else(|| {
            syn::Error::new_spanned(
                lit,
                format!("unknown cache behavior `{v}`; expected one of default, recompute, disable, ignore"),
            )
        })
}

/// `"250ms"`, `"5s"`, `"2m"`.
fn parse_duration_ms(lit: &LitStr) -> syn::Result<u64> {
    let v = lit.value();
    let err = || {
        syn::Error::new_spanned(
            lit,
            "expected a duration such as \"250ms\", \"5s\" or \"2m\"",
        )
    };
    let (num, mult) = if let Some(n) = v.strip_suffix("ms") {
        (n, 1)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1000)
    } else if let Some(n) = v.strip_suffix('m') {
        (n, 60_000)
    } else {
        return Err(err());
    };
    let n: u64 = num.trim().parse().map_err(|_| err())?;
    Ok(n * mult)
}

/// `resources(cpus = 2, memory = "4GB", gpus = 1, custom(ssd = 1))`: builder calls on
/// `weft::remote::Resources`.
fn resources(meta: &syn::meta::ParseNestedMeta) -> syn::Result<Vec<proc_macro2::TokenStream>> {
    let mut calls = Vec::new();
    meta.parse_nested_meta(|r| {
        if r.path.is_ident("cpus") || r.path.is_ident("gpus") {
            let n = amount(&r.value()?.parse()?)?;
            let method = r.path.get_ident().cloned();
            calls.push(quote::quote!(.#method(#n)));
        } else if r.path.is_ident("memory") {
            let lit: LitStr = r.value()?.parse()?;
            let bytes = parse_bytes(&lit)?;
            calls.push(quote::quote!(.memory_bytes(#bytes)));
        } else if r.path.is_ident("custom") {
            r.parse_nested_meta(|c| {
                let name = c
                    .path
                    .get_ident()
                    .ok_or_else(|| c.error("a custom resource name is a plain identifier"))?
                    .to_string();
                let n = amount(&c.value()?.parse()?)?;
                calls.push(quote::quote!(.custom(#name, #n)));
                Ok(())
            })?;
        } else {
            return Err(r.error(
                "unknown resource; expected `cpus = N`, `memory = \"4GB\"`, `gpus = N` or \
                 `custom(name = N)`",
            ));
        }
        Ok(())
    })?;
    Ok(calls)
}

/// A resource amount: an integer or a float literal, as `f64`.
fn amount(lit: &syn::Lit) -> syn::Result<f64> {
    let n = match lit {
        syn::Lit::Int(i) => i.base10_parse::<u64>()? as f64,
        syn::Lit::Float(f) => f.base10_parse::<f64>()?,
        other => {
            return Err(syn::Error::new_spanned(
                other,
                "expected a number such as 2 or 0.5",
            ))
        }
    };
    if n.is_finite() && n >= 0.0 {
        Ok(n)
    } else {
        Err(syn::Error::new_spanned(
            lit,
            "a resource amount is a number >= 0",
        ))
    }
}

/// `"512MB"`, `"4GB"`, `"1GiB"`, `"100"` (bytes).
fn parse_bytes(lit: &LitStr) -> syn::Result<u64> {
    let v = lit.value();
    let t = v.trim();
    let units: [(&str, u64); 9] = [
        ("KiB", 1 << 10),
        ("MiB", 1 << 20),
        ("GiB", 1 << 30),
        ("TiB", 1 << 40),
        ("KB", 1_000),
        ("MB", 1_000_000),
        ("GB", 1_000_000_000),
        ("TB", 1_000_000_000_000),
        ("B", 1),
    ];
    let (num, mult) = units
        .iter()
        .find_map(|(u, m)| t.strip_suffix(u).map(|n| (n, *m)))
        .unwrap_or((t, 1));
    num.trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| {
            syn::Error::new_spanned(
                lit,
                "expected a size such as \"512MB\", \"4GB\" or \"1GiB\"",
            )
        })
}

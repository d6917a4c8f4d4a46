//! `pipe_input(step, ..)` and `pipe_output(step, ..)` (Hamilton's `@pipe_input` /
//! `@pipe_output` with `step(..)`): a chain of transforms applied to one parameter before the
//! function, or to its value after it. Each step becomes a node of its own.
//!
//! A step is a function path (`add_one`: it takes `&T` and returns a `T`), or a closure whose
//! first parameter is the piped value and whose other parameters are dependencies by name,
//! exactly as a node's (`|x: &f64, factor: &f64| x * factor`, Hamilton's
//! `step(f, factor=source("factor"))`; bound values are written in the closure's body). A
//! closure without a return type returns the type it is piped into (`pipe_input`) or the one
//! it receives (`pipe_output`). `name = step` names a step. Each step is generated as a hidden
//! function, so a step is checked by the compiler like any node.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::parse::ParseStream;
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, ItemFn, LitStr, Type};

use crate::signature::{param_shape, ParamShape, Signature};

/// One step of a pipe.
pub struct Step {
    /// `name = ..`, or the function's name for a path step.
    pub name: Option<Ident>,
    pub expr: Expr,
}

/// `pipe_input(..)`: the steps and the parameter they apply to (`on_input = "x"`, else the
/// first).
pub struct PipeInput {
    pub steps: Vec<Step>,
    pub on_input: Option<LitStr>,
}

/// Parses the parenthesized steps; `on_input = ".."` is accepted when `input`.
fn parse_steps(
    input: ParseStream,
    allow_on_input: bool,
) -> syn::Result<(Vec<Step>, Option<LitStr>)> {
    let content;
    syn::parenthesized!(content in input);
    let items = Punctuated::<Expr, syn::Token![,]>::parse_terminated(&content)?;
    let mut steps: Vec<Step> = Vec::new();
    let mut on_input = None;
    for item in items {
        let step = match item {
            Expr::Assign(a) => {
                let Expr::Path(left) = &*a.left else {
                    return Err(syn::Error::new_spanned(&a.left, "a step's name is a plain name"));
                };
                let name = left
                    .path
                    .get_ident()
                    .ok_or_else(|| syn::Error::new_spanned(&a.left, "a step's name is a plain name"))?
                    .clone();
                if name == "on_input" {
                    if !allow_on_input {
                        return Err(syn::Error::new_spanned(
                            &name,
                            "`on_input` belongs to `pipe_input`; `pipe_output` pipes the function's value",
                        ));
                    }
                    match &*a.right {
                        Expr::Lit(syn::ExprLit {
                            lit: syn::Lit::Str(s),
                            ..
                        }) => on_input = Some(s.clone()),
                        other => {
                            return Err(syn::Error::new_spanned(
                                other,
                                "`on_input` names a parameter: `on_input = \"x\"`",
                            ))
                        }
                    }
                    continue;
                }
                Step {
                    name: Some(name),
                    expr: *a.right,
                }
            }
            Expr::Path(p) => Step {
                name: p.path.segments.last().map(|s| s.ident.clone()),
                expr: Expr::Path(p),
            },
            e @ Expr::Closure(_) => Step { name: None, expr: e },
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    "a pipe step is a function (`add_one`), a closure (`|x: &f64, factor: &f64| x * factor`) \
                     or a named one (`scaled = |x: &f64| x * 2.0`)",
                ))
            }
        };
        if let Some(n) = &step.name {
            if steps.iter().any(|s| s.name.as_ref() == Some(n)) {
                return Err(syn::Error::new_spanned(
                    n,
                    format!("step `{n}` appears twice in one pipe; name one: `{n}_again = {n}`"),
                ));
            }
        }
        steps.push(step);
    }
    if steps.is_empty() {
        return Err(content.error("a pipe needs at least one step: `pipe_input(add_one)`"));
    }
    Ok((steps, on_input))
}

pub fn parse_input(input: ParseStream) -> syn::Result<PipeInput> {
    let (steps, on_input) = parse_steps(input, true)?;
    Ok(PipeInput { steps, on_input })
}

pub fn parse_output(input: ParseStream) -> syn::Result<Vec<Step>> {
    Ok(parse_steps(input, false)?.0)
}

/// A step made into a node: its hidden function, its node name, its output type, and what its
/// first parameter reads.
pub struct StepNode {
    pub func: ItemFn,
    pub name: String,
    pub output: Type,
    /// The node its piped value comes from.
    pub source: String,
    /// The hidden function's first parameter (bound to `source`).
    pub piped: Ident,
}

/// The value type a closure's first parameter reads, if written.
fn closure_input(expr: &Expr) -> syn::Result<Option<Type>> {
    let Expr::Closure(c) = expr else {
        return Ok(None);
    };
    match c.inputs.first() {
        Some(syn::Pat::Type(pt)) => Ok(Some(param_shape(&pt.ty)?.0)),
        Some(other) => Err(syn::Error::new_spanned(
            other,
            "a closure step's parameters need types: `|x: &f64| ..`",
        )),
        None => Err(syn::Error::new_spanned(
            c,
            "a closure step takes the piped value as its first parameter: `|x: &f64| ..`",
        )),
    }
}

/// The hidden function of one step: `fn ident(params) -> out { body }`.
fn step_fn(ident: &Ident, step: &Step, input: &Type, out: &Type) -> syn::Result<ItemFn> {
    let attrs = quote! {
        #[doc(hidden)]
        #[allow(non_snake_case, dead_code, clippy::ptr_arg, clippy::trivially_copy_pass_by_ref)]
    };
    let tokens = match &step.expr {
        Expr::Closure(c) => {
            if c.asyncness.is_some() || c.capture.is_some() {
                return Err(syn::Error::new_spanned(
                    c,
                    "a pipe step is a plain closure (not `async`, not `move`)",
                ));
            }
            let mut params = Vec::new();
            for p in &c.inputs {
                let syn::Pat::Type(pt) = p else {
                    return Err(syn::Error::new_spanned(
                        p,
                        "a closure step's parameters need types: `|x: &f64, factor: &f64| ..`",
                    ));
                };
                params.push(quote!(#pt));
            }
            let ret = match &c.output {
                syn::ReturnType::Type(_, t) => quote!(#t),
                syn::ReturnType::Default => quote!(#out),
            };
            // A block body is the function's body (braces around it would be linted).
            let body = match &*c.body {
                Expr::Block(b) if b.attrs.is_empty() && b.label.is_none() => {
                    let block = &b.block;
                    quote!(#block)
                }
                other => quote!({ #other }),
            };
            quote! { #attrs fn #ident(#(#params),*) -> #ret #body }
        }
        path => quote! {
            #attrs fn #ident(__weft_piped: &#input) -> #out { #path(__weft_piped) }
        },
    };
    syn::parse2(tokens)
}

/// The steps of `pipe_input` on parameter `param` (value type `ty`) of node `node`, in order.
/// The last step's value is what the function receives as `param`.
pub fn input_steps(
    fn_ident: &Ident,
    node: &str,
    param: &Ident,
    ty: &Type,
    steps: &[Step],
) -> syn::Result<Vec<StepNode>> {
    // Backwards: each step returns what the next one takes (the last one, the parameter's
    // type); a path step takes what it returns.
    let mut outs = vec![ty.clone(); steps.len()];
    let mut ins = vec![ty.clone(); steps.len()];
    for i in (0..steps.len()).rev() {
        outs[i] = match &steps[i].expr {
            Expr::Closure(syn::ExprClosure {
                output: syn::ReturnType::Type(_, t),
                ..
            }) => param_shape(t)?.0,
            _ if i + 1 < steps.len() => ins[i + 1].clone(),
            _ => ty.clone(),
        };
        ins[i] = closure_input(&steps[i].expr)?.unwrap_or_else(|| outs[i].clone());
    }
    let mut source = param.to_string();
    let mut out = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let name = format!("{node}.{}", step_label(step, i));
        let ident = format_ident!("__weft_pipe_{}_{}", fn_ident, i + 1);
        let func = step_fn(&ident, step, &ins[i], &outs[i])?;
        let piped = first_param(&func)?;
        out.push(StepNode {
            func,
            name: name.clone(),
            output: outs[i].clone(),
            source: std::mem::replace(&mut source, name),
            piped,
        });
    }
    Ok(out)
}

/// The steps of `pipe_output` on a function node `raw` of type `ty`: `node.step`, .., and the
/// last one node `last` (`node`, or `node_raw` when `node` is checked).
pub fn output_steps(
    fn_ident: &Ident,
    (node, last): (&str, &str),
    raw: &str,
    ty: &Type,
    steps: &[Step],
) -> syn::Result<Vec<StepNode>> {
    let mut source = raw.to_string();
    let mut input = ty.clone();
    let mut out = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let name = if i + 1 == steps.len() {
            last.to_string()
        } else {
            format!("{node}.{}", step_label(step, i))
        };
        let this_in = closure_input(&step.expr)?.unwrap_or_else(|| input.clone());
        let this_out = match &step.expr {
            Expr::Closure(c) => match &c.output {
                syn::ReturnType::Type(_, t) => param_shape(t)?.0,
                syn::ReturnType::Default => this_in.clone(),
            },
            _ => this_in.clone(),
        };
        let ident = format_ident!("__weft_pipe_{}_{}", fn_ident, i + 1);
        let func = step_fn(&ident, step, &this_in, &this_out)?;
        let piped = first_param(&func)?;
        out.push(StepNode {
            func,
            name: name.clone(),
            output: this_out.clone(),
            source: std::mem::replace(&mut source, name),
            piped,
        });
        input = this_out;
    }
    Ok(out)
}

fn step_label(step: &Step, i: usize) -> String {
    match &step.name {
        Some(n) => n.to_string(),
        None => format!("step{}", i + 1),
    }
}

fn first_param(func: &ItemFn) -> syn::Result<Ident> {
    let sig = Signature::parse(func)?;
    let first = sig
        .params
        .first()
        .ok_or_else(|| syn::Error::new(Span::call_site(), "a pipe step takes the piped value"))?;
    if matches!(
        first.shape,
        ParamShape::OptionRef | ParamShape::OptionDeref(_) | ParamShape::Collect
    ) {
        return Err(syn::Error::new_spanned(
            &first.name,
            "a pipe step's first parameter is the piped value: `&T` or `T`, not optional",
        ));
    }
    Ok(first.name.clone())
}

/// The tokens hashed into a step's code version.
pub fn version_tokens(kind: &str, i: usize, step: &Step) -> TokenStream {
    let expr = &step.expr;
    let i = i as u64;
    quote!(#kind #i #expr)
}

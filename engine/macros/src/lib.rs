//! Procedural macros for weft (package `weft-dataflow`). Use them through `weft`'s re-exports
//! (`weft::node`), not directly: the generated code refers to `::weft`.

mod attrs;
mod body;
mod code_version;
mod combinations;
mod generate;
mod modifiers;
mod signature;

use proc_macro::TokenStream;
use quote::{format_ident, quote};
use syn::{parse_macro_input, ItemFn};

use attrs::NodeAttrs;
use combinations::check_combinations;
use generate::{doc_text, Common, NodeDef};
use signature::Signature;

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

/// Turns a function into a column node of a `with_columns` group. See `weft::column`.
#[proc_macro_attribute]
pub fn column(attr: TokenStream, item: TokenStream) -> TokenStream {
    let attrs = parse_macro_input!(attr as NodeAttrs);
    let code_version = code_version::code_version(item.clone().into());
    let func = parse_macro_input!(item as ItemFn);
    let expanded = (|| {
        let sig = Signature::parse(&func)?;
        match modifiers::with_columns::series_wrapper(&func, &sig, &code_version) {
            None => expand(attrs, func, &code_version),
            Some(wrapper) => {
                let mut attrs = attrs;
                if attrs.name.is_none() {
                    attrs.name = Some(syn::LitStr::new(
                        &func.sig.ident.to_string(),
                        func.sig.ident.span(),
                    ));
                }
                let node = expand(attrs, wrapper, &code_version)?;
                Ok(quote!(#func #node))
            }
        }
    })();
    match expanded {
        Ok(tokens) => tokens.into(),
        Err(err) => err.to_compile_error().into(),
    }
}

fn expand(
    attrs: NodeAttrs,
    mut func: ItemFn,
    code_version: &str,
) -> syn::Result<proc_macro2::TokenStream> {
    let mut sig = Signature::parse(&func)?;
    let fn_ident = &func.sig.ident.clone();
    let fn_name = fn_ident.to_string();
    let doc = doc_text(&func.attrs);
    check_combinations(&attrs, &sig)?;
    // The node's name: `name = ".."`, else for a conditional function its name without the
    // `__suffix` (Hamilton's convention), else the function's.
    let node_name = match (&attrs.name, attrs.when.is_empty()) {
        (Some(n), _) => n.value(),
        (None, false) => modifiers::when::node_name(&fn_name),
        (None, true) => fn_name.clone(),
    };
    if !attrs.when.is_empty() && fn_name.contains("__") {
        // `total__eu` is the convention for an implementation of `total`, not a style slip.
        func.attrs.push(syn::parse_quote!(#[allow(non_snake_case)]));
    }
    let common = Common::new(&attrs);
    let out_ty = &sig.output;
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
    // `check_output`: the nodes each checks (Hamilton's `target_`). A checked node `x` is made
    // as `x_raw`, checked into `x`. With `pipe_output`, the function is `x.raw`, piped into `x`
    // (into `x_raw` when `x` is checked). The function's final nodes besides its own:
    // parameterize's outputs (which replace it), the extracted fields and columns.
    let outputs = attrs
        .parameterize
        .iter()
        .flatten()
        .map(|o| o.name.to_string());
    let fields = attrs.extract_fields.iter().flatten();
    let columns = attrs.extract_columns.iter().flatten();
    let extracted: Vec<String> = (outputs.chain(fields.map(|f| f.name.to_string())))
        .chain(columns.map(syn::LitStr::value))
        .collect();
    let own = attrs.parameterize.is_none().then_some(node_name.as_str());
    let checked = modifiers::check::targets(&attrs.check_output, own, &extracted)?;
    let unchecked = |name: &str| match checked.contains_key(name) {
        true => format!("{name}_raw"),
        false => name.to_string(),
    };
    let fn_node = match &attrs.pipe_output {
        Some(_) => format!("{node_name}.raw"),
        None => unchecked(&node_name),
    };
    // What the node's checks look at: the function's value, or the last pipe step's.
    let mut checked_ty = out_ty.clone();
    let mut out = quote!(#func);
    let mut steps = Vec::new();
    // `pipe_input`: the steps, and the function's parameter bound to the last one.
    let piped_param = match &attrs.pipe_input {
        Some(pipe) => {
            let param = match &pipe.on_input {
                Some(lit) => sig
                    .params
                    .iter()
                    .find(|p| p.name == lit.value())
                    .ok_or_else(|| {
                        syn::Error::new_spanned(
                            lit,
                            format!(
                                "`on_input`: `{fn_name}` has no parameter `{}`; its parameters \
                                 are: {}",
                                lit.value(),
                                sig.params
                                    .iter()
                                    .map(|p| p.name.to_string())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        )
                    })?,
                None => sig.params.first().ok_or_else(|| {
                    syn::Error::new_spanned(
                        &func.sig,
                        "`pipe_input` pipes a parameter, and this function has none",
                    )
                })?,
            };
            if !matches!(
                param.shape,
                signature::ParamShape::Ref
                    | signature::ParamShape::Owned
                    | signature::ParamShape::Deref(_)
            ) {
                return Err(syn::Error::new_spanned(
                    &param.name,
                    "`pipe_input` pipes a required parameter (`&T` or `T`), not an optional \
                     or `Collect` one",
                ));
            }
            let made = modifiers::pipe::input_steps(
                fn_ident,
                &node_name,
                &param.name,
                &param.ty,
                &pipe.steps,
            )?;
            let last = made.last().map(|s| s.name.clone()).unwrap_or_default();
            for (i, s) in made.into_iter().enumerate() {
                steps.push((
                    s,
                    modifiers::pipe::version_tokens("pipe_input", i, &pipe.steps[i]),
                ));
            }
            Some(modifiers::parameterize::Output {
                name: fn_ident.clone(),
                bindings: vec![(
                    param.name.clone(),
                    modifiers::parameterize::Bound::Source(last),
                )],
            })
        }
        None => None,
    };
    // `subdag`: every parameter is a node of the part, `namespace.param`.
    let piped_param = match &attrs.subdag {
        Some(part) => {
            let ns = part.namespace(&node_name);
            out.extend(part.tokens(fn_ident, &ns));
            Some(modifiers::parameterize::Output {
                name: fn_ident.clone(),
                bindings: sig
                    .params
                    .iter()
                    .map(|p| {
                        (
                            p.name.clone(),
                            modifiers::parameterize::Bound::Source(format!("{ns}.{}", p.name)),
                        )
                    })
                    .collect(),
            })
        }
        None => piped_param,
    };
    if let Some(pipe) = &attrs.pipe_output {
        let ends = (node_name.as_str(), unchecked(&node_name));
        let made =
            modifiers::pipe::output_steps(fn_ident, (ends.0, &ends.1), &fn_node, out_ty, pipe)?;
        if let Some(last) = made.last() {
            checked_ty = last.output.clone();
        }
        for (i, s) in made.into_iter().enumerate() {
            steps.push((
                s,
                modifiers::pipe::version_tokens("pipe_output", i, &pipe[i]),
            ));
        }
    }
    for (step, version) in steps {
        let modifiers::pipe::StepNode {
            func: step_fn,
            name,
            output,
            source,
            piped,
        } = step;
        let step_sig = Signature::parse(&step_fn)?;
        let binding = modifiers::parameterize::Output {
            name: step_fn.sig.ident.clone(),
            bindings: vec![(piped, modifiers::parameterize::Bound::Source(source))],
        };
        let (params, body) = body::params_and_body(&step_sig, &step_fn.sig.ident, Some(&binding))?;
        let ctor = format_ident!("__weft_node_{}", step_fn.sig.ident);
        out.extend(quote!(#step_fn));
        out.extend(
            NodeDef {
                ctor,
                name,
                doc: String::new(),
                code_version: code_version::derived(code_version, version),
                params,
                output: quote!(::weft::__private::value_type!(#output)),
                body,
                item_type: quote!(::std::option::Option::None),
                item_split: quote!(::std::option::Option::None),
                inherit: false,
            }
            .tokens(&func.vis, &fn_name, &common),
        );
    }
    if let Some(w) = &attrs.with_columns {
        // The frame parameter reads `<node>.with_columns`: the frame with the group's columns.
        let group_cv = code_version::derived(code_version, w.tokens.clone());
        out.extend(modifiers::with_columns::registration(
            w, fn_ident, &node_name, &sig, &group_cv,
        )?);
        if let Some(frame) = sig.params.first_mut() {
            frame.dep = Some(format!("{node_name}.with_columns"));
        }
    }
    let mut node = |def: NodeDef| out.extend(def.tokens(&func.vis, &fn_name, &common));
    match &attrs.parameterize {
        None => {
            let (params, body) = body::params_and_body(&sig, fn_ident, piped_param.as_ref())?;
            node(NodeDef {
                ctor: format_ident!("__weft_node_{}", fn_ident),
                name: fn_node.clone(),
                doc: doc.clone(),
                code_version: code_version.to_string(),
                params,
                output: quote!(::weft::__private::value_type!(#out_ty)),
                body,
                item_type,
                item_split,
                inherit: true,
            });
        }
        Some(outputs) => {
            let names = sig.params.iter().map(|p| p.name.to_string()).collect();
            modifiers::parameterize::check_params(outputs, &names)?;
            for o in outputs {
                let (params, body) = body::params_and_body(&sig, fn_ident, Some(o))?;
                let (name, doc) = (o.name.to_string(), o.doc(&doc));
                let ctor = format_ident!("__weft_node_{}__{}", fn_ident, o.name);
                node(NodeDef {
                    ctor: ctor.clone(),
                    name: unchecked(&name),
                    doc: doc.clone(),
                    code_version: code_version::derived(code_version, o.binding_tokens()),
                    params,
                    output: quote!(::weft::__private::value_type!(#out_ty)),
                    body,
                    item_type: item_type.clone(),
                    item_split: item_split.clone(),
                    inherit: true,
                });
                if let Some(checks) = checked.get(&name) {
                    let raw = unchecked(&name);
                    for def in checks.nodes((&name, &raw, out_ty), &ctor, code_version, &doc) {
                        node(def);
                    }
                }
            }
        }
    }
    if let Some(checks) = checked.get(&node_name) {
        let ctor = format_ident!("__weft_node_{}", fn_ident);
        let raw = unchecked(&node_name);
        for def in checks.nodes((&node_name, &raw, &checked_ty), &ctor, code_version, &doc) {
            node(def);
        }
    }
    for f in attrs.extract_fields.iter().flatten() {
        let (fname, fty) = (&f.name, &f.ty);
        let (name, doc) = (
            fname.to_string(),
            format!("Field `{fname}` of `{node_name}`."),
        );
        let ctor = format_ident!("__weft_node_{}__field_{}", fn_ident, fname);
        node(NodeDef {
            ctor: ctor.clone(),
            name: unchecked(&name),
            doc: doc.clone(),
            code_version: code_version::derived(
                code_version,
                quote!(extract_fields #node_name #fname : #fty),
            ),
            params: vec![quote! {
                ::weft::__private::ParamSpec::new(
                    #node_name,
                    ::weft::__private::ParamKind::Required,
                    ::weft::__private::value_type!(#out_ty),
                )
            }],
            output: quote!(::weft::__private::value_type!(#fty)),
            body: modifiers::extract::field_body(&node_name, out_ty, f),
            item_type: quote!(::std::option::Option::None),
            item_split: quote!(::std::option::Option::None),
            inherit: false,
        });
        if let Some(checks) = checked.get(&name) {
            for def in checks.nodes((&name, &unchecked(&name), fty), &ctor, code_version, &doc) {
                node(def);
            }
        }
    }
    for (i, column) in attrs.extract_columns.iter().flatten().enumerate() {
        let name = column.value();
        let doc = format!("Column `{name}` of `{node_name}`.");
        let ctor = format_ident!("__weft_node_{}__column_{}", fn_ident, i);
        node(NodeDef {
            ctor: ctor.clone(),
            name: unchecked(&name),
            doc: doc.clone(),
            code_version: code_version::derived(
                code_version,
                quote!(extract_columns #node_name #column),
            ),
            params: vec![quote! {
                ::weft::__private::ParamSpec::new(
                    #node_name,
                    ::weft::__private::ParamKind::Required,
                    ::weft::__private::value_type!(#out_ty),
                )
            }],
            output: quote!(::weft::__private::value_type!(
                ::weft::frames::polars::prelude::Series
            )),
            body: modifiers::extract::column_body(&node_name, out_ty, &name),
            item_type: quote!(::std::option::Option::None),
            item_split: quote!(::std::option::Option::None),
            inherit: false,
        });
        if let Some(checks) = checked.get(&name) {
            let series: syn::Type = syn::parse_quote!(::weft::frames::polars::prelude::Series);
            for def in checks.nodes(
                (&name, &unchecked(&name), &series),
                &ctor,
                code_version,
                &doc,
            ) {
                node(def);
            }
        }
    }
    Ok(out)
}

/// The modifiers' build errors, with their messages (the book's `compile_fail` doctests only
/// show that such code does not compile).
#[cfg(test)]
mod build_errors;

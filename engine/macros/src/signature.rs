//! Reading a node's dependencies and output type off its Rust signature.

use syn::{FnArg, GenericArgument, ItemFn, Pat, PathArguments, ReturnType, Type};

/// How a parameter receives its dependency's value.
pub enum ParamShape {
    /// `name: &T`: a required dependency, borrowed.
    Ref,
    /// `name: Option<&T>`: an optional dependency.
    OptionRef,
    /// `name: T`: a required dependency, cloned (`T: Clone`).
    Owned,
    /// `name: &str` (a `String` dependency) or `name: &[T]` (a `Vec<T>` dependency), borrowed
    /// through the given method (`as_str`, `as_slice`).
    Deref(&'static str),
    /// `Option<&str>` / `Option<&[T]>`.
    OptionDeref(&'static str),
    /// `name: Collect<T>`: the per-item values of a node inside a fan-out.
    Collect,
}

pub struct Param {
    pub name: syn::Ident,
    /// The dependency, when it is not the parameter's name (a `with_columns` frame).
    pub dep: Option<String>,
    /// The dependency's value type (without the reference or `Option`).
    pub ty: Type,
    pub shape: ParamShape,
}

pub struct Signature {
    pub params: Vec<Param>,
    /// The node's value type: the return type, or `T` of a `Result<T, E>`.
    pub output: Type,
    pub fallible: bool,
    pub is_async: bool,
    /// `T` when the node returns `Parallel<T>` (a fan-out).
    pub item: Option<Type>,
}

impl Signature {
    pub fn parse(func: &ItemFn) -> syn::Result<Self> {
        let sig = &func.sig;
        if !sig.generics.params.is_empty() {
            return Err(syn::Error::new_spanned(
                &sig.generics,
                "a #[node] function cannot be generic: weft records each dependency's concrete type",
            ));
        }
        let mut params = Vec::new();
        for input in &sig.inputs {
            let FnArg::Typed(pat_ty) = input else {
                return Err(syn::Error::new_spanned(
                    input,
                    "a #[node] must be a free function, not a method",
                ));
            };
            let Pat::Ident(pat) = &*pat_ty.pat else {
                return Err(syn::Error::new_spanned(
                    &pat_ty.pat,
                    "a #[node] parameter must be a plain name: the name is the dependency",
                ));
            };
            let name = pat.ident.clone();
            let (ty, shape) = param_shape(&pat_ty.ty)?;
            params.push(Param {
                name,
                dep: None,
                ty,
                shape,
            });
        }
        let ret: Type = match &sig.output {
            ReturnType::Default => syn::parse_quote!(()),
            ReturnType::Type(_, ty) => (**ty).clone(),
        };
        let (output, fallible) = match result_ok_type(&ret) {
            Some(ok) => (ok, true),
            None => (ret, false),
        };
        if let Type::Reference(r) = &output {
            return Err(syn::Error::new_spanned(
                r,
                "a #[node] must return an owned value (weft keeps it and shares it by reference)",
            ));
        }
        let item = single_generic(&output, "Parallel").cloned();
        Ok(Signature {
            params,
            output,
            fallible,
            is_async: sig.asyncness.is_some(),
            item,
        })
    }
}

/// `&str` borrows a `String` value, `&Path` a `PathBuf`, `&[T]` a `Vec<T>`: (owned type, method).
fn deref_target(elem: &Type) -> Option<(Type, &'static str)> {
    match elem {
        Type::Path(p) if p.qself.is_none() && p.path.is_ident("str") => {
            Some((syn::parse_quote!(::std::string::String), "as_str"))
        }
        Type::Path(p)
            if p.qself.is_none()
                && p.path
                    .segments
                    .last()
                    .is_some_and(|s| s.ident == "Path" && s.arguments.is_empty()) =>
        {
            Some((syn::parse_quote!(::std::path::PathBuf), "as_path"))
        }
        Type::Slice(s) => {
            let t = &s.elem;
            Some((syn::parse_quote!(::std::vec::Vec<#t>), "as_slice"))
        }
        _ => None,
    }
}

pub(crate) fn param_shape(ty: &Type) -> syn::Result<(Type, ParamShape)> {
    match ty {
        Type::Reference(r) => {
            if r.mutability.is_some() {
                return Err(syn::Error::new_spanned(
                    r,
                    "a #[node] parameter cannot be `&mut`: dependencies are shared, take `&T`",
                ));
            }
            if let Some((owned, method)) = deref_target(&r.elem) {
                return Ok((owned, ParamShape::Deref(method)));
            }
            Ok(((*r.elem).clone(), ParamShape::Ref))
        }
        _ => {
            if let Some(inner) = single_generic(ty, "Collect") {
                return Ok((inner.clone(), ParamShape::Collect));
            }
            if let Some(inner) = single_generic(ty, "Option") {
                if let Type::Reference(r) = inner {
                    if r.mutability.is_none() {
                        if let Some((owned, method)) = deref_target(&r.elem) {
                            return Ok((owned, ParamShape::OptionDeref(method)));
                        }
                        return Ok(((*r.elem).clone(), ParamShape::OptionRef));
                    }
                }
                return Err(syn::Error::new_spanned(
                    ty,
                    "an optional dependency is written `Option<&T>`",
                ));
            }
            Ok((ty.clone(), ParamShape::Owned))
        }
    }
}

/// `T` when `ty` is a path whose last segment is `Result<T, ..>` (any `Result` alias, e.g.
/// `anyhow::Result<T>`, counts: its first type argument is the value).
fn result_ok_type(ty: &Type) -> Option<Type> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    args.args.iter().find_map(|a| match a {
        GenericArgument::Type(t) => Some(t.clone()),
        _ => None,
    })
}

fn single_generic<'a>(ty: &'a Type, wrapper: &str) -> Option<&'a Type> {
    let Type::Path(p) = ty else { return None };
    if p.qself.is_some() {
        return None;
    }
    let last = p.path.segments.last()?;
    if last.ident != wrapper {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    if args.args.len() != 1 {
        return None;
    }
    match args.args.first()? {
        GenericArgument::Type(t) => Some(t),
        _ => None,
    }
}

//! `extract_fields(mean: f64, stddev: f64)` (Hamilton's `@extract_fields`): the node's value is
//! a struct with named fields or a map with string keys; each field becomes a node of its own.
//! `extract_columns("a", "b")` (Hamilton's `@extract_columns`): the node's value is a polars
//! `DataFrame`; each named column becomes a node, a `Series`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Ident, Type};

/// One extracted field: its node's name and type.
pub struct Field {
    pub name: Ident,
    pub ty: Type,
}

impl Parse for Field {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let name: Ident = input.parse()?;
        input.parse::<syn::Token![:]>()?;
        let ty: Type = input.parse()?;
        Ok(Field { name, ty })
    }
}

/// Parses the parenthesized `name: Type, ..` list after `extract_fields`.
pub fn parse(input: ParseStream) -> syn::Result<Vec<Field>> {
    let content;
    syn::parenthesized!(content in input);
    let fields = content.parse_terminated(Field::parse, syn::Token![,])?;
    let mut out: Vec<Field> = Vec::new();
    for f in fields {
        if out.iter().any(|o| o.name == f.name) {
            return Err(syn::Error::new_spanned(
                &f.name,
                format!("field `{}` is extracted twice", f.name),
            ));
        }
        out.push(f);
    }
    if out.is_empty() {
        return Err(
            input.error("extract_fields needs at least one field: `extract_fields(mean: f64)`")
        );
    }
    Ok(out)
}

/// Parses the parenthesized `"column", ..` list after `extract_columns`.
pub fn parse_columns(input: ParseStream) -> syn::Result<Vec<syn::LitStr>> {
    let content;
    syn::parenthesized!(content in input);
    let names = content.parse_terminated(|i| i.parse::<syn::LitStr>(), syn::Token![,])?;
    let mut out: Vec<syn::LitStr> = Vec::new();
    for n in names {
        if n.value().is_empty() {
            return Err(syn::Error::new_spanned(&n, "a column name is not empty"));
        }
        if out.iter().any(|o| o.value() == n.value()) {
            return Err(syn::Error::new_spanned(
                &n,
                format!("column `{}` is extracted twice", n.value()),
            ));
        }
        out.push(n);
    }
    if out.is_empty() {
        return Err(
            input.error("extract_columns needs at least one column: `extract_columns(\"amount\")`")
        );
    }
    Ok(out)
}

/// The body of the node of column `column`, read from the frame of type `frame` produced by
/// node `node`; a column the frame does not have fails the column's node, naming both.
pub fn column_body(node: &str, frame: &Type, column: &str) -> TokenStream {
    quote! {
        ::weft::__private::NodeBody::sync(|__args: &::weft::__private::Args<'_>| {
            let __frame: &#frame = __args.get::<#frame>(0)?;
            ::weft::__private::extract_column(__frame, #node, #column)
                .map(::weft::__private::boxed::<::weft::frames::polars::prelude::Series>)
        })
    }
}

/// Whether the node's type is a map (read by key) rather than a struct (read by field).
fn is_map(ty: &Type) -> bool {
    let Type::Path(p) = ty else { return false };
    p.path.segments.last().is_some_and(|s| {
        ["HashMap", "BTreeMap", "IndexMap", "FxHashMap", "AHashMap"]
            .contains(&s.ident.to_string().as_str())
    })
}

/// The body of the node of field `f`, read from the whole value of type `whole` produced by
/// node `node`. A struct field that does not exist, or has another type, is a compile error
/// pointing at the field in the attribute; a missing map key fails the field's node.
pub fn field_body(node: &str, whole: &Type, f: &Field) -> TokenStream {
    let name = &f.name;
    let ty = &f.ty;
    let key = name.to_string();
    let read = if is_map(whole) {
        quote! {
            let __field: #ty = ::std::clone::Clone::clone(
                __whole.get(#key).ok_or_else(|| ::weft::__private::missing_field(
                    #node,
                    #key,
                    __whole.keys().map(|k| ::std::string::ToString::to_string(k)).collect(),
                ))?,
            );
        }
    } else {
        let access = quote_spanned!(name.span()=> ::std::clone::Clone::clone(&__whole.#name));
        quote_spanned!(ty.span()=> let __field: #ty = #access;)
    };
    quote! {
        ::weft::__private::NodeBody::sync(|__args: &::weft::__private::Args<'_>| {
            let __whole: &#whole = __args.get::<#whole>(0)?;
            #read
            ::std::result::Result::Ok(::weft::__private::boxed::<#ty>(__field))
        })
    }
}

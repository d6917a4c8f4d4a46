//! A `#[node]` function's code version: blake3 of a canonical rendering of its tokens.
//!
//! The rendering keeps every token the compiler sees, so two functions get the same version only
//! when their tokens are the same. Nothing is normalized by guessing at syntax: a comma can carry
//! meaning (`(a,)` is a one-element tuple, `(a)` is not; a macro may treat the commas in its
//! arguments however it likes), so every comma counts, trailing or not.
//!
//! What does not count, because it cannot change what the function computes:
//! - whitespace, line breaks and comments: they are not tokens;
//! - how two tokens were spaced, except between two punctuation marks that can form one
//!   operator (`a && b` is not `a & &b`), the only place spacing changes how the compiler reads
//!   them;
//! - the function's doc comments and `#[doc(..)]` attributes;
//! - its visibility (`pub`, `pub(crate)`, ..).
//!
//! `#[node(..)]` arguments are not part of the item the macro receives, so they never count.
//!
//! The rendering is weft's own (not the compiler's `to_string`), so a new Rust toolchain that
//! prints tokens differently does not change every version.

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};

/// Written before the tokens; change it only to change every version on purpose.
const DOMAIN: &str = "weft code version 2\n";

/// The code version of the function item `item` (its raw tokens, as the attribute received
/// them): 64 hex characters.
pub fn code_version(item: TokenStream) -> String {
    blake3::hash(canonical(item).as_bytes())
        .to_hex()
        .to_string()
}

/// The code version of a node that a modifier derives from a function (a `parameterize`
/// output, an extracted field): the function's version `base` combined with what the modifier
/// binds for this node (`binding`: the output's values and sources, the field's name and type),
/// so changing a bound value changes the version.
pub fn derived(base: &str, binding: TokenStream) -> String {
    let mut text = format!("weft derived code version 1\n{base}\n");
    render(&binding.into_iter().collect::<Vec<_>>(), &mut text);
    blake3::hash(text.as_bytes()).to_hex().to_string()
}

/// The text that is hashed.
fn canonical(item: TokenStream) -> String {
    let mut text = String::from(DOMAIN);
    render(&counted_tokens(item), &mut text);
    text
}

/// The item's tokens without its doc attributes and its visibility.
fn counted_tokens(item: TokenStream) -> Vec<TokenTree> {
    let tokens: Vec<TokenTree> = item.into_iter().collect();
    let mut out = Vec::with_capacity(tokens.len());
    let mut i = 0;
    // Outer attributes: `#` then a bracketed group.
    while let (Some(TokenTree::Punct(hash)), Some(TokenTree::Group(body))) =
        (tokens.get(i), tokens.get(i + 1))
    {
        if hash.as_char() != '#' || body.delimiter() != Delimiter::Bracket {
            break;
        }
        if !is_doc_attribute(&body.stream()) {
            out.extend_from_slice(&tokens[i..i + 2]);
        }
        i += 2;
    }
    // Visibility: `pub`, optionally restricted by `(crate)`, `(super)`, `(self)`, `(in path)`.
    if matches!(tokens.get(i), Some(TokenTree::Ident(id)) if id == "pub") {
        i += 1;
        if let Some(TokenTree::Group(g)) = tokens.get(i) {
            let first = g.stream().into_iter().next();
            let restriction = g.delimiter() == Delimiter::Parenthesis
                && matches!(&first, Some(TokenTree::Ident(id))
                    if id == "crate" || id == "super" || id == "self" || id == "in");
            if restriction {
                i += 1;
            }
        }
    }
    out.extend_from_slice(&tokens[i..]);
    out
}

/// Whether an attribute's bracketed contents have the path `doc` (`doc = ".."`, `doc(hidden)`).
fn is_doc_attribute(body: &TokenStream) -> bool {
    let mut it = body.clone().into_iter();
    let is_doc = matches!(it.next(), Some(TokenTree::Ident(id)) if id == "doc");
    let path_goes_on = matches!(it.next(), Some(TokenTree::Punct(p)) if p.as_char() == ':');
    is_doc && !path_goes_on
}

/// Two punctuation marks that, written together, can be (part of) one operator: `&&`, `<<=`,
/// `..=`, `::`, `->`, .. (the Rust reference's punctuation table). Between any other two, how
/// they were spaced does not change how the compiler reads them (`-*x` is `- *x`).
const OPERATOR_PAIRS: &[&str] = &[
    "&&", "||", "<<", ">>", "+=", "-=", "*=", "/=", "%=", "^=", "&=", "|=", "<=", ">=", "==", "!=",
    "..", ".=", "::", "->", "=>", "<-",
];

/// Appends one line per token (a group opens and closes on lines of its own), in a form that
/// can be read back unambiguously: a literal's text is prefixed with its length.
fn render(tokens: &[TokenTree], out: &mut String) {
    use std::fmt::Write;
    for (i, tt) in tokens.iter().enumerate() {
        match tt {
            TokenTree::Group(g) => {
                let (open, close) = match g.delimiter() {
                    Delimiter::Parenthesis => ('(', ')'),
                    Delimiter::Bracket => ('[', ']'),
                    Delimiter::Brace => ('{', '}'),
                    // An invisible group (a `macro_rules!` fragment) still groups its tokens.
                    Delimiter::None => ('«', '»'),
                };
                let inner: Vec<TokenTree> = g.stream().into_iter().collect();
                out.push(open);
                out.push('\n');
                render(&inner, out);
                out.push(close);
                out.push('\n');
            }
            TokenTree::Ident(id) => {
                let _ = writeln!(out, "i {id}");
            }
            TokenTree::Punct(p) => {
                let joined = p.spacing() == Spacing::Joint
                    && matches!(tokens.get(i + 1), Some(TokenTree::Punct(next))
                        if OPERATOR_PAIRS.iter().any(|op| op.chars().eq([p.as_char(), next.as_char()])));
                let _ = writeln!(
                    out,
                    "p {}{}",
                    p.as_char(),
                    if joined { " joint" } else { "" }
                );
            }
            TokenTree::Literal(lit) => {
                let text = lit.to_string();
                let _ = writeln!(out, "l {} {text}", text.len());
            }
        }
    }
}

#[cfg(test)]
mod tests;

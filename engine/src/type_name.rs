//! Rust type names as people read them.
//!
//! `std::any::type_name` gives full paths (`alloc::vec::Vec<alloc::string::String>`). They are a
//! type's identity and stay in cache keys, fingerprints and stored results; messages, listings
//! and pictures show the short form (`Vec<String>`) instead.

/// Shortens a Rust type name as printed by `std::any::type_name`: every path
/// is cut down to its last segment, generics and punctuation are kept, e.g.
/// `alloc::vec::Vec<alloc::string::String>` becomes `Vec<String>`.
///
/// For messages, lists and pictures; a type's identity (cache keys, stored results) is its full
/// name.
///
/// ```
/// assert_eq!(weft::short_type_name("alloc::vec::Vec<alloc::string::String>"), "Vec<String>");
/// assert_eq!(weft::short_type_name(std::any::type_name::<Option<u64>>()), "Option<u64>");
/// ```
#[must_use]
pub fn short_type_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    // Byte offset in `out` where the current path segment starts.
    let mut seg_start = 0;
    let mut chars = full.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            if out.len() > seg_start {
                // Drop the module/type prefix just written.
                out.truncate(seg_start);
            } else {
                // `<T as Trait>::Assoc` and the like: nothing to strip.
                out.push_str("::");
                seg_start = out.len();
            }
        } else if c.is_alphanumeric() || matches!(c, '_' | '#' | '{' | '}') {
            out.push(c);
        } else {
            out.push(c);
            seg_start = out.len();
        }
    }
    out
}

/// Short names for types shown side by side (the two sides of a type mismatch, the types
/// several consumers expect): each name is shortened, except that names of different types
/// that would read the same (`a::Thing` and `b::Thing`) keep their full paths, so a message
/// never says "a `Thing`, not a `Thing`".
#[must_use]
pub(crate) fn short_type_names(full: &[&str]) -> Vec<String> {
    let short: Vec<String> = full.iter().map(|t| short_type_name(t)).collect();
    full.iter()
        .zip(&short)
        .map(|(f, s)| {
            let clash = full.iter().zip(&short).any(|(f2, s2)| s2 == s && f2 != f);
            if clash {
                (*f).to_string()
            } else {
                s.clone()
            }
        })
        .collect()
}

/// [`short_type_names`] for a pair: `(short a, short b)`.
#[must_use]
pub(crate) fn short_type_name_pair(a: &str, b: &str) -> (String, String) {
    let mut names = short_type_names(&[a, b]).into_iter();
    let a = names.next().unwrap_or_default();
    let b = names.next().unwrap_or_default();
    (a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_are_shortened() {
        let cases = [
            ("alloc::vec::Vec<alloc::string::String>", "Vec<String>"),
            ("core::option::Option<u64>", "Option<u64>"),
            ("alloc::string::String", "String"),
            ("u64", "u64"),
            ("", ""),
            (
                "std::collections::hash::map::HashMap<alloc::string::String, alloc::vec::Vec<(u64, f64)>>",
                "HashMap<String, Vec<(u64, f64)>>",
            ),
            ("&'static str", "&'static str"),
            ("&mut [alloc::string::String; 3]", "&mut [String; 3]"),
            ("dyn core::ops::function::Fn(i32) -> i32", "dyn Fn(i32) -> i32"),
            ("<T as core::ops::arith::Add>::Output", "<T as Add>::Output"),
            ("my_crate::nodes::{{closure}}", "{{closure}}"),
            (
                "core::result::Result<alloc::sync::Arc<my::Thing>, std::io::error::Error>",
                "Result<Arc<Thing>, Error>",
            ),
        ];
        for (full, short) in cases {
            assert_eq!(short_type_name(full), short, "{full}");
        }
    }

    #[test]
    fn a_value_type_has_its_short_name() {
        let ty = crate::value_type!(Vec<String>);
        assert_eq!(ty.name(), "alloc::vec::Vec<alloc::string::String>");
        assert_eq!(ty.short_name(), "Vec<String>");
    }

    #[test]
    fn names_shown_together_stay_apart() {
        assert_eq!(
            short_type_name_pair("alloc::string::String", "u64"),
            ("String".to_string(), "u64".to_string())
        );
        // Two different types that shorten alike keep their paths.
        assert_eq!(
            short_type_name_pair("a::Thing", "b::Thing"),
            ("a::Thing".to_string(), "b::Thing".to_string())
        );
        assert_eq!(
            short_type_names(&["a::Thing", "alloc::string::String", "b::Thing", "a::Thing"]),
            ["a::Thing", "String", "b::Thing", "a::Thing"]
        );
        // The same type twice is no clash.
        assert_eq!(
            short_type_name_pair("alloc::string::String", "alloc::string::String"),
            ("String".to_string(), "String".to_string())
        );
    }
}

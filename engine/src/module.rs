//! Modules of nodes: every `#[node]` function registers itself under its Rust module path;
//! [`modules!`](crate::modules) names modules the way `use` does, like Hamilton's `with_modules`.

use crate::node::{NodeSpec, Registration};

/// A set of Rust modules whose `#[node]` functions form a graph. Build it with
/// [`modules!`](crate::modules).
#[derive(Debug, Clone, Default)]
pub struct Modules {
    paths: Vec<String>,
}

impl Modules {
    /// Resolves `use`-style paths (`crate::a::b`, `self::x`, `super::y`, `other_crate::m`) as
    /// written at `caller` (the caller's `module_path!()`).
    #[doc(hidden)]
    pub fn __resolve(paths: &[&str], caller: &str) -> Modules {
        let mut m = Modules::default();
        m.extend(Modules {
            paths: paths.iter().map(|p| resolve(p, caller)).collect(),
        });
        m
    }

    /// Modules given by their full path as `module_path!()` prints it (`my_crate::nodes`).
    pub fn from_paths<I: IntoIterator<Item = S>, S: Into<String>>(paths: I) -> Modules {
        Modules {
            paths: paths.into_iter().map(Into::into).collect(),
        }
    }

    /// The resolved module paths.
    pub fn paths(&self) -> &[String] {
        &self.paths
    }

    /// Adds the modules of `other` (each module once).
    pub fn extend(&mut self, other: Modules) {
        for p in other.paths {
            if !self.paths.contains(&p) {
                self.paths.push(p);
            }
        }
    }

    /// The node specs registered in each module, in module order then name order.
    pub(crate) fn collect(&self) -> Vec<(String, Vec<NodeSpec>)> {
        self.paths
            .iter()
            .map(|path| {
                let mut regs: Vec<&Registration> = inventory::iter::<Registration>
                    .into_iter()
                    .filter(|r| r.module == path)
                    .collect();
                regs.sort_by_key(|r| r.name);
                (path.clone(), regs.iter().map(|r| (r.ctor)()).collect())
            })
            .collect()
    }
}

impl Modules {
    /// The subdags that `#[node(subdag(..))]` functions of these modules register, in module
    /// order then namespace order.
    pub(crate) fn subdags(&self) -> Vec<crate::Subdag> {
        let mut out = Vec::new();
        for path in &self.paths {
            let mut regs: Vec<&crate::modifiers::SubdagRegistration> =
                inventory::iter::<crate::modifiers::SubdagRegistration>
                    .into_iter()
                    .filter(|r| r.module == path)
                    .collect();
            regs.sort_by_key(|r| r.function);
            out.extend(regs.iter().map(|r| (r.ctor)()));
        }
        out
    }
}

fn resolve(path: &str, caller: &str) -> String {
    let path: String = path.chars().filter(|c| !c.is_whitespace()).collect();
    let mut segs: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    let caller_segs: Vec<&str> = caller.split("::").collect();
    let mut base: Vec<&str> = match segs.first().copied() {
        Some("crate") => {
            segs.remove(0);
            vec![caller_segs[0]]
        }
        Some("self") => {
            segs.remove(0);
            caller_segs.clone()
        }
        Some("super") => {
            let mut b = caller_segs.clone();
            while segs.first() == Some(&"super") {
                segs.remove(0);
                b.pop();
            }
            b
        }
        _ => Vec::new(),
    };
    base.extend(segs);
    base.join("::")
}

/// Names the modules whose `#[node]` functions make up a graph, as `use` paths; a typo is a
/// compile error.
///
/// ```
/// mod marketing {
///     use weft::prelude::*;
///     #[node]
///     pub fn double(x: &i64) -> i64 { x * 2 }
/// }
/// fn main() {
///     let dr = weft::Builder::new().with_modules(weft::modules![crate::marketing]).build().unwrap();
///     assert!(dr.graph().node("double").is_some());
/// }
/// ```
#[macro_export]
macro_rules! modules {
    (crate $(,)?) => {
        $crate::Modules::__resolve(&["crate"], ::std::module_path!())
    };
    ($($path:path),* $(,)?) => {{
        $(
            #[allow(unused_imports)]
            use $path as _;
        )*
        $crate::Modules::__resolve(&[$(stringify!($path)),*], ::std::module_path!())
    }};
}

#[cfg(test)]
mod tests {
    use super::resolve;

    #[test]
    fn resolves_like_use() {
        assert_eq!(
            resolve("crate :: a :: b", "my_crate::x::y"),
            "my_crate::a::b"
        );
        assert_eq!(resolve("self::m", "my_crate::x"), "my_crate::x::m");
        assert_eq!(resolve("super::m", "my_crate::x::y"), "my_crate::x::m");
        assert_eq!(resolve("super::super::m", "c::x::y"), "c::m");
        assert_eq!(resolve("other::m", "my_crate"), "other::m");
        assert_eq!(resolve("crate", "my_crate::x"), "my_crate");
    }
}

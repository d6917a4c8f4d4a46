//! Tests of the code version: what changes it, what does not, and a property test over random
//! token edits of real node functions.

use super::{canonical, code_version};
use proc_macro2::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};

fn version(src: &str) -> String {
    code_version(src.parse().expect("test source lexes"))
}

fn same(a: &str, b: &str) {
    assert_eq!(
        version(a),
        version(b),
        "\n{a}\n  should have the version of\n{b}"
    );
}

fn differ(a: &str, b: &str) {
    assert_ne!(
        version(a),
        version(b),
        "\n{a}\n  should not have the version of\n{b}"
    );
}

#[test]
fn one_element_tuples_are_not_parenthesized_values() {
    differ(
        "fn f(a: &u64) -> String { format!(\"{:?}\", (a,)) }",
        "fn f(a: &u64) -> String { format!(\"{:?}\", (a)) }",
    );
    differ(
        "fn f(a: &u64) -> (u64,) { (*a,) }",
        "fn f(a: &u64) -> (u64,) { (*a) }",
    );
    differ(
        "fn f(a: &u64) -> (u64,) { (*a,) }",
        "fn f(a: &u64) -> (u64) { (*a,) }",
    );
    differ(
        "fn f(t: &(u64,)) -> u64 { let (a,) = *t; a }",
        "fn f(t: &(u64,)) -> u64 { let (a) = *t; a }",
    );
}

#[test]
fn macro_arguments_are_hashed_as_written() {
    differ(
        "fn f() -> Vec<u64> { vec![1, 2,] }",
        "fn f() -> Vec<u64> { vec![1, 2] }",
    );
    differ("fn f() -> u64 { m!(a, b,) }", "fn f() -> u64 { m!(a, b) }");
    // A comma after a braced group, inside a macro call and outside one.
    differ(
        "fn f() -> u64 { m!({ a }, b) }",
        "fn f() -> u64 { m!({ a } b) }",
    );
    differ(
        "fn f() -> u64 { m! { x: {}, y } }",
        "fn f() -> u64 { m! { x: {} y } }",
    );
}

#[test]
fn every_comma_counts() {
    // rustfmt adds these when it re-wraps a line; the version changes once (a recompute), never
    // the other way round.
    differ(
        "fn f(a: &u64, b: &u64) -> u64 { a + b }",
        "fn f(a: &u64, b: &u64,) -> u64 { a + b }",
    );
    differ(
        "fn f(x: &u64) -> u64 { match x { 0 => { 1 }, _ => 2 } }",
        "fn f(x: &u64) -> u64 { match x { 0 => { 1 } _ => 2 } }",
    );
}

#[test]
fn layout_and_comments_do_not_count() {
    let a = "fn f(x: &u64) -> u64 { let y = x+1; y * 2 }";
    same(
        a,
        "fn f(x: &u64)\n    -> u64\n{\n    let y = x + 1; // one more\n    y * 2 /* twice */\n}",
    );
    same(a, "fn f ( x : & u64 ) -> u64 { let y = x + 1 ; y * 2 }");
    same(
        "fn f(x: &i64) -> i64 { -1 - *x }",
        "fn f(x: &i64) -> i64 { - 1 -*x }",
    );
}

#[test]
fn spacing_between_punctuation_counts() {
    differ(
        "fn f(a: bool, b: &bool) -> bool { a && *b }",
        "fn f(a: bool, b: &bool) -> bool { a & &*b }",
    );
    differ(
        "fn f(a: u64) -> bool { a <<= 1; a < = 1 }",
        "fn f(a: u64) -> bool { a <<= 1; a <= 1 }",
    );
}

#[test]
fn doc_comments_and_visibility_do_not_count_other_attributes_do() {
    let a = "fn f(x: &u64) -> u64 { x + 1 }";
    same(
        a,
        "/// Adds one.\n/// Twice documented.\npub fn f(x: &u64) -> u64 { x + 1 }",
    );
    same(
        a,
        "#[doc(hidden)] pub(crate) fn f(x: &u64) -> u64 { x + 1 }",
    );
    same(
        a,
        "#[doc = \"x\"] pub(in crate::a) fn f(x: &u64) -> u64 { x + 1 }",
    );
    differ(a, "#[allow(unused)] fn f(x: &u64) -> u64 { x + 1 }");
    differ(
        a,
        "#[allow(unused)] /** doc */ fn f(x: &u64) -> u64 { x + 1 }",
    );
    // Doc comments inside the body are attributes of what they document: they count.
    differ(a, "fn f(x: &u64) -> u64 { /// one\n x + 1 }");
}

#[test]
fn versions_are_stable() {
    // Every stored result is keyed by this. Changing the rendering changes every node's version
    // (each result is recomputed once): do it only on purpose, and say so in the release notes.
    let src = "/// One more.\npub fn f(x: &u64) -> u64 { x+1 }";
    let text = "weft code version 2\n\
        i fn\ni f\n(\ni x\np :\np &\ni u64\n)\np - joint\np >\ni u64\n\
        {\ni x\np +\nl 1 1\n}\n";
    assert_eq!(canonical(src.parse().unwrap()), text);
    assert_eq!(
        version(src),
        blake3::hash(text.as_bytes()).to_hex().to_string()
    );
    assert_eq!(
        version(src),
        "4d6fff435b1d0685c1554aa28b9036ba0af9d5b656cad113b55f829abd561904"
    );
}

/// Node functions like the ones in the book and the examples, with tuples, macro calls, match
/// arms, closures and struct literals.
const CORPUS: &[&str] = &[
    r#"fn spend_per_signup(spend: &f64, signups: &u64) -> f64 {
        if *signups == 0 { return 0.0; }
        spend / *signups as f64
    }"#,
    r#"fn pairs(raw: &[u64], offset: Option<&u64>) -> Vec<(u64, u64)> {
        let off = offset.copied().unwrap_or(0);
        raw.iter().map(|v| (*v, v + off)).collect::<Vec<_>>()
    }"#,
    r#"fn summary(rows: &Vec<(String, u64)>) -> Result<String, std::fmt::Error> {
        use std::fmt::Write;
        let mut out = String::new();
        for (name, n) in rows {
            writeln!(out, "{name}: {n:>4}", )?;
        }
        let single = (rows.len(),);
        assert!(single.0 < 1_000, "too many rows: {}", single.0);
        Ok(format!("{out}{:?}", (single,)))
    }"#,
    r#"#[allow(clippy::needless_range_loop)]
    async fn fetch(config: &Config, ids: Collect<u64>) -> Result<Stats, Error> {
        let client = Client { base: config.url.clone(), retries: 3, };
        let got = match client.get(&ids[..]).await {
            Ok(v) => { v }
            Err(e) if e.is_retryable() => return Err(e.into()),
            Err(e) => { panic!("{e}") },
        };
        Ok(Stats { n: got.len(), values: vec![got[0], got[1],], ..Default::default() })
    }"#,
];

/// A tiny deterministic generator (splitmix64): the same cases on every run and machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A token tree whose groups can be edited in place.
enum Tok {
    Leaf(TokenTree),
    Group(Delimiter, Vec<Tok>),
}

fn to_toks(ts: TokenStream) -> Vec<Tok> {
    ts.into_iter()
        .map(|tt| match tt {
            TokenTree::Group(g) => Tok::Group(g.delimiter(), to_toks(g.stream())),
            other => Tok::Leaf(other),
        })
        .collect()
}

fn to_stream(toks: &[Tok]) -> TokenStream {
    toks.iter()
        .map(|t| match t {
            Tok::Leaf(tt) => tt.clone(),
            Tok::Group(d, inner) => TokenTree::Group(Group::new(*d, to_stream(inner))),
        })
        .collect()
}

/// Paths (child indices) to every token list: the top level and each group's contents.
fn group_paths(toks: &[Tok], prefix: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
    out.push(prefix.clone());
    for (i, t) in toks.iter().enumerate() {
        if let Tok::Group(_, inner) = t {
            prefix.push(i);
            group_paths(inner, prefix, out);
            prefix.pop();
        }
    }
}

fn list_at<'a>(toks: &'a mut Vec<Tok>, path: &[usize]) -> &'a mut Vec<Tok> {
    match path.split_first() {
        None => toks,
        Some((i, rest)) => match &mut toks[*i] {
            Tok::Group(_, inner) => list_at(inner, rest),
            Tok::Leaf(_) => unreachable!("paths only lead through groups"),
        },
    }
}

fn punct(c: char) -> Tok {
    Tok::Leaf(TokenTree::Punct(Punct::new(c, Spacing::Alone)))
}

fn is_comma(t: &Tok) -> bool {
    matches!(t, Tok::Leaf(TokenTree::Punct(p)) if p.as_char() == ',')
}

/// A token to insert or to replace another with.
fn random_token(rng: &mut Rng) -> Tok {
    let ident = |s: &str| Tok::Leaf(TokenTree::Ident(Ident::new(s, Span::call_site())));
    match rng.below(17) {
        0..=3 => punct(','),
        4 => punct(';'),
        5 => punct('+'),
        6 => punct('&'),
        7 => punct('.'),
        8 => punct('!'),
        9 => ident("a"),
        10 => ident("mut"),
        11 => ident("vec"),
        12 => Tok::Leaf(TokenTree::Literal(Literal::u64_unsuffixed(1))),
        13 => Tok::Leaf(TokenTree::Literal(Literal::string("s"))),
        14 => Tok::Group(Delimiter::Parenthesis, vec![ident("a"), punct(',')]),
        15 => Tok::Group(Delimiter::Bracket, Vec::new()),
        _ => Tok::Group(Delimiter::Brace, Vec::new()),
    }
}

/// One random edit somewhere in `toks`: delete, insert or replace a token, add or remove a
/// group's trailing comma, or add or remove a comma after a braced group.
fn edit(toks: &mut Vec<Tok>, rng: &mut Rng) {
    let mut paths = Vec::new();
    group_paths(toks, &mut Vec::new(), &mut paths);
    let list = list_at(toks, &paths[rng.below(paths.len())]);
    let len = list.len();
    match rng.below(5) {
        0 if len > 0 => {
            list.remove(rng.below(len));
        }
        1 => list.insert(rng.below(len + 1), random_token(rng)),
        2 if len > 0 => list[rng.below(len)] = random_token(rng),
        3 => {
            if list.last().is_some_and(is_comma) {
                list.pop();
            } else {
                list.push(punct(','));
            }
        }
        _ => {
            let braces: Vec<usize> = (0..len)
                .filter(|&i| matches!(list[i], Tok::Group(Delimiter::Brace, _)))
                .collect();
            if braces.is_empty() {
                list.insert(rng.below(len + 1), punct(','));
            } else {
                let at = braces[rng.below(braces.len())] + 1;
                if list.get(at).is_some_and(is_comma) {
                    list.remove(at);
                } else {
                    list.insert(at, punct(','));
                }
            }
        }
    }
}

#[test]
fn token_edits_that_change_what_stringify_prints_change_the_version() {
    let mut rng = Rng(0x5EED_C0DE);
    let mut compared = 0;
    for src in CORPUS {
        let original: TokenStream = src.parse().expect("corpus lexes");
        let printed = original.to_string();
        let v = code_version(original.clone());
        for _ in 0..1_500 {
            let mut toks = to_toks(original.clone());
            // One to three edits, so some cases are edits that partly undo each other.
            for _ in 0..=rng.below(3) {
                edit(&mut toks, &mut rng);
            }
            let edited = to_stream(&toks);
            if edited.to_string() == printed {
                continue;
            }
            compared += 1;
            assert_ne!(
                code_version(edited.clone()),
                v,
                "\n{printed}\n  and\n{edited}\n  print differently but share a code version"
            );
        }
    }
    assert!(compared > 5_000, "only {compared} edits changed the tokens");
}

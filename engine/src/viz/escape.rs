//! Text and numbers as they go into the output formats: XML, Graphviz
//! HTML-like labels and quoted strings, and SVG coordinates.

/// Characters that XML 1.0 does not allow at all.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{fffe}' && c != '\u{ffff}')
}

pub(super) fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{fffd}'),
        }
    }
    out
}

/// `s` as HTML text or as a quoted attribute value: `&`, `<`, `>`, `"` and `'` escaped, line
/// breaks and tabs kept, other control characters (which HTML does not allow) replaced by
/// U+FFFD. The pictures' Graphviz labels and the web view (`weft ui`) use it alike.
///
/// ```
/// use weft::viz::html_escape;
///
/// assert_eq!(html_escape("a < b && c > 'd'"), "a &lt; b &amp;&amp; c &gt; &#39;d&#39;");
/// assert_eq!(html_escape("<p title=\"x\">"), "&lt;p title=&quot;x&quot;&gt;");
/// assert_eq!(html_escape("two\nlines\u{7}"), "two\nlines\u{fffd}");
/// ```
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\r' | '\t' => out.push(c),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Text for a Graphviz HTML-like label (`<...>`): escaped as HTML, on one line.
pub(super) fn label_escape(s: &str) -> String {
    html_escape(&s.replace(['\n', '\r', '\t'], " "))
}

/// Text for a Graphviz double-quoted string.
pub(super) fn dot_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' | '\t' => out.push(' '),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// A number for SVG output: two decimals at most, no `-0`.
pub(super) fn fmt(v: f64) -> String {
    if !v.is_finite() {
        return "0".to_string();
    }
    let r = (v * 100.0).round() / 100.0;
    if r == 0.0 {
        "0".to_string()
    } else {
        format!("{r}")
    }
}

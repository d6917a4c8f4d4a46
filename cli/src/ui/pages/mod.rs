//! The HTML of the web view, rendered on the server (the script only adds links and live
//! updates): one file per page kind, and here the frame every page shares, escaping, and the
//! error pages.

pub(crate) mod live;
pub(crate) mod node;
pub(crate) mod run;
pub(crate) mod runs;

use std::fmt::Write as _;

use super::site::Site;

/// A page, or why there is none.
pub(crate) type Page = Result<String, PageError>;

/// A page that cannot be shown: the HTTP status and the message it shows.
#[derive(Debug)]
pub(crate) struct PageError {
    pub(crate) status: u16,
    pub(crate) message: String,
}

impl PageError {
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        PageError {
            status: 404,
            message: message.into(),
        }
    }
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        PageError {
            status: 400,
            message: message.into(),
        }
    }
    /// The cache could not be read.
    pub(crate) fn store(e: impl std::fmt::Display) -> Self {
        PageError {
            status: 500,
            message: format!("cannot read the cache: {e}"),
        }
    }

    /// The error as a page.
    pub(crate) fn render(&self, site: &Site) -> String {
        let title = match self.status {
            404 => "Not found",
            400 => "Bad request",
            _ => "Error",
        };
        frame(
            site,
            title,
            &[],
            &format!(
                "<h1>{title}</h1><div class=\"panel error\"><p>{}</p><p><a href=\"/\">All runs</a></p></div>",
                esc(&self.message)
            ),
        )
    }
}

/// Text and attribute values escaped for HTML: the engine's escaper, the one the pictures use.
pub(crate) use weft::viz::html_escape as esc;

/// `s` escaped for a URL path segment (node names and run ids are plain already; this keeps
/// links right whatever they hold).
pub(crate) fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A short form of a run id (as `cache runs` shows them).
pub(crate) fn short_id(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// The frame of every page: header, breadcrumbs, the content.
pub(crate) fn frame(
    site: &Site,
    title: &str,
    crumbs: &[(String, String)],
    content: &str,
) -> String {
    let mut nav = String::from("<nav class=\"crumbs\"><a href=\"/\">Runs</a>");
    for (label, href) in crumbs {
        if href.is_empty() {
            let _ = write!(nav, " / {}", esc(label));
        } else {
            let _ = write!(nav, " / <a href=\"{}\">{}</a>", esc(href), esc(label));
        }
    }
    nav.push_str("</nav>");
    let live_link = if site.live.is_some() {
        "<a href=\"/live\">Live</a>"
    } else {
        ""
    };
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · weft</title>\
         <link rel=\"stylesheet\" href=\"/assets/outcomes.css\">\
         <link rel=\"stylesheet\" href=\"/assets/style.css\">\
         <script src=\"/assets/app.js\" defer></script></head>\
         <body data-live=\"{live}\"><header class=\"top\"><a class=\"brand\" href=\"/\">weft</a>\
         {live_link}<span class=\"where\">{dir}</span></header>{nav}<main>{content}</main></body></html>\n",
        title = esc(title),
        live = if site.live.is_some() { "1" } else { "0" },
        dir = esc(&site.dir.display().to_string()),
    )
}

/// The live panel (shown while a watch session serves the view): what happens now, and how
/// the session's latest runs ended (a cancelled run listed as cancelled), newest first.
pub(crate) fn live_panel(site: &Site) -> String {
    let Some(hub) = &site.live else {
        return String::new();
    };
    let mut out = String::from(
        "<div id=\"live\" class=\"panel live idle\" data-state=\"idle\"><strong>Live</strong> · \
         <span class=\"what\">waiting for the first run's events…</span>\
         <ol id=\"endings\" class=\"endings\">",
    );
    for e in hub.endings() {
        let run = match &e.run_id {
            Some(id) => format!(
                " <a class=\"mono\" href=\"/runs/{}\">{}</a>",
                seg(id),
                esc(short_id(id))
            ),
            None => String::new(),
        };
        let _ = write!(
            out,
            "<li data-number=\"{n}\" data-status=\"{status}\">{badge} run {n}{run} · {reason}</li>",
            n = e.number,
            status = e.status,
            badge = badge(e.status, e.status),
            reason = esc(&e.reason),
        );
    }
    out.push_str("</ol></div>");
    out
}

/// A status badge.
pub(crate) fn badge(class: &str, text: &str) -> String {
    format!("<span class=\"badge {}\">{}</span>", esc(class), esc(text))
}

/// Microseconds for people.
pub(crate) fn micros(us: u64) -> String {
    crate::text::micros(us)
}

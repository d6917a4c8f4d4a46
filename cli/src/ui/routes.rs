//! URLs to pages. Every page is rendered on tokio's blocking pool (it reads SQLite), with the
//! time it took in a `Server-Timing` header (`render;dur=MS`: what the benchmark reads). Path
//! parameters are checked ([`safety`](super::safety)) before anything is looked up; no route
//! reads a file.
//!
//! | route | page |
//! |---|---|
//! | `/` | runs (`?node=NAME`, `?page=N`) |
//! | `/runs/{run}` | a run |
//! | `/runs/{run}/picture.svg` | a run's picture alone |
//! | `/runs/{run}/nodes/{node}` | a node in a run |
//! | `/live` | the live page (watch mode) |
//! | `/events` | server-sent events (watch mode) |
//! | `/assets/{style.css,outcomes.css,app.js}` | embedded assets |

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::StreamExt as _;
use tokio::sync::broadcast::error::RecvError;

use super::assets;
use super::pages::{self, runs::RunsQuery, Page, PageError};
use super::safety;
use super::site::Site;

type Shared = State<Arc<Site>>;

/// The web view's routes over `site`. `hosts`: the `Host` headers accepted (empty: any). A
/// view on 127.0.0.1 accepts only its own loopback names, so that a web page elsewhere cannot
/// read it through a DNS name rebound to 127.0.0.1.
pub(crate) fn router(site: Arc<Site>, hosts: Vec<String>) -> Router {
    let hosts = Arc::new(hosts);
    Router::new()
        .route("/", get(runs))
        .route("/live", get(live))
        .route("/runs/{run}", get(run))
        .route("/runs/{run}/picture.svg", get(picture))
        .route("/runs/{run}/nodes/{node}", get(node))
        .route("/events", get(events))
        .route("/assets/{name}", get(asset))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                same_host(hosts.clone(), req, next)
            },
        ))
        .with_state(site)
}

/// Refuses requests for another host name (421 Misdirected Request).
async fn same_host(
    hosts: Arc<Vec<String>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if hosts.is_empty() || hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
        next.run(req).await
    } else {
        (
            StatusCode::MISDIRECTED_REQUEST,
            format!("this weft ui answers to {} only", hosts.join(", ")),
        )
            .into_response()
    }
}

async fn runs(State(site): Shared, Query(q): Query<RunsQuery>) -> Response {
    render(site, "text/html", move |s| pages::runs::render(s, &q)).await
}

async fn live(State(site): Shared) -> Response {
    render(site, "text/html", pages::live::render).await
}

async fn run(State(site): Shared, Path(run): Path<String>) -> Response {
    if !safety::run_id(&run) {
        return refused(site, "run id", &run).await;
    }
    render(site, "text/html", move |s| pages::run::render(s, &run)).await
}

async fn picture(State(site): Shared, Path(run): Path<String>) -> Response {
    if !safety::run_id(&run) {
        return refused(site, "run id", &run).await;
    }
    render(site, "image/svg+xml", move |s| pages::run::picture(s, &run)).await
}

async fn node(State(site): Shared, Path((run, node)): Path<(String, String)>) -> Response {
    if !safety::run_id(&run) {
        return refused(site, "run id", &run).await;
    }
    if !safety::node_name(&node) {
        return refused(site, "node name", &node).await;
    }
    render(site, "text/html", move |s| {
        pages::node::render(s, &run, &node)
    })
    .await
}

async fn asset(Path(name): Path<String>) -> Response {
    let (body, kind): (String, &str) = match name.as_str() {
        "style.css" => (assets::STYLE.to_string(), "text/css"),
        "outcomes.css" => (assets::outcome_colours(), "text/css"),
        "app.js" => (assets::SCRIPT.to_string(), "text/javascript"),
        _ => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
    };
    respond(StatusCode::OK, kind, body, None)
}

async fn not_found(State(site): Shared) -> Response {
    render(site, "text/html", |_| {
        Err(PageError::not_found(
            "no such page: the view has runs, run and node pages",
        ))
    })
    .await
}

/// Server-sent events of the watch session: first the current run's events so far, then each
/// new one as it happens.
async fn events(State(site): Shared) -> Response {
    let Some(hub) = site.live.clone() else {
        return render(site, "text/html", |_| {
            Err(PageError::not_found(
                "live events are served by `watch --ui` and `dev --ui`",
            ))
        })
        .await;
    };
    let (past, rx) = hub.subscribe();
    let replay = futures_util::stream::iter(
        past.into_iter()
            .map(|e| Ok::<_, Infallible>(Event::default().data(&*e))),
    );
    let next = futures_util::stream::unfold(rx, |mut rx| async move {
        let event = match rx.recv().await {
            Ok(e) => Event::default().data(&*e),
            // A page too slow to keep up reloads rather than show a wrong picture.
            Err(RecvError::Lagged(_)) => Event::default().data(r#"{"kind":"lagged"}"#),
            Err(RecvError::Closed) => return None,
        };
        Some((Ok::<_, Infallible>(event), rx))
    });
    Sse::new(replay.chain(next))
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// A 400 page for a path parameter that cannot be a run id or node name.
async fn refused(site: Arc<Site>, what: &'static str, value: &str) -> Response {
    let shown: String = value.chars().take(80).collect();
    render(site, "text/html", move |_| {
        Err(PageError::bad_request(format!(
            "`{shown}` is not a valid {what}: run ids are letters, digits, `-` and `_`; node \
             names are letters, digits, `_` and `.` between parts"
        )))
    })
    .await
}

/// Renders a page on the blocking pool, timing it.
async fn render(
    site: Arc<Site>,
    kind: &'static str,
    page: impl FnOnce(&Site) -> Page + Send + 'static,
) -> Response {
    let done = tokio::task::spawn_blocking(move || {
        let t = Instant::now();
        let result = page(&site);
        let took = t.elapsed();
        match result {
            Ok(body) => (StatusCode::OK, kind, body, took),
            Err(e) => (
                StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                "text/html",
                e.render(&site),
                took,
            ),
        }
    })
    .await;
    match done {
        Ok((status, kind, body, took)) => respond(status, kind, body, Some(took)),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the page failed: {e}"),
        )
            .into_response(),
    }
}

/// A response with the view's headers: type, no caching of pages, nothing loaded from
/// elsewhere (a content security policy allowing this server only), and the render time.
fn respond(
    status: StatusCode,
    kind: &str,
    body: String,
    took: Option<std::time::Duration>,
) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("{kind}; charset=utf-8")) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:",
        ),
    );
    if let Some(took) = took {
        if let Ok(v) = HeaderValue::from_str(&format!("render;dur={:.3}", took.as_secs_f64() * 1e3))
        {
            h.insert("server-timing", v);
        }
    }
    r
}

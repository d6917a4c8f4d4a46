//! Transient failures are retried with backoff, and a store that keeps failing gives up within
//! its bound: a proxy on 127.0.0.1 in front of the S3 test server answers its first connections
//! with `503 Service Unavailable`, then forwards.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A proxy to the S3 test server that fails the first `failures` connections with a 503; its
/// address, and how many connections it failed.
fn flaky_proxy(failures: usize) -> (String, Arc<AtomicUsize>) {
    let upstream = std::env::var("AWS_ENDPOINT_URL").unwrap();
    let upstream = upstream.trim_start_matches("http://").to_string();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let failed = Arc::new(AtomicUsize::new(0));
    let count = failed.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { break };
            if count.load(Ordering::SeqCst) < failures {
                count.fetch_add(1, Ordering::SeqCst);
                // Read the request's head, then refuse it.
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let _ = conn.write_all(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                continue;
            }
            let Ok(server) = TcpStream::connect(&upstream) else {
                break;
            };
            for (mut from, mut to) in [
                (conn.try_clone().unwrap(), server.try_clone().unwrap()),
                (server, conn),
            ] {
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from, &mut to);
                    let _ = to.shutdown(std::net::Shutdown::Write);
                });
            }
        }
    });
    (address, failed)
}

#[test]
fn transient_failures_are_retried_and_a_failing_store_gives_up() {
    let url = weft_tests::stores::s3_url("object", "flaky");
    // Two 503s, then the server: the retries carry the run through.
    let (proxy, failed) = flaky_proxy(2);
    let out = super::child(&url, 3, 1)
        .env("AWS_ENDPOINT_URL", &proxy)
        .output()
        .unwrap();
    let (statuses, summary) = weft_tests::cache_child_results(&out);
    assert_eq!(summary, "total=4");
    assert!(statuses.values().all(|s| s == "executed"), "{statuses:?}");
    assert_eq!(failed.load(Ordering::SeqCst), 2, "both failures were met");

    // A store that answers 503 to everything: the driver gives up after its retries, with an
    // error naming the URL.
    let (proxy, failed) = flaky_proxy(usize::MAX);
    let out = super::child(&url, 3, 1)
        .env("AWS_ENDPOINT_URL", &proxy)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("cache location `{url}`: cannot reach it")),
        "{err}"
    );
    // The first try and four retries.
    assert_eq!(failed.load(Ordering::SeqCst), 5, "{err}");
}

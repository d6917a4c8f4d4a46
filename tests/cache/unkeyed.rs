//! A node that cannot hit runs before its large inputs are fingerprinted (SQLite, which can
//! say whether a node has any key stored): their versions are taken beside it, and its key and
//! record are completed as it ends.

use super::*;

pub mod early {
    use std::sync::{Condvar, Mutex, OnceLock};
    use std::time::Duration;
    use weft::prelude::*;
    use weft::{Fingerprint, FingerprintHasher};

    /// Whether `doubled` has started running.
    static STARTED: (Mutex<bool>, Condvar) = (Mutex::new(false), Condvar::new());
    /// Whether the first `Big` fingerprinted found `doubled` started (it waits for that,
    /// boundedly; later ones, such as the cache's round-trip check, find it started anyway).
    pub static FIRST_SAW: OnceLock<bool> = OnceLock::new();

    /// A large value (2 MiB by its size) whose fingerprint waits, at most a minute, until
    /// `doubled` (which reads it) has started: it finds it started only if the cache let
    /// `doubled` run before it had the value's version.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Big(pub u64);

    impl Fingerprint for Big {
        fn fingerprint(&self, h: &mut FingerprintHasher) {
            let (lock, started) = &STARTED;
            let guard = lock.lock().unwrap_or_else(|p| p.into_inner());
            let (guard, _) = started
                .wait_timeout_while(guard, Duration::from_secs(60), |s| !*s)
                .unwrap_or_else(|p| p.into_inner());
            let _ = FIRST_SAW.set(*guard);
            self.0.fingerprint(h);
        }
    }

    weft_tests::stored_as_le!(Big, large);

    #[node]
    pub fn big(n: &u64) -> Big {
        Big(*n)
    }

    #[node]
    pub fn doubled(big: &Big) -> u64 {
        let (lock, started) = &STARTED;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) = true;
        started.notify_all();
        big.0 * 2
    }
}

fn record(dr: &Driver, node: &str) -> weft::cache::NodeRecord {
    let records = dr.cache().unwrap().records(None).unwrap();
    records.into_iter().find(|r| r.node == node).unwrap()
}

#[test]
fn a_node_that_cannot_hit_runs_before_its_large_input_is_fingerprinted() {
    let dir = temp_dir("unkeyed");
    let build = || {
        Builder::new()
            .with_modules(weft::modules![crate::unkeyed::early])
            .with_cache_config(CacheConfig::at(&dir))
            .build()
            .unwrap()
    };
    let dr = build();
    let out = dr.execute(&["doubled"], inputs! { "n" => 3u64 }).unwrap();
    assert_eq!(*out.get::<u64>("doubled").unwrap(), 6);
    assert!(
        early::FIRST_SAW.get() == Some(&true),
        "`doubled` waited for the version of `big` although no key of it was stored"
    );
    // The records are complete: the version taken beside the run, the key made as it ended.
    let big = record(&dr, "big");
    let doubled = record(&dr, "doubled");
    assert_eq!(big.status, Status::Executed);
    assert!(big.data_version.is_some(), "{big:?}");
    assert_eq!(doubled.status, Status::Executed);
    assert_eq!(doubled.deps, vec![("big".to_string(), big.data_version)]);
    assert!(doubled.cache_key.is_some(), "{doubled:?}");
    assert_eq!(
        doubled.reason.as_deref(),
        Some("no result of this node is stored")
    );
    drop(dr);

    // Those keys are the ones a lookup makes: another driver hits both.
    let dr = build();
    let out = dr.execute(&["doubled"], inputs! { "n" => 3u64 }).unwrap();
    assert_eq!(*out.get::<u64>("doubled").unwrap(), 6);
    assert_eq!(
        statuses(&dr),
        status_map(&[("big", Status::Hit), ("doubled", Status::Hit)])
    );
    // A node with a key stored is keyed and looked up before it runs, as always.
    let out = dr.execute(&["doubled"], inputs! { "n" => 4u64 }).unwrap();
    assert_eq!(*out.get::<u64>("doubled").unwrap(), 8);
    let doubled = record(&dr, "doubled");
    assert_eq!(doubled.status, Status::Executed);
    assert_eq!(
        doubled.reason.as_deref(),
        Some("no stored result for this key")
    );
    drop(dr);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Nodes whose behaviour stores nothing (`ignore`, `disable`) are recorded with their large
/// value's version all the same, taken by the cache's writer beside the run rather than as the
/// node ends.
pub mod stores_nothing {
    use std::sync::{Condvar, Mutex, OnceLock};
    use std::time::Duration;
    use weft::prelude::*;
    use weft::{Fingerprint, FingerprintHasher};

    type Handshake = (Mutex<bool>, Condvar);

    /// Marks a node started.
    fn start(h: &Handshake) {
        *h.0.lock().unwrap_or_else(|p| p.into_inner()) = true;
        h.1.notify_all();
    }

    /// Waits, at most a minute, for a node to start; whether it had.
    fn started(h: &Handshake) -> bool {
        let guard = h.0.lock().unwrap_or_else(|p| p.into_inner());
        let (guard, _) =
            h.1.wait_timeout_while(guard, Duration::from_secs(60), |s| !*s)
                .unwrap_or_else(|p| p.into_inner());
        *guard
    }

    static AFTER_IGNORED: Handshake = (Mutex::new(false), Condvar::new());
    static AFTER_DISABLED: Handshake = (Mutex::new(false), Condvar::new());
    /// Whether the first fingerprint of each value found its reader started.
    pub static IGNORED_SAW: OnceLock<bool> = OnceLock::new();
    pub static DISABLED_SAW: OnceLock<bool> = OnceLock::new();

    /// A large value (2 MiB by its size) whose first fingerprint waits until a node starts,
    /// and says in `$saw` whether it had.
    macro_rules! waiting_value {
        ($ty:ident, $for:ident, $saw:ident) => {
            #[derive(Debug, Clone, PartialEq)]
            pub struct $ty(pub u64);
            impl Fingerprint for $ty {
                fn fingerprint(&self, h: &mut FingerprintHasher) {
                    let _ = $saw.set(started(&$for));
                    self.0.fingerprint(h);
                }
            }
            weft_tests::stored_as_le!($ty, large);
        };
    }
    waiting_value!(Ignored, AFTER_IGNORED, IGNORED_SAW);
    waiting_value!(Disabled, AFTER_DISABLED, DISABLED_SAW);

    #[node(cache = "ignore")]
    pub fn client(n: &u64) -> Ignored {
        Ignored(*n)
    }
    #[node]
    pub fn after_ignored(client: &Ignored) -> u64 {
        start(&AFTER_IGNORED);
        client.0 + 1
    }
    #[node(cache = "disable")]
    pub fn sample(n: &u64) -> Disabled {
        Disabled(*n)
    }
    #[node]
    pub fn after_disabled(sample: &Disabled) -> u64 {
        start(&AFTER_DISABLED);
        sample.0 + 2
    }
}

#[test]
fn nodes_that_store_nothing_are_versioned_beside_the_run() {
    let dir = temp_dir("stores-nothing");
    let build = || {
        Builder::new()
            .with_modules(weft::modules![crate::unkeyed::stores_nothing])
            .with_cache_config(CacheConfig::at(&dir))
            .build()
            .unwrap()
    };
    let outs = ["after_ignored", "after_disabled"];
    let dr = build();
    let out = dr.execute(&outs, inputs! { "n" => 3u64 }).unwrap();
    assert_eq!(*out.get::<u64>("after_ignored").unwrap(), 4);
    assert_eq!(*out.get::<u64>("after_disabled").unwrap(), 5);
    assert!(
        stores_nothing::IGNORED_SAW.get() == Some(&true),
        "the run waited for the version of the ignored `client` before its reader ran"
    );
    assert!(
        stores_nothing::DISABLED_SAW.get() == Some(&true),
        "the run waited for the version of the disabled `sample` before its reader ran"
    );
    let client = record(&dr, "client");
    let sample = record(&dr, "sample");
    assert_eq!(client.status, Status::Ignored);
    assert_eq!(sample.status, Status::Disabled);
    assert!(client.data_version.is_some(), "{client:?}");
    assert!(sample.data_version.is_some(), "{sample:?}");
    // The disabled node's version is in its reader's key; the ignored one's is not.
    let after = record(&dr, "after_disabled");
    assert_eq!(
        after.deps,
        vec![("sample".to_string(), sample.data_version)]
    );
    drop(dr);

    // A new driver runs both again (nothing of them is stored) and hits their readers.
    let dr = build();
    dr.execute(&outs, inputs! { "n" => 3u64 }).unwrap();
    assert_eq!(
        statuses(&dr),
        status_map(&[
            ("client", Status::Ignored),
            ("after_ignored", Status::Hit),
            ("sample", Status::Disabled),
            ("after_disabled", Status::Hit),
        ])
    );
    let sample2 = record(&dr, "sample");
    assert_eq!(sample2.data_version, sample.data_version);
    drop(dr);
    let _ = std::fs::remove_dir_all(&dir);
}

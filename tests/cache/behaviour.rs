//! What is cached and when: hits across drivers, behaviours and policies, ignored inputs,
//! cancelled runs, values without a fingerprint.

use super::*;

pub(crate) fn second_driver_hits_everything_and_loads_only_what_it_returns(store: Store) {
    let build = || cached(weft::modules![crate::lazy], &store);
    let dr = build();
    let out = dr.execute(&["c"], inputs! { "x" => 1u64 }).unwrap();
    assert_eq!(out.get::<Counted>("c").unwrap(), &Counted(7));
    assert_eq!(
        statuses(&dr),
        status_map(&[
            ("a", Status::Executed),
            ("b", Status::Executed),
            ("c", Status::Executed)
        ])
    );
    // The long-lived driver answers from memory before the disk.
    dr.execute(&["c"], inputs! { "x" => 1u64 }).unwrap();
    assert_eq!(
        statuses(&dr),
        status_map(&[
            ("a", Status::Memo),
            ("b", Status::Memo),
            ("c", Status::Memo)
        ])
    );
    drop(dr);

    if let Store::Memory { dir, .. } = &store {
        assert!(
            !dir.join("meta.sqlite").exists() && !dir.join("results.sqlite").exists(),
            "the memory store writes no files"
        );
    }
    let before = loads();
    let dr = build();
    let (out, rec) = dr
        .execute_recorded(&["c"], inputs! { "x" => 1u64 }, Inputs::new())
        .unwrap();
    assert!(rec.executed.is_empty(), "{rec:?}");
    assert_eq!(
        statuses(&dr),
        status_map(&[("a", Status::Hit), ("b", Status::Hit), ("c", Status::Hit)])
    );
    // The requested output is read before the run ends; the other hits are never read.
    assert_eq!(loads(), before + 1, "only the output was read");
    assert!(out.value("c").unwrap().is_loaded());
    assert_eq!(out.get::<Counted>("c").unwrap(), &Counted(7));
    assert_eq!(loads(), before + 1, "and only once");
}

pub mod policies {
    use std::cell::Cell;
    use weft::prelude::*;

    // Per thread: each test (and each store's run of it) has its own.
    thread_local! {
        pub static RAW_CALLS: Cell<usize> = const { Cell::new(0) };
        pub static SAMPLE: Cell<u64> = const { Cell::new(10) };
    }

    /// Always fetch fresh data.
    #[node(cache = "recompute")]
    pub fn raw(day: &u64) -> u64 {
        RAW_CALLS.with(|c| c.set(c.get() + 1));
        day * 100
    }
    #[node]
    pub fn clean(raw: &u64) -> u64 {
        raw + 1
    }
    /// Non-deterministic: never cached.
    #[node(cache = "disable")]
    pub fn sample(clean: &u64) -> u64 {
        clean + SAMPLE.with(Cell::get)
    }
    #[node]
    pub fn model(sample: &u64) -> u64 {
        sample * 2
    }
    /// A client: its value stays out of children's keys.
    #[node(cache = "ignore")]
    pub fn client(api_key: &str) -> String {
        format!("client({api_key})")
    }
    #[node]
    pub fn fetched(client: &str, day: &u64) -> u64 {
        assert!(client.starts_with("client("));
        *day
    }
}

pub(crate) fn behaviours_recompute_disable_ignore(store: Store) {
    let build = || cached(weft::modules![crate::behaviour::policies], &store);
    let outs = ["model", "fetched"];
    let inputs = |key: &str| inputs! { "day" => 3u64, "api_key" => key.to_string() };
    let dr = build();
    dr.execute(&outs, inputs("k1")).unwrap();
    assert_eq!(
        statuses(&dr),
        status_map(&[
            ("raw", Status::Recomputed),
            ("clean", Status::Executed),
            ("sample", Status::Disabled),
            ("model", Status::Executed),
            ("client", Status::Ignored),
            ("fetched", Status::Executed),
        ])
    );
    let calls = policies::RAW_CALLS.with(|c| c.get());
    // In the same driver RECOMPUTE and DISABLE still execute; the rest is memoized, and
    // children of unchanged values are cut off.
    dr.execute(&outs, inputs("k1")).unwrap();
    assert_eq!(policies::RAW_CALLS.with(|c| c.get()), calls + 1);
    let s = statuses(&dr);
    assert_eq!(s["raw"], Status::Recomputed);
    assert_eq!(s["sample"], Status::Disabled);
    assert_eq!(s["clean"], Status::Memo);
    assert_eq!(s["model"], Status::Memo);
    drop(dr);

    // New driver: RECOMPUTE runs but its unchanged value lets `clean` hit; DISABLE runs, is
    // not stored, and its unchanged value lets `model` hit; a changed api_key re-runs the
    // IGNOREd client but `fetched` still hits because the client is not in its key.
    let dr = build();
    dr.execute(&outs, inputs("k2")).unwrap();
    assert_eq!(
        statuses(&dr),
        status_map(&[
            ("raw", Status::Recomputed),
            ("clean", Status::Hit),
            ("sample", Status::Disabled),
            ("model", Status::Hit),
            ("client", Status::Ignored),
            ("fetched", Status::Hit),
        ])
    );
    // A DISABLE node whose value changed makes its children miss.
    policies::SAMPLE.with(|s| s.set(11));
    drop(dr);
    let dr = build();
    dr.execute(&outs, inputs("k2")).unwrap();
    let s = statuses(&dr);
    assert_eq!(s["model"], Status::Executed);
    let out = dr.execute(&["model"], inputs("k2")).unwrap();
    assert_eq!(*out.get::<u64>("model").unwrap(), (301 + 11) * 2);
}

pub(crate) fn driver_lists_beat_attributes_and_defaults_opt_in(store: Store) {
    // `raw` says recompute; the driver's default list wins. Everything else is opted out.
    let dr = Builder::new()
        .with_modules(weft::modules![crate::behaviour::policies])
        .with_cache_config(
            store
                .config()
                .default_behavior(CacheBehavior::Disable)
                .default_nodes(["raw", "clean"]),
        )
        .build()
        .unwrap();
    dr.execute(
        &["clean", "fetched"],
        inputs! { "day" => 1u64, "api_key" => "k".to_string() },
    )
    .unwrap();
    let s = statuses(&dr);
    assert_eq!(s["raw"], Status::Executed);
    assert_eq!(s["clean"], Status::Executed);
    assert_eq!(s["fetched"], Status::Disabled);
    assert_eq!(
        s["client"],
        Status::Ignored,
        "its own attribute beats the default"
    );

    let err = Builder::new()
        .with_modules(weft::modules![crate::behaviour::policies])
        .with_cache_config(store.config().recompute(["raw", "cleen"]).disable(["raw"]))
        .build()
        .err()
        .unwrap();
    let text = err.to_string();
    assert_eq!(err.problems.len(), 2, "{text}");
    assert!(
        text.contains("`raw` is listed as both recompute and disable"),
        "{text}"
    );
    assert!(
        text.contains("`cleen`") && text.contains("did you mean `clean`"),
        "{text}"
    );
    assert!(matches!(err.problems[0], Problem::CachePolicy(_)));

    let dr = Builder::new()
        .with_modules(weft::modules![crate::behaviour::policies])
        .with_cache_config(store.config().recompute_all())
        .build()
        .unwrap();
    dr.execute(&["clean"], inputs! { "day" => 1u64 }).unwrap();
    assert_eq!(statuses(&dr)["clean"], Status::Recomputed);
}

pub mod ignored_input {
    use weft::prelude::*;
    #[node]
    pub fn reply(question: &str, client: &str) -> String {
        format!("{client} answers {question}")
    }
}

pub(crate) fn an_ignored_input_stays_out_of_keys_and_explain_says_so(store: Store) {
    let build = |cfg: CacheConfig| {
        Builder::new()
            .with_modules(weft::modules![crate::behaviour::ignored_input])
            .with_cache_config(cfg)
            .build()
    };
    let ignoring = || store.config().ignore(["client"]);
    let ask = |dr: &Driver, question: &str, client: &str| {
        let out = dr
            .execute(
                &["reply"],
                inputs! { "question" => question.to_string(), "client" => client.to_string() },
            )
            .unwrap();
        out.get::<String>("reply").unwrap().clone()
    };
    let dr = build(ignoring()).unwrap();
    assert_eq!(ask(&dr, "q1", "v1"), "v1 answers q1");
    drop(dr);

    // A new client alone: `reply`'s key is unchanged, so it hits, with the value the old client
    // gave (the hazard), and explain says why.
    let dr = build(ignoring()).unwrap();
    assert_eq!(
        ask(&dr, "q1", "v2"),
        "v1 answers q1",
        "stale, as documented"
    );
    assert_eq!(statuses(&dr)["reply"], Status::Hit);
    let e = dr.cache().unwrap().explain("reply", None).unwrap();
    assert!(
        e.reasons
            .iter()
            .any(|r| r.contains("dependency `client` is ignored")
                && r.contains("a hit may hold a value computed from an older `client`")),
        "{e}"
    );
    // A new question misses; only the question is named as changed.
    drop(dr);
    let dr = build(ignoring()).unwrap();
    assert_eq!(ask(&dr, "q2", "v2"), "v2 answers q2");
    assert_eq!(statuses(&dr)["reply"], Status::Executed);
    let e = dr.cache().unwrap().explain("reply", None).unwrap();
    assert!(
        e.reasons
            .iter()
            .any(|r| r.contains("dependency `question` changed data version")),
        "{e}"
    );
    assert!(
        !e.reasons.iter().any(|r| r.contains("`client` changed")),
        "an ignored dependency is not reported as changed to none: {e}"
    );
    drop(dr);

    // No longer ignored: the client is part of the key again, and explain says what changed.
    let dr = build(store.config()).unwrap();
    assert_eq!(ask(&dr, "q2", "v2"), "v2 answers q2");
    assert_eq!(statuses(&dr)["reply"], Status::Executed);
    let e = dr.cache().unwrap().explain("reply", None).unwrap();
    assert!(
        e.reasons
            .iter()
            .any(|r| r.contains("dependency `client` is no longer ignored")),
        "{e}"
    );
    assert!(!e.reasons.iter().any(|r| r.contains("is ignored")), "{e}");
    drop(dr);

    // Only `ignore` applies to an input; unknown names are still errors.
    let err = build(store.config().recompute(["client"]))
        .err()
        .expect("an input cannot be recomputed");
    assert!(
        matches!(&err.problems[..], [Problem::CachePolicy(m)]
            if m.contains("input `client`") && m.contains("only `ignore`")),
        "{err}"
    );
    let err = build(store.config().ignore(["clinet"]))
        .err()
        .expect("no such node or input");
    assert!(
        matches!(&err.problems[..], [Problem::CachePolicy(m)] if m.contains("`clinet`")),
        "{err}"
    );
}

pub struct Opaque(pub u64);

pub(crate) fn a_cancelled_run_is_recorded_as_cancelled_with_what_it_did(store: Store) {
    // `first` cancels its own run: `second` is never dispatched.
    let cancel = weft::CancelToken::new();
    let stop = cancel.clone();
    let nodes = vec![
        NodeSpec::builder("first", value_type!(u64))
            .param("x", value_type!(u64))
            .code_version("first-v1")
            .sync(move |a| {
                stop.cancel();
                Ok(Arc::new(*a.get::<u64>(0)? + 1))
            }),
        NodeSpec::builder("second", value_type!(u64))
            .param("first", value_type!(u64))
            .code_version("second-v1")
            .sync(|a| Ok(Arc::new(*a.get::<u64>(0)? * 2))),
    ];
    let dr = Builder::new()
        .with_nodes(nodes)
        .with_cache_config(store.config())
        .build()
        .unwrap();
    let err = dr
        .execute_cancellable(&["second"], inputs! { "x" => 1u64 }, Inputs::new(), &cancel)
        .map(|_| ())
        .expect_err("the run cancels itself");
    assert!(matches!(err, weft::ExecuteError::Cancelled), "{err}");
    let runs = dr.cache().unwrap().runs().unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].status, "cancelled", "{runs:?}");
    assert_eq!(
        statuses(&dr),
        status_map(&[("first", Status::Executed)]),
        "what it did before it stopped"
    );
    // The next run finishes what was left and says `ok`.
    let out = dr.execute(&["second"], inputs! { "x" => 1u64 }).unwrap();
    assert_eq!(*out.get::<u64>("second").unwrap(), 4);
    let runs = dr.cache().unwrap().runs().unwrap();
    assert_eq!(runs.last().unwrap().status, "ok", "{runs:?}");
}

pub(crate) fn opaque_nodes() -> Vec<NodeSpec> {
    vec![
        NodeSpec::builder("handle", value_type!(Opaque))
            .param("x", value_type!(u64))
            .sync(|a| Ok(Arc::new(Opaque(*a.get::<u64>(0)?)))),
        NodeSpec::builder("derived", value_type!(u64))
            .param("handle", value_type!(Opaque))
            .sync(|a| Ok(Arc::new(a.get::<Opaque>(0)?.0 + 1))),
        NodeSpec::builder("after", value_type!(u64))
            .param("derived", value_type!(u64))
            .sync(|a| Ok(Arc::new(a.get::<u64>(0)? * 10))),
    ]
}

pub(crate) fn unfingerprintable_values_stay_in_memory_and_are_reported_once(store: Store) {
    let build = || {
        Builder::new()
            .with_nodes(opaque_nodes())
            .with_cache_config(store.config())
            .build()
            .unwrap()
    };
    let dr = build();
    let out = dr.execute(&["after"], inputs! { "x" => 4u64 }).unwrap();
    assert_eq!(*out.get::<u64>("after").unwrap(), 50);
    let s = statuses(&dr);
    assert_eq!(s["handle"], Status::Uncached);
    assert_eq!(
        s["derived"],
        Status::Uncached,
        "never keyed on an unfingerprintable value"
    );
    assert_eq!(
        s["after"],
        Status::Executed,
        "its own inputs are fingerprintable"
    );
    let warnings = dr.cache().unwrap().warnings();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings
        .iter()
        .any(|w| w.contains("`handle`") && w.contains("cannot be fingerprinted")));
    assert!(warnings
        .iter()
        .any(|w| w.contains("`derived`") && w.contains("dependency `handle`")));
    drop(dr);
    let dr = build();
    dr.execute(&["after"], inputs! { "x" => 4u64 }).unwrap();
    let s = statuses(&dr);
    assert_eq!(s["derived"], Status::Uncached);
    assert_eq!(s["after"], Status::Hit, "same value from `derived`: a hit");
}

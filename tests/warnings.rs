//! The driver's one warnings channel (`Driver::warnings`): inputs nothing reads, inputs that
//! make their consumers re-execute on every run, the cache's warnings; and the neighbouring
//! "no silent fallback" rules (a misspelt input is an error, a stored value read as another
//! type is an error).

use weft::cache::StoreError;
use weft::prelude::*;
use weft::{ExecuteError, InputProblem, Warning};

/// A database pool stand-in: neither `Fingerprint` nor `Serialize`.
pub struct Pool {
    pub url: String,
}

pub mod flow {
    use super::Pool;
    use weft::prelude::*;

    #[node]
    pub fn doubled(x: &u64) -> u64 {
        x * 2
    }

    #[node]
    pub fn counted(x: &u64) -> Vec<u64> {
        (0..*x).collect()
    }

    #[node]
    pub fn rows(pool: &Pool, limit: Option<&u64>) -> Vec<u64> {
        let n = limit.copied().unwrap_or(3);
        (0..n).map(|i| i + pool.url.len() as u64).collect()
    }

    /// Kept in memory only by the cache: `Pool` has no codec.
    #[node]
    pub fn reopened(pool: &Pool) -> Pool {
        Pool {
            url: pool.url.clone(),
        }
    }
}

fn driver() -> Driver {
    Builder::new()
        .with_modules(weft::modules![crate::flow])
        .build()
        .unwrap()
}

#[test]
fn an_input_nothing_reads_is_a_warning_given_once() {
    let dr = driver();
    for _ in 0..2 {
        let out = dr
            .execute(&["doubled"], inputs! { "x" => 2u64, "region" => "eu" })
            .unwrap();
        assert_eq!(*out.get::<u64>("doubled").unwrap(), 4);
    }
    assert_eq!(
        dr.warnings(),
        [Warning::UnusedInput {
            input: "region".into()
        }]
    );
    assert_eq!(
        dr.warnings()[0].to_string(),
        "input `region` is not read by any node of this graph; it is ignored"
    );
}

#[test]
fn a_misspelt_input_is_an_error_with_a_suggestion() {
    let dr = driver();
    // `limt` is close to the optional input `limit`: without the check it would silently be
    // `None`.
    let err = dr
        .execute(
            &["rows"],
            inputs! { "pool" => Pool { url: "db".into() }, "limt" => 5u64 },
        )
        .unwrap_err();
    assert!(matches!(
        &err,
        ExecuteError::BadInputs(p) if p == &[InputProblem::Unknown("limt".into(), Some("limit".into()))]
    ));
    assert!(err.to_string().contains("did you mean `limit`?"), "{err}");
    assert!(dr.warnings().is_empty());
}

#[test]
fn an_unfingerprintable_input_is_reported_once_with_its_consumers() {
    let dr = driver();
    let run = || {
        dr.request(&["rows"])
            .inputs(inputs! { "pool" => Pool { url: "db".into() } })
            .run()
            .unwrap()
            .1
    };
    assert_eq!(run().executed, ["rows"]);
    // The same pool again: it counts as changed, so `rows` re-executes (what the warning says).
    assert_eq!(run().executed, ["rows"]);
    let warnings = dr.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let Warning::Unfingerprintable {
        input,
        ty,
        consumers,
    } = &warnings[0]
    else {
        panic!("{warnings:?}")
    };
    assert_eq!((input.as_str(), ty.as_str()), ("pool", "Pool"));
    assert_eq!(consumers, &["reopened", "rows"]);
    let text = warnings[0].to_string();
    assert!(
        text.contains("`reopened`, `rows` re-execute every time"),
        "{text}"
    );
    assert!(
        text.contains("implement `weft::Fingerprint` for `Pool`"),
        "{text}"
    );
}

#[test]
fn the_caches_warnings_come_through_the_same_channel() {
    let dir = weft_tests::temp_dir("warnings", "cache");
    let dr = Builder::new()
        .with_modules(weft::modules![crate::flow])
        .with_cache_config(weft::CacheConfig::at(&dir))
        .build()
        .unwrap();
    dr.execute(
        &["reopened"],
        inputs! { "pool" => Pool { url: "db".into() } },
    )
    .unwrap();
    let warnings = dr.warnings();
    assert!(
        warnings.iter().any(
            |w| matches!(w, Warning::Cache(m) if m.contains("`reopened` is kept in memory only"))
        ),
        "{warnings:?}"
    );
    // The cache's own list has the same messages.
    let cache = dr.cache().unwrap().warnings();
    assert!(cache.iter().any(|m| m.contains("`reopened`")), "{cache:?}");
    drop(dr);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_stored_value_read_as_another_type_is_an_error() {
    let dir = weft_tests::temp_dir("warnings", "get");
    let dr = Builder::new()
        .with_modules(weft::modules![crate::flow])
        .with_cache_config(weft::CacheConfig::at(&dir))
        .build()
        .unwrap();
    dr.execute(&["counted"], inputs! { "x" => 4u64 }).unwrap();
    let cache = dr.cache().unwrap();
    let version = cache.data_versions(None).unwrap()["counted"];
    let counted: Vec<u64> = cache.result_store().get(&version).unwrap();
    assert_eq!(counted, [0, 1, 2, 3]);
    let wrong = cache.result_store().get::<String>(&version);
    assert!(
        matches!(&wrong, Err(StoreError::Other(why)) if why.contains("is a `Vec<u64>`, not a `String`")),
        "{wrong:?}"
    );
    drop(dr);
    let _ = std::fs::remove_dir_all(&dir);
}

pub mod fragile {
    use weft::prelude::*;
    use weft::{Fingerprint, FingerprintHasher};

    /// A type whose `Fingerprint` panics on odd numbers (a bug in user code).
    #[derive(Debug, Clone, PartialEq)]
    pub struct Fragile(pub u64);

    impl Fingerprint for Fragile {
        fn fingerprint(&self, h: &mut FingerprintHasher) {
            assert!(
                self.0.is_multiple_of(2),
                "cannot fingerprint the odd {}",
                self.0
            );
            self.0.fingerprint(h);
        }
    }

    weft_tests::stored_as_le!(Fragile);

    #[node]
    pub fn made(n: &u64) -> Fragile {
        Fragile(*n)
    }

    #[node]
    pub fn read(given: &Fragile) -> u64 {
        given.0 + 1
    }
}

#[test]
fn a_panicking_fingerprint_is_said_once_and_the_run_goes_on() {
    use crate::fragile::Fragile;
    let dir = weft_tests::temp_dir("warnings", "fragile");
    let dr = Builder::new()
        .with_modules(weft::modules![crate::fragile])
        .with_cache_config(weft::CacheConfig::at(&dir))
        .build()
        .unwrap();
    // A node's value: kept in memory only, the panic's message in the warning; the run goes on
    // and the process does not die (the cache's writer is not taken down by it).
    let out = dr.execute(&["made"], inputs! { "n" => 3u64 }).unwrap();
    assert_eq!(out.get::<Fragile>("made").unwrap(), &Fragile(3));
    let said = dr
        .warnings()
        .iter()
        .map(|w| w.to_string())
        .collect::<Vec<_>>();
    assert!(
        said.iter()
            .any(|w| w.contains("`made` is kept in memory only")
                && w.contains("panicked (cannot fingerprint the odd 3)")),
        "{said:?}"
    );
    // An input: the nodes reading it run, and the warning names the input, its type and the
    // panic.
    let out = dr
        .execute(&["read"], inputs! { "given" => Fragile(5) })
        .unwrap();
    assert_eq!(*out.get::<u64>("read").unwrap(), 6);
    let panicked: Vec<_> = (dr.warnings().into_iter())
        .filter(|w| matches!(w, Warning::FingerprintPanicked { .. }))
        .collect();
    assert_eq!(
        panicked,
        [Warning::FingerprintPanicked {
            input: "given".into(),
            ty: "Fragile".into(),
            message: "cannot fingerprint the odd 5".into(),
        }]
    );
    // A value whose fingerprint does not panic is cached as usual.
    let out = dr.execute(&["made"], inputs! { "n" => 4u64 }).unwrap();
    assert_eq!(out.get::<Fragile>("made").unwrap(), &Fragile(4));
}

pub mod clumsy {
    use weft::prelude::*;
    use weft::{CacheFormats, Fingerprint, FingerprintHasher};

    /// A large value (2 MiB, so it is encoded on an encoder thread) whose encoder panics on
    /// odd numbers (a bug in user code).
    #[derive(Debug, Clone, PartialEq)]
    pub struct Clumsy(pub u64);

    impl Fingerprint for Clumsy {
        fn fingerprint(&self, h: &mut FingerprintHasher) {
            self.0.fingerprint(h);
        }
    }

    weft_tests::large!(Clumsy);

    impl CacheFormats for Clumsy {
        const FORMATS: &'static [&'static str] = &["le"];
        fn encode(&self, _format: &str) -> Result<Vec<u8>, String> {
            assert!(self.0.is_multiple_of(2), "cannot encode the odd {}", self.0);
            Ok(self.0.to_le_bytes().to_vec())
        }
        fn decode(bytes: &[u8], _format: &str) -> Result<Self, String> {
            let raw: [u8; 8] = bytes.try_into().map_err(|_| "not 8 bytes".to_string())?;
            Ok(Clumsy(u64::from_le_bytes(raw)))
        }
    }

    #[node]
    pub fn big(n: &u64) -> Clumsy {
        Clumsy(*n)
    }
}

/// An encoder that panics does not take the cache's writer down, nor leave it waiting: the
/// value is not stored, the warning names the node and the panic, and the driver closes.
#[test]
fn a_panicking_encoder_of_a_large_value_is_said_and_the_value_not_stored() {
    use crate::clumsy::Clumsy;
    let dir = weft_tests::temp_dir("warnings", "clumsy");
    let dr = Builder::new()
        .with_modules(weft::modules![crate::clumsy])
        .with_cache_config(weft::CacheConfig::at(&dir))
        .build()
        .unwrap();
    let out = dr.execute(&["big"], inputs! { "n" => 3u64 }).unwrap();
    assert_eq!(out.get::<Clumsy>("big").unwrap(), &Clumsy(3));
    let said: Vec<String> = dr.warnings().iter().map(|w| w.to_string()).collect();
    assert!(
        said.iter().any(|w| w.contains("`big` was not stored")
            && w.contains("encoding it panicked")
            && w.contains("cannot encode the odd 3")),
        "{said:?}"
    );
    // An even one is stored as usual: a new driver hits it.
    dr.execute(&["big"], inputs! { "n" => 4u64 }).unwrap();
    drop(dr);
    let dr = Builder::new()
        .with_modules(weft::modules![crate::clumsy])
        .with_cache_config(weft::CacheConfig::at(&dir))
        .build()
        .unwrap();
    let (out, record) = dr
        .execute_recorded(&["big"], inputs! { "n" => 4u64 }, Inputs::new())
        .unwrap();
    assert_eq!(out.get::<Clumsy>("big").unwrap(), &Clumsy(4));
    assert!(record.executed.is_empty(), "{record:?}");
    // The odd one was not: it runs again.
    let (_, record) = dr
        .execute_recorded(&["big"], inputs! { "n" => 3u64 }, Inputs::new())
        .unwrap();
    assert_eq!(record.executed, ["big"]);
    drop(dr);
    let _ = std::fs::remove_dir_all(&dir);
}

pub mod brittle {
    use weft::prelude::*;
    use weft::{Fingerprint, FingerprintHasher};

    /// A large value (2 MiB by its size, so the cache's writer fingerprints it, beside the run)
    /// whose `Fingerprint` panics on odd numbers, as a `Fragile`'s does.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Brittle(pub u64);

    impl Fingerprint for Brittle {
        fn fingerprint(&self, h: &mut FingerprintHasher) {
            crate::fragile::Fragile(self.0).fingerprint(h);
        }
    }

    weft_tests::stored_as_le!(Brittle, large);

    #[node]
    pub fn brittle(n: &u64) -> Brittle {
        Brittle(*n)
    }
}

/// A large value is fingerprinted by the cache's writer, after its node ended: a panic there
/// is said the same way (the node named, the panic's message), its record says why it is not
/// stored, and an even one is stored as usual.
#[test]
fn a_panicking_fingerprint_of_a_large_value_is_said_and_recorded() {
    use crate::brittle::Brittle;
    let dir = weft_tests::temp_dir("warnings", "brittle");
    let build = || {
        Builder::new()
            .with_modules(weft::modules![crate::brittle])
            .with_cache_config(weft::CacheConfig::at(&dir))
            .build()
            .unwrap()
    };
    let dr = build();
    let out = dr.execute(&["brittle"], inputs! { "n" => 3u64 }).unwrap();
    assert_eq!(out.get::<Brittle>("brittle").unwrap(), &Brittle(3));
    let said: Vec<String> = dr.warnings().iter().map(|w| w.to_string()).collect();
    assert!(
        said.iter()
            .any(|w| w.contains("`brittle` is kept in memory only")
                && w.contains("panicked (cannot fingerprint the odd 3)")),
        "{said:?}"
    );
    let record = dr.cache().unwrap().records(None).unwrap().pop().unwrap();
    assert_eq!(record.status, weft::cache::Status::Uncached, "{record:?}");
    assert!(
        (record.reason.as_deref()).is_some_and(|r| r.contains("`weft::Fingerprint` panicked")),
        "{record:?}"
    );
    assert_eq!(record.data_version, None, "{record:?}");
    dr.execute(&["brittle"], inputs! { "n" => 4u64 }).unwrap();
    drop(dr);
    let dr = build();
    let (_, record) = dr
        .execute_recorded(&["brittle"], inputs! { "n" => 4u64 }, Inputs::new())
        .unwrap();
    assert!(record.executed.is_empty(), "{record:?}");
    let (_, record) = dr
        .execute_recorded(&["brittle"], inputs! { "n" => 3u64 }, Inputs::new())
        .unwrap();
    assert_eq!(record.executed, ["brittle"]);
    drop(dr);
    let _ = std::fs::remove_dir_all(&dir);
}

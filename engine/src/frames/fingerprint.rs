//! Data versions of frames: [`Fingerprint`] for `DataFrame`, `Series` and `Expr`.
//!
//! A frame's version is blake3 over its shape, its schema (names, dtypes, in order) and each
//! column's Arrow buffers ([`arrays`](super::arrays)), columns hashed in parallel on polars'
//! thread pool, each series once per process ([`digests`](super::digests): frames share
//! columns). The chunk layout does not count: a frame and its rechunked copy have the same
//! version.

use polars::prelude::{DataFrame, Expr, Series};
use polars_core::runtime::RAYON;
use rayon::prelude::*;

use super::digests::column_digest;
use crate::fingerprint::{Fingerprint, FingerprintHasher};

impl Fingerprint for DataFrame {
    fn fingerprint(&self, h: &mut FingerprintHasher) {
        h.write_len(self.width());
        h.write_len(self.height());
        // On polars' pool, not rayon's global one (see `parquet.rs`: a program's drivers may
        // hold all of its threads).
        let digests: Vec<[u8; 32]> = RAYON.install(|| {
            (self.columns().par_iter())
                .map(|c| column_digest(c.as_materialized_series()))
                .collect()
        });
        for d in &digests {
            h.write(d);
        }
    }
}

impl Fingerprint for Series {
    fn fingerprint(&self, h: &mut FingerprintHasher) {
        h.write(&column_digest(self));
    }
}

/// An expression is its text (`col("amount") / col("amount").max()`): what a column node of a
/// [`with_columns`](crate::columns) group returns. A Rust function mapped over columns shows in
/// the text by the node's name and code version.
impl Fingerprint for Expr {
    fn fingerprint(&self, h: &mut FingerprintHasher) {
        format!("{self:?}").fingerprint(h);
    }
}

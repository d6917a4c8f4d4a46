//! A `LazyFrame`'s data version, without collecting it: its plan's text (polars'
//! `describe_plan`) and the data it reads: the versions of the in-memory frames it scans and
//! the contents of the files it scans (blake3 of the bytes on disk when it is fingerprinted).
//! Anything it reads that cannot be hashed (an open file handle, a cloud path) gives it a
//! version no other value has: it never compares equal, never hits the cache.

use std::path::Path;

use polars::lazy::dsl::{DslPlan, ScanSources};
use polars::prelude::LazyFrame;

use crate::fingerprint::{DataVersion, Fingerprint, FingerprintHasher};

impl Fingerprint for LazyFrame {
    /// Reads what is outside the value: fingerprinted as soon as its node finishes.
    const IN_MEMORY: bool = false;

    fn fingerprint(&self, h: &mut FingerprintHasher) {
        match self.describe_plan() {
            Ok(text) => text.fingerprint(h),
            // A plan polars cannot resolve (a missing column, say): collecting it fails too;
            // it is never equal to anything.
            Err(_) => h.write(DataVersion::unique().as_bytes()),
        }
        let mut stack: Vec<&DslPlan> = vec![&self.logical_plan];
        while let Some(plan) = stack.pop() {
            sources(plan, h);
            inputs(plan, &mut stack);
        }
    }
}

/// What a plan node reads, into `h`.
fn sources(plan: &DslPlan, h: &mut FingerprintHasher) {
    match plan {
        DslPlan::DataFrameScan { df, .. } => {
            h.write(b"frame");
            df.as_ref().fingerprint(h);
        }
        DslPlan::Scan { sources, .. } => match sources {
            ScanSources::Paths(paths) => {
                for p in paths.iter() {
                    h.write(b"file");
                    p.as_str().fingerprint(h);
                    match file_digest(p.as_std_path()) {
                        Some(d) => h.write(&d),
                        None => h.write(DataVersion::unique().as_bytes()),
                    }
                }
            }
            ScanSources::Buffers(buffers) => {
                for b in buffers.iter() {
                    h.write(b"buffer");
                    h.write_len(b.len());
                    h.write(b.as_ref());
                }
            }
            _ => h.write(DataVersion::unique().as_bytes()),
        },
        _ => {}
    }
}

/// The blake3 of a local file's bytes; `None` when it cannot be read (a cloud path).
fn file_digest(path: &Path) -> Option<[u8; 32]> {
    crate::files::content_digest(&mut std::fs::File::open(path).ok()?).ok()
}

/// The plans a plan node reads from.
fn inputs<'a>(plan: &'a DslPlan, stack: &mut Vec<&'a DslPlan>) {
    match plan {
        DslPlan::Filter { input, .. }
        | DslPlan::Cache { input, .. }
        | DslPlan::Select { input, .. }
        | DslPlan::GroupBy { input, .. }
        | DslPlan::Gather { input, .. }
        | DslPlan::HStack { input, .. }
        | DslPlan::MatchToSchema { input, .. }
        | DslPlan::Distinct { input, .. }
        | DslPlan::Sort { input, .. }
        | DslPlan::Slice { input, .. }
        | DslPlan::MapFunction { input, .. }
        | DslPlan::Sink { input, .. } => stack.push(input),
        DslPlan::IR { dsl, .. } => stack.push(dsl),
        DslPlan::PipeWithSchema { input, .. } => stack.extend(input.iter()),
        DslPlan::Union { inputs, .. }
        | DslPlan::HConcat { inputs, .. }
        | DslPlan::SinkMultiple { inputs, .. } => stack.extend(inputs.iter()),
        DslPlan::ExtContext { input, contexts } => {
            stack.push(input);
            stack.extend(contexts.iter());
        }
        DslPlan::Join {
            input_left,
            input_right,
            ..
        } => {
            stack.push(input_left);
            stack.push(input_right);
        }
        DslPlan::Scan { .. } | DslPlan::DataFrameScan { .. } => {}
    }
}

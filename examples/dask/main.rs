//! Dask for parallel computing: statistics of a table too large to hold at once, computed
//! partition by partition on a Dask cluster. Each partition is generated and reduced where
//! it runs (one Dask future each, placed by Dask's scheduler); only the partitions' small
//! summaries travel, and the driver combines them. The flow is a command line
//! ([`weft_cli::main`]); `--executor dask=ADDRESS` submits each cache miss to the scheduler at
//! ADDRESS (`--executor dask` alone starts a `LocalCluster`, as Hamilton's snippet does).
//!
//! ```sh
//! WEFT_SERVICES=$PWD/.test-services/run bash tests/services/dask.sh install
//! WEFT_SERVICES=$PWD/.test-services/run bash tests/services/dask.sh start
//! . .test-services/run/dask.env      # WEFT_TEST_DASK (the scheduler), WEFT_TEST_DASK_PYTHON
//! WEFT_PYTHON=$WEFT_TEST_DASK_PYTHON cargo run --example dask --features dask -- \
//!     build summary --input rows=50000000 --input parts=16 \
//!     --executor dask=$WEFT_TEST_DASK --cache-dir /tmp/weft-dask-example
//! WEFT_SERVICES=$PWD/.test-services/run bash tests/services/dask.sh stop
//! ```
//!
//! The cache directory is the store Dask's workers write results to, so every worker must
//! reach it (on one machine, any local path). `tests/remote/cluster.rs` runs this example on
//! the test cluster.

mod table {
    use weft::prelude::*;

    /// Fan out: `parts` partitions, one item each: `(index, rows in it)`.
    #[node]
    pub fn partitions(rows: &u64, parts: &u64) -> Parallel<(u64, u64)> {
        let parts = (*parts).max(1);
        (0..parts)
            .map(|i| (i, rows / parts + u64::from(i < rows % parts)))
            .collect()
    }

    /// One partition's `(count, sum, sum of squares)` of the `amount` column, generated here
    /// (a seeded generator stands in for reading the partition's file) and never kept whole.
    #[node]
    pub fn partition_stats(partitions: &(u64, u64)) -> (u64, f64, f64) {
        let (index, rows) = *partitions;
        let mut state = index.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let (mut sum, mut squares) = (0.0, 0.0);
        for _ in 0..rows {
            // xorshift64*: a uniform amount in [0, 100).
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let bits = state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
            let amount = bits as f64 / (1u64 << 53) as f64 * 100.0;
            sum += amount;
            squares += amount * amount;
        }
        (rows, sum, squares)
    }

    /// Fan in: `rows=N mean=M std=S` of the whole column.
    #[node]
    pub fn summary(partition_stats: Collect<(u64, f64, f64)>) -> String {
        let (mut n, mut sum, mut squares) = (0u64, 0.0, 0.0);
        for (c, s, q) in partition_stats.iter() {
            n += c;
            sum += s;
            squares += q;
        }
        let count = n.max(1) as f64;
        let mean = sum / count;
        let std = (squares / count - mean * mean).max(0.0).sqrt();
        format!("rows={n} mean={mean:.4} std={std:.4}")
    }
}

fn main() {
    weft_cli::main(weft::modules![crate::table])
}

//! Ray for distributed computation: a large computation (counting the primes below `limit`)
//! split into `chunks` ranges, one Ray task per range, summed on the driver. The flow is a
//! command line ([`weft_cli::main`]); `--executor ray=URL` sends each cache miss to the Ray
//! cluster whose dashboard is at URL (one Ray job per run, the binary shipped with it).
//!
//! ```sh
//! WEFT_SERVICES=$PWD/.test-services/run bash tests/services/ray.sh install
//! WEFT_SERVICES=$PWD/.test-services/run bash tests/services/ray.sh start
//! . .test-services/run/ray.env        # WEFT_TEST_RAY (the dashboard), WEFT_TEST_RAY_PYTHON
//! WEFT_PYTHON=$WEFT_TEST_RAY_PYTHON cargo run --example ray --features ray -- \
//!     build large_computation --input limit=5000000 --input chunks=16 \
//!     --executor ray=$WEFT_TEST_RAY --cache-dir /tmp/weft-ray-example
//! WEFT_SERVICES=$PWD/.test-services/run bash tests/services/ray.sh stop
//! ```
//!
//! Run it twice: the second run is all cache hits and sends nothing to Ray. The cache
//! directory is the store the cluster's workers write results to, so every Ray node must reach
//! it (on one machine, any local path). `tests/remote/cluster.rs` runs this example on the
//! test cluster.

mod primes {
    use weft::prelude::*;

    /// Fan out: `chunks` ranges covering `2..limit`, each one Ray task downstream.
    #[node]
    pub fn ranges(limit: &u64, chunks: &u64) -> Parallel<(u64, u64)> {
        let chunks = (*chunks).max(1);
        let step = limit.div_ceil(chunks).max(1);
        (0..chunks)
            .map(|i| ((i * step).max(2), ((i + 1) * step).min(*limit)))
            .filter(|(start, end)| start < end)
            .collect()
    }

    /// The primes in one range, by trial division: the CPU-bound work each Ray task does.
    #[node]
    pub fn primes_in(ranges: &(u64, u64)) -> u64 {
        let (start, end) = *ranges;
        (start..end).filter(|&n| is_prime(n)).count() as u64
    }

    /// Fan in: how many primes are below `limit`.
    #[node]
    pub fn large_computation(primes_in: Collect<u64>) -> u64 {
        primes_in.iter().sum()
    }

    fn is_prime(n: u64) -> bool {
        if n < 4 {
            return n >= 2;
        }
        if n.is_multiple_of(2) {
            return false;
        }
        let mut d = 3;
        while d * d <= n {
            if n.is_multiple_of(d) {
                return false;
            }
            d += 2;
        }
        true
    }
}

fn main() {
    weft_cli::main(weft::modules![crate::primes])
}

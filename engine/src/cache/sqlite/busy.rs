//! Waiting for another process's write: how long a connection sleeps each time it finds the
//! database locked, and for how long in all before it gives up.
//!
//! Several processes write to one cache at once (a driver and its workers, the workers of a
//! Ray or Dask cluster): each write holds the lock for well under a millisecond. SQLite's own
//! busy handler (`sqlite3_busy_timeout`) sleeps 1 ms, then 2, 5, 10 … 100 ms between tries,
//! so a write that meets another one pays at least a millisecond for a lock held a tenth of
//! that, every time two workers end their tasks together. weft's handler starts at 20 µs and
//! doubles up to 5 ms, for [`BUDGET`] in all, like the 30 s timeout it replaces.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rusqlite::Connection;

/// How long a connection waits in all for another's lock before the statement fails with
/// `SQLITE_BUSY`.
pub(crate) const BUDGET: Duration = Duration::from_secs(30);

const FIRST_US: u64 = 20;
const LONGEST_US: u64 = 5_000;

/// How many times any connection of this process has waited for a lock (what the tests watch
/// to know that a writer is waiting, without timing it).
static WAITS: AtomicU64 = AtomicU64::new(0);

/// Makes `c` wait for locks held by other connections as this module describes.
pub(crate) fn wait_when_busy(c: &Connection) -> rusqlite::Result<()> {
    c.busy_handler(Some(on_busy))
}

/// Makes `c` fail at once on a lock held by another connection.
pub(crate) fn never_wait(c: &Connection) -> rusqlite::Result<()> {
    c.busy_handler(None)
}

/// SQLite's callback: `tries` is how many times it was called before for this statement.
fn on_busy(tries: i32) -> bool {
    match pause(u32::try_from(tries).unwrap_or(0)) {
        Some(p) => {
            WAITS.fetch_add(1, Ordering::Relaxed);
            std::thread::sleep(p);
            true
        }
        None => false,
    }
}

/// The pause before try `n + 1` after `n` failed ones, or `None` once the pauses so far add
/// up to [`BUDGET`].
pub(crate) fn pause(n: u32) -> Option<Duration> {
    (waited_before(n) < BUDGET).then(|| Duration::from_micros(step_us(n)))
}

fn step_us(n: u32) -> u64 {
    if n < 16 {
        (FIRST_US << n).min(LONGEST_US)
    } else {
        LONGEST_US
    }
}

/// The sum of the pauses before try `n`: doubling steps, then steps of [`LONGEST_US`].
fn waited_before(n: u32) -> Duration {
    let doubling = (0..n).take_while(|&i| FIRST_US << i < LONGEST_US).count() as u32;
    let sum = FIRST_US * ((1u64 << doubling) - 1) + u64::from(n - doubling) * LONGEST_US;
    Duration::from_micros(sum)
}

/// How many times connections of this process have waited for a lock so far.
#[cfg(test)]
pub(crate) fn waits() -> u64 {
    WAITS.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_start_short_and_add_up_to_the_budget() {
        assert_eq!(pause(0), Some(Duration::from_micros(20)));
        assert_eq!(pause(1), Some(Duration::from_micros(40)));
        assert_eq!(pause(7), Some(Duration::from_micros(2_560)));
        assert_eq!(pause(8), Some(Duration::from_micros(5_000)));
        assert_eq!(pause(100), Some(Duration::from_micros(5_000)));
        // The closed form agrees with adding the pauses up one by one.
        let mut sum = Duration::ZERO;
        let mut n = 0;
        while let Some(p) = pause(n) {
            assert_eq!(waited_before(n), sum, "before try {n}");
            sum += p;
            n += 1;
        }
        assert!(sum >= BUDGET && sum < BUDGET + Duration::from_micros(LONGEST_US));
        assert_eq!(pause(u32::MAX), None);
    }

    #[test]
    fn a_write_that_meets_another_waits_for_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite");
        let holder = super::super::connection::open(&path, None).unwrap();
        holder.execute_batch("CREATE TABLE t(x)").unwrap();
        holder.execute_batch("BEGIN IMMEDIATE").unwrap();
        let before = waits();
        let writer = {
            let path = path.clone();
            std::thread::spawn(move || {
                let c = super::super::connection::open(&path, None).unwrap();
                c.execute("INSERT INTO t VALUES (1)", [])
            })
        };
        // The writer is waiting once the handler has paused for it (bounded: the handler
        // gives up after BUDGET, and the writer then fails below).
        while waits() == before && !writer.is_finished() {
            std::thread::yield_now();
        }
        holder.execute_batch("COMMIT").unwrap();
        assert_eq!(writer.join().unwrap().unwrap(), 1);
        assert!(waits() > before);
    }
}

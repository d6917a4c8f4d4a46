//! User code run by the engine outside a node's body (a `Fingerprint`, for one): a panic in it
//! is caught and reported by weft, once, like a node's, never printed by the panic hook.

use std::panic::{catch_unwind, AssertUnwindSafe};

std::thread_local! {
    /// How many node bodies this thread is inside (a body may run another's stack: a fan-out).
    static IN_NODE: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Installs, once per process, a panic hook that says nothing for a panic inside a node body
/// (weft reports it once, as the node's error, naming the node:
/// [`NodeError::Panic`](crate::error::NodeError::Panic)) and
/// hands every other panic to the hook that was installed before (Rust's default, with its
/// backtrace when `RUST_BACKTRACE` asks for one, or the application's).
fn install_quiet_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_NODE.with(std::cell::Cell::get) == 0 {
                previous(info);
            }
        }));
    });
}

/// Runs `f` (a body, or one poll of it) as a node's: a panic in it is caught by the caller
/// and is not printed by the panic hook.
pub(crate) fn in_node<R>(f: impl FnOnce() -> R) -> R {
    install_quiet_hook();
    struct Leave;
    impl Drop for Leave {
        fn drop(&mut self) {
            IN_NODE.with(|c| c.set(c.get().saturating_sub(1)));
        }
    }
    IN_NODE.with(|c| c.set(c.get() + 1));
    let _leave = Leave;
    f()
}

/// The text of a panic payload.
pub(crate) fn panic_message(payload: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_string()
    }
}

/// Runs user code `f` as [`in_node`] does, its panic caught: `Err` with the panic's message.
pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    in_node(|| catch_unwind(AssertUnwindSafe(f))).map_err(|p| panic_message(&p))
}

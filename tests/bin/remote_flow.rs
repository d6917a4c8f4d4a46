//! The worker binary of the remote suite (`tests/remote.rs`): the flow of `remote/flow.rs` as
//! a command line built on `weft_cli::main`, which serves as a process-pool worker when started
//! with `__weft-worker`.

#[path = "../remote/flow.rs"]
mod flow;

fn main() {
    weft_cli::main(weft::modules![crate::flow])
}

//! Facts weft keeps about a frame while a value holds it, found again by the frame's address.
//!
//! A Spark `DataFrame`'s plan is private to the client, so two frames cannot be compared; what
//! weft knows of one it made (the stored form of a frame Spark wrote, the rows of a frame read
//! back locally) is kept beside a `Weak` to the `Arc` the value holds. A live `Weak` keeps its
//! allocation, so no other frame can come to that address while the fact is kept; the facts of
//! frames no value holds any more are dropped as new ones are kept. Generic over the frame so
//! that it is tested without a server.

use std::sync::{Arc, Weak};

/// Facts of type `F` about frames of type `T`, by the frame's address.
pub(crate) struct Held<T, F> {
    facts: Vec<(Weak<T>, F)>,
}

impl<T, F> Held<T, F> {
    /// No facts (usable in a `static`).
    pub(crate) const fn new() -> Self {
        Held { facts: Vec::new() }
    }

    /// Keeps `fact` about `frame`; forgets the facts of frames no value holds any more.
    pub(crate) fn keep(&mut self, frame: &Arc<T>, fact: F) {
        self.facts.retain(|(f, _)| f.strong_count() > 0);
        self.facts.push((Arc::downgrade(frame), fact));
    }

    /// The fact kept about `frame`, when `frame` is a frame a fact was kept about, still held.
    pub(crate) fn get(&self, frame: &T) -> Option<&F> {
        (self.facts.iter())
            .find(|(f, _)| std::ptr::eq(f.as_ptr(), frame) && f.strong_count() > 0)
            .map(|(_, fact)| fact)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fact_is_found_by_the_frame_it_was_kept_about_while_that_is_held() {
        let mut held = Held::new();
        let frame = Arc::new(String::from("plan over /cache/a"));
        let twin = Arc::new(String::from("plan over /cache/a"));
        held.keep(&frame, 1);
        assert_eq!(held.get(&frame), Some(&1));
        // Equal contents, another frame: not the one the fact is about.
        assert_eq!(held.get(&twin), None);
        // A clone of the value is the same frame.
        let clone = Arc::clone(&frame);
        drop(frame);
        assert_eq!(held.get(&clone), Some(&1));
        drop(clone);
        // Dropped facts go as the next one is kept.
        held.keep(&twin, 2);
        assert_eq!(held.facts.len(), 1);
        assert_eq!(held.get(&twin), Some(&2));
    }
}

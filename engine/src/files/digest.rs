//! A file's content digest (blake3), read and hashed at once for large files.
//!
//! Hashing a file is reading it (a copy out of the page cache, the larger half of the time)
//! and hashing what was read. A large file is read on the calling thread while another hashes
//! the piece before, so the two overlap: a 27 MB CSV, which every run hashes before its first
//! node can start, took the sum of both on one thread.

use std::fs::File;
use std::io::{self, Read};
use std::sync::mpsc;

/// Files from this size are read on one thread and hashed on another.
const OVERLAP_FROM: u64 = 8 << 20;

/// The pieces handed from the reader to the hasher.
const PIECE: usize = 1 << 20;

/// The blake3 digest of everything `f` reads from where it is.
pub(crate) fn content_digest(f: &mut File) -> io::Result<[u8; 32]> {
    let len = f.metadata().map_or(0, |m| m.len());
    if len < OVERLAP_FROM {
        let mut h = blake3::Hasher::new();
        // Not `io::copy`: its 8 KiB pieces are too small for blake3's SIMD lanes.
        h.update_reader(f)?;
        return Ok(*h.finalize().as_bytes());
    }
    // Two buffers go round: one being read into while the hasher takes the other.
    let (full_tx, full_rx) = mpsc::sync_channel::<(Vec<u8>, usize)>(1);
    let (free_tx, free_rx) = mpsc::sync_channel::<Vec<u8>>(2);
    for _ in 0..2 {
        let _ = free_tx.send(vec![0; PIECE]);
    }
    std::thread::scope(|s| {
        let hasher = s.spawn(move || {
            let mut h = blake3::Hasher::new();
            for (buf, n) in full_rx {
                h.update(&buf[..n]);
                // The reader stops taking buffers once it is done.
                let _ = free_tx.send(buf);
            }
            *h.finalize().as_bytes()
        });
        let read = (|| loop {
            let mut buf = free_rx.recv().map_err(io::Error::other)?;
            let n = fill(f, &mut buf)?;
            if n > 0 {
                full_tx.send((buf, n)).map_err(io::Error::other)?;
            }
            if n < PIECE {
                return Ok(());
            }
        })();
        drop(full_tx);
        let digest = hasher
            .join()
            .map_err(|_| io::Error::other("the thread hashing the file panicked"))?;
        read.map(|()| digest)
    })
}

/// Reads into `buf` until it is full or the file ends: how many bytes.
fn fill(f: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn large_and_small_files_hash_as_blake3_of_their_bytes() {
        let dir = tempfile::tempdir().unwrap();
        // Around the piece size and the overlap threshold: ends mid-piece, on a piece, empty.
        for len in [
            0,
            5,
            PIECE,
            OVERLAP_FROM as usize,
            OVERLAP_FROM as usize + PIECE + 7,
        ] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            let path = dir.path().join(format!("f{len}"));
            std::fs::File::create(&path)
                .unwrap()
                .write_all(&bytes)
                .unwrap();
            let mut f = File::open(&path).unwrap();
            let digest = content_digest(&mut f).unwrap();
            assert_eq!(digest, *blake3::hash(&bytes).as_bytes(), "{len} bytes");
        }
    }
}

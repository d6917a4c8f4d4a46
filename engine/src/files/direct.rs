//! [`DirectWriter`]: a large file written past the page cache where the file system allows it.
//!
//! A cold cached run writes its data frames (tens of megabytes each) as parquet files that are
//! seldom read back at once. Written through the page cache, every page of them is first
//! taken and filled in memory by the kernel — on a virtual machine whose freed memory goes
//! back to its host, a share of a cold run's system time — and stays there, pushing
//! out what the run reads. Written with `O_DIRECT` (Linux), the bytes go from one reused
//! aligned buffer to the disk. Where the file system refuses it (`EINVAL`: tmpfs on older
//! kernels, some network file systems), or on other systems, the writer writes through the
//! page cache as any file is written: the content is the same either way.
//!
//! `O_DIRECT` needs the buffer's address, each write's length and the file offset aligned to
//! the device's block; [`ALIGN`] (4 KiB) covers the usual 512-byte and 4-KiB blocks. Whole
//! aligned chunks go direct; the last partial block is written after direct I/O is turned
//! off again.
//!
//! A direct write waits for the disk (a 4 MiB chunk took ~3 ms here), and the encoder filling
//! the writer used to wait with it: a cold run's last frame was encoded at half speed, every
//! other slice of it spent in `write`. A full chunk now goes to a thread of its own, writing
//! through a second handle on the file (sharing its offset) while the next chunk fills; at
//! most one is in flight, and its outcome is checked before the next hand-off and before the
//! last block is written. The chunk buffers are pooled for the next files.

use std::fs::File;
use std::io::{self, Write};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::sync::Mutex;

/// The alignment of the buffer, of every direct write and of the file offset.
pub(crate) const ALIGN: usize = 4096;

/// The bytes gathered before a write: large enough that a write is cheap beside its bytes.
const CHUNK: usize = 4 << 20;

/// Chunk buffers kept for the next files (each `CHUNK + ALIGN` bytes): a fresh one is paged
/// in by the kernel as it is first filled, a share of writing a frame.
const POOLED: usize = 4;

static POOL: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// A buffer of `CHUNK + ALIGN` bytes, of which `start..start + CHUNK` is aligned; back to the
/// pool when dropped.
struct Chunk {
    bytes: Vec<u8>,
    start: usize,
}

impl Chunk {
    fn new() -> Chunk {
        let pooled = POOL.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let bytes = pooled.unwrap_or_else(|| vec![0u8; CHUNK + ALIGN]);
        let start = bytes.as_ptr().align_offset(ALIGN);
        Chunk { bytes, start }
    }

    fn filled(&self, len: usize) -> &[u8] {
        &self.bytes[self.start..self.start + len]
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        let mut pool = POOL.lock().unwrap_or_else(|p| p.into_inner());
        if pool.len() < POOLED {
            pool.push(std::mem::take(&mut self.bytes));
        }
    }
}

/// Writes `bytes` (whole aligned blocks) to `file`, direct while `direct` holds: a file
/// system that takes the flag but refuses the write (`EINVAL`, nothing written) turns it off
/// and gets the bytes through the page cache.
fn write_blocks(file: &mut File, bytes: &[u8], direct: &mut bool) -> io::Result<()> {
    if !*direct {
        return file.write_all(bytes);
    }
    match file.write_all(bytes) {
        Err(e) if e.kind() == io::ErrorKind::InvalidInput => {
            *direct = false;
            set_direct(file, false);
            file.write_all(bytes)
        }
        done => done,
    }
}

/// A thread writing full chunks while the caller fills the next (at most one in flight): the
/// encoder no longer stops for the disk.
struct Flusher {
    /// `None` once the flusher is dropped: its thread then ends, and is joined (its handle on
    /// the file closed before the file is renamed into place).
    chunks: Option<SyncSender<Chunk>>,
    /// Each chunk back once written, with the outcome and whether writes are still direct.
    written: Receiver<(Chunk, io::Result<bool>)>,
    in_flight: bool,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Flusher {
    fn drop(&mut self) {
        self.chunks = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Flusher {
    /// A flusher writing to a handle of `file`'s own (sharing its offset), if one and a
    /// thread can be had.
    fn start(file: &File, direct: bool) -> Option<Flusher> {
        let mut file = file.try_clone().ok()?;
        let (chunks, to_write) = sync_channel::<Chunk>(1);
        let (done, written): (Sender<(Chunk, io::Result<bool>)>, _) = channel();
        let thread = std::thread::Builder::new()
            .name("weft-file-writer".into())
            .spawn(move || {
                let mut direct = direct;
                for chunk in to_write {
                    let outcome = write_blocks(&mut file, chunk.filled(CHUNK), &mut direct);
                    if done.send((chunk, outcome.map(|()| direct))).is_err() {
                        break;
                    }
                }
            })
            .ok()?;
        Some(Flusher {
            chunks: Some(chunks),
            written,
            in_flight: false,
            thread: Some(thread),
        })
    }

    /// Waits for the chunk in flight, if any: its buffer, and whether writes are still
    /// direct.
    fn wait(&mut self) -> io::Result<Option<(Chunk, bool)>> {
        if !std::mem::take(&mut self.in_flight) {
            return Ok(None);
        }
        match self.written.recv() {
            Ok((chunk, outcome)) => outcome.map(|direct| Some((chunk, direct))),
            Err(_) => Err(io::Error::other("the file's writer thread stopped")),
        }
    }
}

/// Writes a file in aligned chunks, past the page cache where it can (see the module). A
/// full chunk is written on a thread of its own while the next one is filled.
/// Call [`finish`](Self::finish), which reports errors; dropping the writer without it still
/// writes what is buffered, ignoring errors.
pub(crate) struct DirectWriter<'f> {
    file: &'f mut File,
    /// The chunk being filled, `len` bytes so far.
    buf: Chunk,
    len: usize,
    direct: bool,
    /// Started at the first full chunk (a small file has none); `None` then if it could not
    /// be, and chunks are written here.
    flusher: Option<Flusher>,
    started: bool,
}

impl<'f> DirectWriter<'f> {
    /// A writer to `file` (empty, at offset 0), direct if the file system allows it.
    pub(crate) fn new(file: &'f mut File) -> Self {
        Self::with_direct(file, true)
    }

    /// A writer that writes through the page cache only when `direct` is false (tests).
    pub(crate) fn with_direct(file: &'f mut File, direct: bool) -> Self {
        let direct = direct && set_direct(file, true);
        DirectWriter {
            file,
            buf: Chunk::new(),
            len: 0,
            direct,
            flusher: None,
            started: false,
        }
    }

    /// Whether writes go past the page cache.
    #[cfg(test)]
    fn is_direct(&self) -> bool {
        self.direct
    }

    /// Waits for the chunk in flight; its buffer, if there was one.
    fn settle(&mut self) -> io::Result<Option<Chunk>> {
        let Some(flusher) = self.flusher.as_mut() else {
            return Ok(None);
        };
        Ok(flusher.wait()?.map(|(chunk, direct)| {
            self.direct = direct;
            chunk
        }))
    }

    /// Hands the full chunk to the flusher (written here if there is none), and goes on with
    /// an empty one.
    fn hand_off(&mut self) -> io::Result<()> {
        let spare = self.settle()?;
        let full = std::mem::replace(&mut self.buf, spare.unwrap_or_else(Chunk::new));
        self.len = 0;
        if !std::mem::replace(&mut self.started, true) {
            self.flusher = Flusher::start(self.file, self.direct);
        }
        let full = match self.flusher.as_mut() {
            Some(Flusher {
                chunks: Some(chunks),
                in_flight,
                ..
            }) => match chunks.send(full) {
                Ok(()) => {
                    *in_flight = true;
                    return Ok(());
                }
                Err(back) => {
                    self.flusher = None;
                    back.0
                }
            },
            _ => full,
        };
        write_blocks(self.file, full.filled(CHUNK), &mut self.direct)
    }

    /// Writes what is buffered (after the chunk in flight): whole blocks as they are, then
    /// the last partial block with direct I/O turned off.
    fn drain(&mut self) -> io::Result<()> {
        self.settle()?;
        self.flusher = None;
        let whole = self.len / ALIGN * ALIGN;
        if whole > 0 {
            write_blocks(self.file, self.buf.filled(whole), &mut self.direct)?;
        }
        if self.direct {
            self.direct = false;
            set_direct(self.file, false);
        }
        if self.len > whole {
            self.file.write_all(&self.buf.filled(self.len)[whole..])?;
        }
        self.len = 0;
        Ok(())
    }

    /// Writes what is buffered and leaves the file as any other (no longer direct).
    pub(crate) fn finish(mut self) -> io::Result<()> {
        self.drain()
    }
}

impl Write for DirectWriter<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(CHUNK - self.len);
        let at = self.buf.start + self.len;
        self.buf.bytes[at..at + n].copy_from_slice(&data[..n]);
        self.len += n;
        if self.len == CHUNK {
            self.hand_off()?;
        }
        Ok(n)
    }

    /// Buffered bytes stay until a whole chunk is gathered or the writer finishes: flushing
    /// a partial block would end direct writing.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for DirectWriter<'_> {
    fn drop(&mut self) {
        if self.len > 0 || self.direct || self.flusher.is_some() {
            let _ = self.drain();
        }
    }
}

/// Turns `O_DIRECT` on or off for `file`; whether that took.
#[cfg(target_os = "linux")]
fn set_direct(file: &File, on: bool) -> bool {
    use rustix::fs::{fcntl_getfl, fcntl_setfl, OFlags};
    let Ok(flags) = fcntl_getfl(file) else {
        return false;
    };
    let flags = if on {
        flags | OFlags::DIRECT
    } else {
        flags - OFlags::DIRECT
    };
    fcntl_setfl(file, flags).is_ok()
}

#[cfg(not(target_os = "linux"))]
fn set_direct(_file: &File, on: bool) -> bool {
    !on
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(size: usize, direct: bool) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
        let mut file = File::create(&path).unwrap();
        let mut w = DirectWriter::with_direct(&mut file, direct);
        // In uneven pieces, as an encoder writes.
        for piece in data.chunks(7919) {
            w.write_all(piece).unwrap();
        }
        w.finish().unwrap();
        drop(file);
        assert!(
            std::fs::read(&path).unwrap() == data,
            "{size} bytes, direct {direct}"
        );
    }

    #[test]
    fn what_is_written_is_what_is_read_whatever_the_size() {
        for size in [
            0,
            1,
            ALIGN - 1,
            ALIGN,
            ALIGN + 1,
            CHUNK - 1,
            CHUNK,
            CHUNK + 1,
            2 * CHUNK + 12_345,
        ] {
            roundtrip(size, true);
            roundtrip(size, false);
        }
    }

    #[test]
    fn the_file_is_an_ordinary_file_again_once_finished() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut file = File::create(&path).unwrap();
        let w = DirectWriter::new(&mut file);
        let direct = w.is_direct();
        w.finish().unwrap();
        // Unaligned writes after it succeed (no O_DIRECT left on the file).
        file.write_all(b"tail").unwrap();
        drop(file);
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"tail",
            "direct was {direct}"
        );
    }

    /// A chunk written on the flusher's thread that fails fails the writer: at the next
    /// hand-off or at `finish`, never lost.
    #[test]
    fn a_failed_write_on_the_flusher_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"").unwrap();
        for size in [CHUNK, CHUNK + 1, 3 * CHUNK] {
            // Read-only: every write fails.
            let mut file = File::open(&path).unwrap();
            let mut w = DirectWriter::with_direct(&mut file, false);
            let written = w.write_all(&vec![7u8; size]).and_then(|()| w.finish());
            assert!(written.is_err(), "{size} bytes");
        }
    }

    /// Where the temporary directory's file system takes direct writes (ext4, xfs), the
    /// writer uses them: this is the path cold runs take.
    #[cfg(target_os = "linux")]
    #[test]
    fn direct_writes_are_used_where_the_file_system_allows_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = File::create(dir.path().join("f")).unwrap();
        let allowed = set_direct(&file, true);
        set_direct(&file, false);
        let w = DirectWriter::new(&mut file);
        assert_eq!(w.is_direct(), allowed);
    }
}

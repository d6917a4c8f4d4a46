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

use std::fs::File;
use std::io::{self, Write};

/// The alignment of the buffer, of every direct write and of the file offset.
pub(crate) const ALIGN: usize = 4096;

/// The bytes gathered before a write: large enough that a write is cheap beside its bytes.
const CHUNK: usize = 4 << 20;

/// Writes a file in aligned chunks, past the page cache where it can (see the module).
/// Call [`finish`](Self::finish), which reports errors; dropping the writer without it still
/// writes what is buffered, ignoring errors.
pub(crate) struct DirectWriter<'f> {
    file: &'f mut File,
    /// `CHUNK + ALIGN` bytes, of which `start..start + CHUNK` is aligned.
    buf: Vec<u8>,
    start: usize,
    len: usize,
    direct: bool,
}

impl<'f> DirectWriter<'f> {
    /// A writer to `file` (empty, at offset 0), direct if the file system allows it.
    pub(crate) fn new(file: &'f mut File) -> Self {
        Self::with_direct(file, true)
    }

    /// A writer that writes through the page cache only when `direct` is false (tests).
    pub(crate) fn with_direct(file: &'f mut File, direct: bool) -> Self {
        let buf = vec![0u8; CHUNK + ALIGN];
        let start = buf.as_ptr().align_offset(ALIGN);
        let direct = direct && set_direct(file, true);
        DirectWriter {
            file,
            buf,
            start,
            len: 0,
            direct,
        }
    }

    /// Whether writes go past the page cache.
    #[cfg(test)]
    fn is_direct(&self) -> bool {
        self.direct
    }

    /// Writes the whole blocks gathered (all of them when `all`, the last one included),
    /// keeping a partial block for later.
    fn drain(&mut self, all: bool) -> io::Result<()> {
        let whole = self.len / ALIGN * ALIGN;
        if whole > 0 {
            let chunk = &self.buf[self.start..self.start + whole];
            if self.direct {
                match self.file.write_all(chunk) {
                    Ok(()) => {}
                    // EINVAL: refused after all (a file system that takes the flag but not
                    // the writes); nothing of this chunk was written: write it buffered.
                    Err(e) if e.kind() == io::ErrorKind::InvalidInput => {
                        self.direct = false;
                        set_direct(self.file, false);
                        self.file.write_all(chunk)?;
                    }
                    Err(e) => return Err(e),
                }
            } else {
                self.file.write_all(chunk)?;
            }
            self.buf
                .copy_within(self.start + whole..self.start + self.len, self.start);
            self.len -= whole;
        }
        if all {
            if self.direct {
                self.direct = false;
                set_direct(self.file, false);
            }
            if self.len > 0 {
                self.file
                    .write_all(&self.buf[self.start..self.start + self.len])?;
                self.len = 0;
            }
        }
        Ok(())
    }

    /// Writes what is buffered and leaves the file as any other (no longer direct).
    pub(crate) fn finish(mut self) -> io::Result<()> {
        self.drain(true)
    }
}

impl Write for DirectWriter<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = CHUNK - self.len;
        let n = data.len().min(room);
        self.buf[self.start + self.len..self.start + self.len + n].copy_from_slice(&data[..n]);
        self.len += n;
        if self.len == CHUNK {
            self.drain(false)?;
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
        if self.len > 0 || self.direct {
            let _ = self.drain(true);
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

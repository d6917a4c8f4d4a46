//! [`FileStore`]: a content-addressed directory of blobs, one file per data version.
//!
//! A file is `MAGIC ‖ u16 format length ‖ format ‖ u16 type length ‖ type ‖ blake3(payload) ‖
//! payload`, except for results in a *file format* ([`plain_extension`]: parquet, Arrow IPC):
//! those are stored as they are, `DIR/ab/abcdef….parquet`, so any tool reads them; they are
//! verified on read by the cache, which decodes them and compares the value's data version
//! with the address. Writes are [whole](crate::files::write_whole): to a temporary file beside the
//! blob (`.<name>.<random>.tmp`, created exclusively: never following or overwriting what is at
//! its name), renamed into place, so a reader (in this process or another) sees a whole blob or
//! none; not synced, since reads verify every blob. Temporary
//! files an interrupted write left are removed by [`FileStore::sweep_older_than`] (`gc` and `clear`).

use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use super::store::{Blob, ResultStore, StoreError, StreamError};
use crate::files::{write_whole_with, DirectWriter, Durability};
use crate::fingerprint::DataVersion;

const MAGIC: &[u8; 8] = b"WEFTBLB1";

/// Blobs under a directory: `DIR/ab/abcdef…`.
#[derive(Debug)]
pub struct FileStore {
    dir: PathBuf,
}

impl FileStore {
    /// A store rooted at `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        FileStore { dir: dir.into() }
    }

    fn path(&self, v: &DataVersion) -> PathBuf {
        let hex = v.to_hex();
        self.dir.join(&hex[..2]).join(&hex)
    }

    /// Where a result in a file format is stored.
    fn plain_path(&self, v: &DataVersion, ext: &str) -> PathBuf {
        let mut p = self.path(v);
        p.set_extension(ext);
        p
    }

    /// The stored file of `version`, as it is on disk: a plain file for file formats.
    pub fn file_of(&self, version: &DataVersion) -> Option<PathBuf> {
        let plain = PLAIN_FORMATS
            .iter()
            .map(|(_, ext)| self.plain_path(version, ext));
        std::iter::once(self.path(version))
            .chain(plain)
            .find(|p| p.is_file())
    }
}

/// Formats stored as plain files, with their file extension.
const PLAIN_FORMATS: [(&str, &str); 2] = [("parquet", "parquet"), ("ipc", "arrow")];

/// The file extension of a format stored as a plain file (`parquet`, `ipc`), else `None`.
pub fn plain_extension(format: &str) -> Option<&'static str> {
    PLAIN_FORMATS
        .iter()
        .find(|(f, _)| *f == format)
        .map(|(_, ext)| *ext)
}

/// A writer that remembers whether it failed (an encoder reports the failure as its own).
struct Watched<W> {
    inner: W,
    failed: bool,
}

impl<W: Write> Write for Watched<W> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(data);
        self.failed |= written.is_err();
        written
    }
    fn flush(&mut self) -> std::io::Result<()> {
        let flushed = self.inner.flush();
        self.failed |= flushed.is_err();
        flushed
    }
}

pub(super) fn encode(blob: &Blob) -> Vec<u8> {
    let mut out = Vec::with_capacity(blob.bytes.len() + 80);
    out.extend_from_slice(MAGIC);
    for s in [&blob.format, &blob.type_name] {
        out.extend_from_slice(&(s.len() as u16).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    out.extend_from_slice(blake3::hash(&blob.bytes).as_bytes());
    out.extend_from_slice(&blob.bytes);
    out
}

pub(super) fn decode(v: &DataVersion, data: &[u8]) -> Result<Blob, StoreError> {
    let corrupt = |why: &str| StoreError::Corrupt {
        version: v.to_hex(),
        why: why.to_string(),
    };
    let rest = data
        .strip_prefix(MAGIC)
        .ok_or_else(|| corrupt("bad magic"))?;
    let (format, rest) = read_str(rest).ok_or_else(|| corrupt("truncated header"))?;
    let (type_name, rest) = read_str(rest).ok_or_else(|| corrupt("truncated header"))?;
    if rest.len() < 32 {
        return Err(corrupt("truncated checksum"));
    }
    let (sum, payload) = rest.split_at(32);
    if blake3::hash(payload).as_bytes() != sum {
        return Err(corrupt("checksum mismatch"));
    }
    Ok(Blob {
        format,
        type_name,
        bytes: payload.to_vec(),
    })
}

fn read_str(data: &[u8]) -> Option<(String, &[u8])> {
    let len = u16::from_le_bytes([*data.first()?, *data.get(1)?]) as usize;
    let s = data.get(2..2 + len)?;
    Some((String::from_utf8(s.to_vec()).ok()?, &data[2 + len..]))
}

/// How long a temporary file may go unmodified before it counts as a leftover of an
/// interrupted write, which [`FileStore::sweep`] (so `gc` and `clear`) removes. A live writer
/// writes its file in one go, so its file is never this old; one killed mid-write leaves its
/// file behind.
pub const TEMP_STALE_AFTER: Duration = Duration::from_secs(15 * 60);

impl FileStore {
    /// Removes the temporary files interrupted writes left (named `*.tmp`, unmodified for
    /// `older_than`; links are removed, never followed) and returns how many. Younger ones may
    /// belong to a live writer, in this process or another, and stay.
    pub fn sweep_older_than(&self, older_than: Duration) -> Result<usize, StoreError> {
        let mut removed = 0;
        let Ok(shards) = fs::read_dir(&self.dir) else {
            return Ok(0);
        };
        let now = SystemTime::now();
        for shard in shards.flatten() {
            if !shard.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let Ok(files) = fs::read_dir(shard.path()) else {
                continue;
            };
            for f in files.flatten() {
                if !f.file_name().to_string_lossy().ends_with(".tmp") {
                    continue;
                }
                // The entry itself (`DirEntry::metadata` does not follow links).
                let stale = f
                    .metadata()
                    .and_then(|m| m.modified())
                    .map(|t| now.duration_since(t).unwrap_or_default() >= older_than)
                    .unwrap_or(false);
                if !stale {
                    continue;
                }
                match fs::remove_file(f.path()) {
                    Ok(()) => removed += 1,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(StoreError::Io {
                            context: format!("removing {}", f.path().display()),
                            source: e,
                        })
                    }
                }
            }
        }
        Ok(removed)
    }
}

impl ResultStore for FileStore {
    fn contains(&self, version: &DataVersion) -> Result<bool, StoreError> {
        Ok(self.file_of(version).is_some())
    }

    /// The shard folders (`DIR/ab`) are listed once for the batch: a version whose folder does
    /// not exist has no file, and only the others are probed (three names each). A cache whose
    /// results are all rows then costs one listing per batch, not three probes per value.
    fn contains_many(&self, versions: &[DataVersion]) -> Vec<bool> {
        let shards: std::collections::HashSet<std::ffi::OsString> = match fs::read_dir(&self.dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok().map(|e| e.file_name()))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Default::default(),
            // Cannot list: ask for each one.
            Err(_) => {
                return versions
                    .iter()
                    .map(|v| self.contains(v).unwrap_or(false))
                    .collect()
            }
        };
        versions
            .iter()
            .map(|v| {
                let hex = v.to_hex();
                shards.contains(std::ffi::OsStr::new(&hex[..2])) && self.file_of(v).is_some()
            })
            .collect()
    }

    fn put(&self, version: &DataVersion, blob: &Blob) -> Result<(), StoreError> {
        let plain = plain_extension(&blob.format);
        let path = match plain {
            Some(ext) => self.plain_path(version, ext),
            None => self.path(version),
        };
        if path.is_file() {
            return Ok(());
        }
        let parent = path.parent().unwrap_or(&self.dir);
        fs::create_dir_all(parent)
            .map_err(StoreError::io(format!("creating {}", parent.display())))?;
        let written = write_whole_with(&path, Durability::Unsynced, |f| match plain {
            Some(_) => f.write_all(&blob.bytes),
            None => f.write_all(&encode(blob)),
        });
        written.map_err(|e| StoreError::Io {
            context: format!("writing {}", path.display()),
            source: e,
        })
    }

    /// A file format's result, written past the page cache where the file system allows it
    /// (`O_DIRECT` on Linux): a cold run's frames are seldom read back at once, and filling the
    /// page cache with them cost a cold run system time (0.23 → 0.19 s in the frames bench).
    fn put_stream(
        &self,
        version: &DataVersion,
        format: &str,
        encode: &mut dyn FnMut(&mut dyn Write) -> Result<(), String>,
    ) -> Option<Result<(), StreamError>> {
        let path = self.plain_path(version, plain_extension(format)?);
        if path.is_file() {
            return Some(Ok(()));
        }
        let parent = path.parent().unwrap_or(&self.dir);
        if let Err(e) = fs::create_dir_all(parent) {
            let context = format!("creating {}", parent.display());
            return Some(Err(StreamError::Store(StoreError::io(context)(e))));
        }
        let mut refused = None;
        let written = write_whole_with(&path, Durability::Unsynced, |f| {
            let mut out = Watched {
                inner: DirectWriter::new(f),
                failed: false,
            };
            match encode(&mut out) {
                Ok(()) => out.inner.finish(),
                // The writer's own failure comes back as the encoder's error: it is a
                // store error (below), not a value without a stored form.
                Err(why) if !out.failed => {
                    refused = Some(why);
                    Err(std::io::Error::other("the value could not be encoded"))
                }
                Err(why) => Err(std::io::Error::other(why)),
            }
        });
        Some(match (written, refused) {
            (Ok(()), _) => Ok(()),
            (Err(_), Some(why)) => Err(StreamError::Encode(why)),
            (Err(e), None) => Err(StreamError::Store(StoreError::Io {
                context: format!("writing {}", path.display()),
                source: e,
            })),
        })
    }

    fn get(&self, version: &DataVersion) -> Result<Option<Blob>, StoreError> {
        let path = self.file_of(version).unwrap_or_else(|| self.path(version));
        let plain = (PLAIN_FORMATS.iter())
            .find(|(_, ext)| path.extension().is_some_and(|e| e == *ext))
            .map(|(f, _)| *f);
        match fs::read(&path) {
            Ok(bytes) => match plain {
                Some(format) => Ok(Some(Blob {
                    format: format.to_string(),
                    type_name: String::new(),
                    bytes,
                })),
                None => decode(version, &bytes).map(Some),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::Io {
                context: format!("reading {}", path.display()),
                source: e,
            }),
        }
    }

    fn remove(&self, version: &DataVersion) -> Result<(), StoreError> {
        while let Some(path) = self.file_of(version) {
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(StoreError::Io {
                        context: format!("removing {}", path.display()),
                        source: e,
                    })
                }
            }
        }
        Ok(())
    }

    fn path_of(&self, version: &DataVersion) -> Option<PathBuf> {
        self.file_of(version)
    }

    /// Removes temporary files unmodified for [`TEMP_STALE_AFTER`].
    fn sweep(&self) -> Result<usize, StoreError> {
        self.sweep_older_than(TEMP_STALE_AFTER)
    }

    fn list(&self) -> Result<Vec<(DataVersion, u64)>, StoreError> {
        let mut out = Vec::new();
        let Ok(shards) = fs::read_dir(&self.dir) else {
            return Ok(out);
        };
        for shard in shards.flatten() {
            let Ok(files) = fs::read_dir(shard.path()) else {
                continue;
            };
            for f in files.flatten() {
                let name = f.file_name();
                let name = name.to_str().unwrap_or_default();
                let stem = match name.split_once('.') {
                    Some((stem, ext)) if PLAIN_FORMATS.iter().any(|(_, e)| *e == ext) => stem,
                    Some(_) => continue,
                    None => name,
                };
                let Some(v) = DataVersion::from_hex(stem) else {
                    continue;
                };
                let size = f.metadata().map(|m| m.len()).unwrap_or(0);
                out.push((v, size));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob() -> Blob {
        Blob {
            format: "postcard".into(),
            type_name: "u64".into(),
            bytes: vec![1, 2, 3],
        }
    }

    #[test]
    fn round_trip_and_corruption_is_detected() {
        let dir = std::env::temp_dir().join(format!("weft-blobs-{}", std::process::id()));
        let store = FileStore::new(&dir);
        let v = crate::data_version_of(&7u64);
        assert!(!store.contains(&v).unwrap());
        store.put(&v, &blob()).unwrap();
        assert!(store.contains(&v).unwrap());
        assert_eq!(store.get(&v).unwrap(), Some(blob()));
        assert_eq!(store.list().unwrap().len(), 1);
        // Flip the last byte.
        let path = store.path(&v);
        let mut data = fs::read(&path).unwrap();
        *data.last_mut().unwrap() ^= 0xff;
        fs::write(&path, &data).unwrap();
        assert!(matches!(store.get(&v), Err(StoreError::Corrupt { .. })));
        fs::write(&path, b"WEFT").unwrap();
        assert!(matches!(store.get(&v), Err(StoreError::Corrupt { .. })));
        store.remove(&v).unwrap();
        assert_eq!(store.get(&v).unwrap(), None);
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn a_streamed_result_is_a_plain_file_and_a_refused_one_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path());
        let v = crate::data_version_of(&8u64);
        // Not a file format: the caller encodes to bytes instead.
        assert!(store.put_stream(&v, "postcard", &mut |_| Ok(())).is_none());
        // Larger than a direct-write chunk, in pieces of odd sizes.
        let data: Vec<u8> = (0..(9 << 20) + 77).map(|i| (i % 253) as u8).collect();
        let put = store.put_stream(&v, "parquet", &mut |out| {
            data.chunks(65_537)
                .try_for_each(|c| out.write_all(c))
                .map_err(|e| e.to_string())
        });
        assert!(matches!(put, Some(Ok(()))), "{put:?}");
        let file = store.file_of(&v).expect("stored");
        assert_eq!(file.extension().unwrap(), "parquet");
        assert!(fs::read(&file).unwrap() == data);
        // An encoder that gives up: its error, and no file, temporary or not.
        let w = crate::data_version_of(&9u64);
        let put = store.put_stream(&w, "ipc", &mut |out| {
            out.write_all(&[1; 10_000]).map_err(|e| e.to_string())?;
            Err("no stored form".into())
        });
        assert!(
            matches!(&put, Some(Err(StreamError::Encode(why))) if why == "no stored form"),
            "{put:?}"
        );
        assert!(store.file_of(&w).is_none());
        let shard = store
            .plain_path(&w, "arrow")
            .parent()
            .unwrap()
            .to_path_buf();
        let left: Vec<_> = fs::read_dir(shard).unwrap().flatten().collect();
        assert!(left.is_empty(), "{left:?}");
    }
}

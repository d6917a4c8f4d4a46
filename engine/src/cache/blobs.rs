//! [`FileStore`]: a content-addressed directory of blobs, one file per data version.
//!
//! A file is `MAGIC ‖ u16 format length ‖ format ‖ u16 type length ‖ type ‖ blake3(payload) ‖
//! payload`. Writes go to a unique temporary file that is renamed into place, so a reader (in
//! this process or another) sees a whole blob or none; reads verify the checksum.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::store::{Blob, ResultStore, StoreError};
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
}

fn encode(blob: &Blob) -> Vec<u8> {
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

fn decode(v: &DataVersion, data: &[u8]) -> Result<Blob, StoreError> {
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

/// A temporary name no other writer (thread or process) uses.
fn temp_name(target: &Path) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let mut name = target.file_name().unwrap_or_default().to_os_string();
    name.push(format!(
        ".{}.{}.tmp",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    target.with_file_name(name)
}

impl ResultStore for FileStore {
    fn contains(&self, version: &DataVersion) -> Result<bool, StoreError> {
        Ok(self.path(version).is_file())
    }

    fn put(&self, version: &DataVersion, blob: &Blob) -> Result<(), StoreError> {
        let path = self.path(version);
        if path.is_file() {
            return Ok(());
        }
        let parent = path.parent().unwrap_or(&self.dir);
        fs::create_dir_all(parent)
            .map_err(StoreError::io(format!("creating {}", parent.display())))?;
        let tmp = temp_name(&path);
        let write = || -> std::io::Result<()> {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(&encode(blob))?;
            fs::rename(&tmp, &path)
        };
        write().map_err(|e| {
            let _ = fs::remove_file(&tmp);
            StoreError::Io {
                context: format!("writing {}", path.display()),
                source: e,
            }
        })
    }

    fn get(&self, version: &DataVersion) -> Result<Option<Blob>, StoreError> {
        let path = self.path(version);
        match fs::read(&path) {
            Ok(data) => decode(version, &data).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::Io {
                context: format!("reading {}", path.display()),
                source: e,
            }),
        }
    }

    fn remove(&self, version: &DataVersion) -> Result<(), StoreError> {
        match fs::remove_file(self.path(version)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::Io {
                context: format!("removing {}", version.to_hex()),
                source: e,
            }),
        }
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
                let Some(v) = name.to_str().and_then(DataVersion::from_hex) else {
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
}

//! A Spark frame's stored form, format [`SPARK_PARQUET`]: the directory Spark wrote it to.
//!
//! Only a frame that Spark wrote out itself (a node tagged `spark = "cache"`, see
//! [`SparkAdapter`](super::SparkAdapter)) is stored; decoding reads the directory back with the
//! [`reading_session`]. Any other frame is a plan with no stored form: the cache records it as
//! not stored and its node reruns (cheaply: it only builds a plan).
//!
//! **Its version is its files.** A frame read back from a directory Spark wrote is that
//! directory's data, so its data version is made on disk, without the server: the directory's
//! path and its data files (Spark's listing rule: names starting with `_` or `.`, such as
//! `_SUCCESS` and checksums, are not data) with their sizes and modification times. It is made
//! once when the frame is written and again when it is read back, which is the check a stored
//! result gets: a file added, removed or rewritten gives another version, and the node is
//! recomputed. A directory that is not local (`s3a://`) gets its version from the server like
//! any frame ([`frame`](super::frame)), and so does a stored form from before (the directory's
//! name alone, not JSON).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use spark_connect::DataFrame;

use super::frame::{local_path, size_and_mtime};
use super::held::Held;
use super::local::{data_files, read_small};
use super::session::reading_session;
use crate::fingerprint::{data_version_of, data_version_with, DataVersion, Fingerprint};
use crate::value::CacheFormats;

/// Why a frame no `spark = "cache"` node wrote is not stored.
const PLAN_ONLY: &str = "a Spark frame is a plan: it is stored only when its node is tagged \
     `spark = \"cache\"` (Spark writes it as parquet under the SparkAdapter's cache location)";

/// The format of stored Spark frames.
pub const SPARK_PARQUET: &str = "spark-parquet";

/// What the cache stores for a Spark frame (JSON). An older stored form is the directory's
/// name alone; its version was the server's.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StoredFrame {
    /// Where Spark wrote the frame.
    pub(crate) dir: String,
    /// The frame's schema (Spark's JSON form, every field nullable as parquet reads back), when
    /// the server gave it as the frame was written: the directory is read back with it, so
    /// Spark does not run a job to read the parquet footers for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) schema: Option<String>,
}

impl StoredFrame {
    /// The stored form, and whether its version is made on disk ([`version_on_disk`]).
    fn parse(bytes: &[u8]) -> Result<(StoredFrame, bool), String> {
        if bytes.first() == Some(&b'{') {
            let stored =
                serde_json::from_slice(bytes).map_err(|e| format!("not a stored frame: {e}"))?;
            return Ok((stored, true));
        }
        let dir = std::str::from_utf8(bytes).map_err(|e| format!("not a directory name: {e}"))?;
        Ok((
            StoredFrame {
                dir: dir.to_string(),
                schema: None,
            },
            false,
        ))
    }

    /// The stored form (JSON).
    pub(crate) fn form(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| self.dir.clone())
    }

    /// The directory read back by `session`, with the schema when it is known: a small local
    /// directory as local data ([`read_small`]), else a parquet scan by Spark.
    pub(crate) fn read(&self, session: &spark_connect::SparkSession) -> Arc<DataFrame> {
        if let Some(small) =
            (self.schema.as_deref()).and_then(|s| read_small(&self.dir, s, session))
        {
            return small;
        }
        let reader = session.read();
        Arc::new(
            match &self.schema {
                Some(schema) => reader.schema(schema.clone()),
                None => reader,
            }
            .parquet(&self.dir),
        )
    }
}

/// The data version of the frame read back from the directory `dir`, made on disk: its path
/// and its data files with their sizes and modification times. `None` when the directory is
/// not local (the server is asked instead).
pub(crate) fn version_on_disk(dir: &str) -> Option<DataVersion> {
    let path = Path::new(local_path(dir)?);
    let files = data_files(path).and_then(|files| {
        (files.into_iter())
            .map(|f| size_and_mtime(&f).map(|(size, mtime)| (f, size, mtime)))
            .collect::<Option<Vec<_>>>()
    });
    Some(data_version_with::<DataFrame>(|h| {
        h.write(b"spark-parquet directory");
        match files {
            Some(files) => {
                dir.fingerprint(h);
                h.write_len(files.len());
                for (f, size, mtime) in &files {
                    f.to_string_lossy().as_ref().fingerprint(h);
                    h.write(&size.to_le_bytes());
                    h.write(&mtime.to_le_bytes());
                }
            }
            // Gone or unreadable: a version no stored key names.
            None => h.write(DataVersion::unique().as_bytes()),
        }
    }))
}

/// Frames Spark wrote out in this process: their stored forms, by data version, and by the
/// frame read back while a node's value holds it (found without asking the server its version
/// again). Generic over the frame so that its lookups are tested without a server.
struct Written<T> {
    by_version: HashMap<DataVersion, String>,
    frames: Held<T, String>,
}

impl<T> Written<T> {
    fn new() -> Self {
        Written {
            by_version: HashMap::new(),
            frames: Held::new(),
        }
    }

    /// Records that `back` has the stored form `stored`, and so does any frame of version
    /// `server_version` (a version the server made, which a clone of `back` has too; none
    /// for a version made on disk); forgets the frames no value holds any more.
    fn record(&mut self, back: &Arc<T>, server_version: Option<DataVersion>, stored: &str) {
        if let Some(version) = server_version {
            self.by_version.insert(version, stored.to_string());
        }
        self.frames.keep(back, stored.to_string());
    }

    /// The stored form of `frame`, when it is a recorded frame still held.
    fn by_frame(&self, frame: &T) -> Option<String> {
        self.frames.get(frame).cloned()
    }

    /// The stored form of the frame of version `version`.
    fn by_version(&self, version: DataVersion) -> Option<String> {
        self.by_version.get(&version).cloned()
    }

    /// Whether any frame is known by its version (else finding one by version is pointless).
    fn any_by_version(&self) -> bool {
        !self.by_version.is_empty()
    }
}

static WRITTEN: Mutex<Option<Written<DataFrame>>> = Mutex::new(None);

/// Records that `back` has the stored form `stored`, and so does any frame of the version the
/// server made, `server_version` (see [`Written::record`]).
pub(crate) fn record_written(
    back: &Arc<DataFrame>,
    server_version: Option<DataVersion>,
    stored: &str,
) {
    if let Ok(mut w) = WRITTEN.lock() {
        w.get_or_insert_with(Written::new)
            .record(back, server_version, stored);
    }
}

/// The stored form of `df`, when `df` is a frame [`record_written`] recorded and a value still
/// holds.
fn written_frame(df: &DataFrame) -> Option<String> {
    WRITTEN.lock().ok()?.as_ref()?.by_frame(df)
}

/// Whether a frame written in this process is known by a version the server made.
fn any_written_by_version() -> bool {
    let w = WRITTEN.lock();
    w.ok().and_then(|w| w.as_ref().map(Written::any_by_version)) == Some(true)
}

/// The stored form of `df` found by its version, written in this process. `df` is
/// fingerprinted (two round trips to the server) only when some frame is known by a version
/// the server made: over local directories, none is, and a plan passed on is not asked about.
fn written_version(df: &DataFrame) -> Option<String> {
    if !any_written_by_version() {
        return None;
    }
    let version = data_version_of(df);
    WRITTEN.lock().ok()?.as_ref()?.by_version(version)
}

/// Exact: the node's value is already the stored directory read back, so decoding rebuilds
/// the same plan over the same files (the same data version). The writer skips the round-trip
/// proof; reading a stored frame back still checks its version, on disk (files changed since
/// are recomputed).
impl CacheFormats for DataFrame {
    const FORMATS: &'static [&'static str] = &[SPARK_PARQUET];
    const EXACT: bool = true;

    fn encode(&self, format: &str) -> Result<Vec<u8>, String> {
        if format != SPARK_PARQUET {
            return Err(format!(
                "a Spark frame cannot be stored as `{format}`; available: {SPARK_PARQUET}"
            ));
        }
        // The frame a `spark = "cache"` node's value holds is known at once. A clone another
        // node passes on is found by its version only when that is the server's (a directory
        // that is not local); over a local directory, the clone's fingerprint is the server's
        // and the frame's is made on disk, so the passing node is not stored (it reruns,
        // cheaply: its value is the same plan).
        let stored = written_frame(self).or_else(|| written_version(self));
        match stored {
            Some(stored) => Ok(stored.into_bytes()),
            None => Err(PLAN_ONLY.to_string()),
        }
    }

    fn decode(bytes: &[u8], format: &str) -> Result<Self, String> {
        Self::decode_shared(bytes, format).map(Arc::unwrap_or_clone)
    }

    /// The frame read back in the `Arc` its value holds: the rows of a small local directory
    /// are kept by it (see [`to_arrow`](super::to_arrow)), for collecting it with no request.
    fn decode_shared(bytes: &[u8], format: &str) -> Result<Arc<Self>, String> {
        if format != SPARK_PARQUET {
            return Err(format!(
                "a stored Spark frame is `{SPARK_PARQUET}`, not `{format}`"
            ));
        }
        let (stored, _) = StoredFrame::parse(bytes)?;
        let session = reading_session().ok_or(
            "no Spark session to read the stored frame with: give the driver a SparkSession \
             input, or make one with weft::spark::connect",
        )?;
        Ok(stored.read(&session))
    }

    /// A frame no `spark = "cache"` node wrote is a plan: nothing to store, nothing to warn
    /// about (its node reruns, cheaply, to build the plan again).
    fn no_stored_form(&self) -> Option<String> {
        if written_frame(self).is_some() || any_written_by_version() {
            return None;
        }
        Some(PLAN_ONLY.to_string())
    }

    fn stored_version(bytes: &[u8], format: &str) -> Option<DataVersion> {
        if format != SPARK_PARQUET {
            return None;
        }
        match StoredFrame::parse(bytes).ok()? {
            (stored, true) => version_on_disk(&stored.dir),
            (_, false) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::{self, File};
    use std::time::{Duration, SystemTime};

    #[test]
    fn a_frame_written_is_found_by_itself_or_by_the_version_the_server_made() {
        let mut w = Written::new();
        let back = Arc::new(String::from("plan over /cache/a"));
        let version = DataVersion::unique();
        w.record(&back, Some(version), "/cache/a");
        assert_eq!(w.by_frame(&back).as_deref(), Some("/cache/a"));
        // A clone another node passes on is another frame (see `held`): found by version.
        assert_eq!(w.by_version(version).as_deref(), Some("/cache/a"));
        assert_eq!(w.by_version(DataVersion::unique()), None);
    }

    #[test]
    fn a_frame_versioned_on_disk_is_found_by_itself_only() {
        let mut w = Written::new();
        let back = Arc::new(1_u64);
        w.record(&back, None, "/cache/a");
        assert_eq!(w.by_frame(&back).as_deref(), Some("/cache/a"));
        // Nothing to find by version: a plan passed on is not fingerprinted to look.
        assert!(!w.any_by_version());
        w.record(&Arc::new(2_u64), Some(DataVersion::unique()), "s3a://b/c");
        assert!(w.any_by_version());
    }

    #[test]
    fn a_stored_form_keeps_the_schema_and_an_older_one_has_none() {
        let with = StoredFrame {
            dir: "/cache/stats".into(),
            schema: Some(r#"{"type":"struct","fields":[]}"#.into()),
        };
        let (back, on_disk) = StoredFrame::parse(with.form().as_bytes()).unwrap();
        assert!(on_disk);
        assert_eq!(back.dir, "/cache/stats");
        assert_eq!(back.schema, with.schema);
        let (older, on_disk) = StoredFrame::parse(br#"{"dir":"/cache/stats"}"#).unwrap();
        assert!(on_disk);
        assert_eq!(older.schema, None);
    }

    fn form(dir: &str) -> String {
        StoredFrame {
            dir: dir.into(),
            schema: None,
        }
        .form()
    }

    /// A directory as Spark leaves it: two data files, `_SUCCESS` and checksums; and its
    /// stored form.
    fn written_dir(root: &Path) -> (std::path::PathBuf, Vec<u8>) {
        let dir = root.join("stats-0123");
        fs::create_dir(&dir).unwrap();
        for (name, body) in [
            ("part-00000-a.parquet", "one"),
            ("part-00001-a.parquet", "two"),
        ] {
            fs::write(dir.join(name), body).unwrap();
            fs::write(dir.join(format!(".{name}.crc")), "crc").unwrap();
        }
        fs::write(dir.join("_SUCCESS"), "").unwrap();
        let stored = form(dir.to_str().unwrap());
        (dir, stored.into_bytes())
    }

    #[test]
    fn a_stored_frame_is_checked_on_disk_to_the_version_it_was_written_with() {
        let root = tempfile::tempdir().unwrap();
        let (dir, stored) = written_dir(root.path());
        let written = version_on_disk(dir.to_str().unwrap());
        let checked = DataFrame::stored_version(&stored, SPARK_PARQUET);
        assert!(written.is_some());
        assert_eq!(checked, written);
        assert_eq!(DataFrame::stored_version(&stored, SPARK_PARQUET), written);

        // Checksums and markers are not data: rewriting them changes nothing.
        fs::write(dir.join("_SUCCESS"), "done").unwrap();
        fs::write(dir.join(".part-00000-a.parquet.crc"), "other").unwrap();
        assert_eq!(DataFrame::stored_version(&stored, SPARK_PARQUET), written);

        // A data file touched: another version.
        let file = File::options()
            .write(true)
            .open(dir.join("part-00001-a.parquet"))
            .unwrap();
        file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(7))
            .unwrap();
        let touched = DataFrame::stored_version(&stored, SPARK_PARQUET);
        assert!(touched.is_some() && touched != written);

        // A data file more: another version again.
        fs::write(dir.join("part-00002-b.parquet"), "three").unwrap();
        let added = DataFrame::stored_version(&stored, SPARK_PARQUET);
        assert!(added.is_some() && added != touched && added != written);

        // The directory gone: a version that matches nothing, not even itself.
        fs::remove_dir_all(&dir).unwrap();
        let gone = DataFrame::stored_version(&stored, SPARK_PARQUET);
        assert!(gone.is_some() && gone != written);
        assert_ne!(gone, DataFrame::stored_version(&stored, SPARK_PARQUET));
    }

    #[test]
    fn a_stored_form_that_cannot_be_checked_on_disk_says_so() {
        // The older form (the directory alone), a remote directory, another format.
        assert_eq!(
            DataFrame::stored_version(b"/data/stats", SPARK_PARQUET),
            None
        );
        let remote = form("s3a://bucket/stats");
        assert_eq!(
            DataFrame::stored_version(remote.as_bytes(), SPARK_PARQUET),
            None
        );
        let root = tempfile::tempdir().unwrap();
        let (_, stored) = written_dir(root.path());
        assert_eq!(DataFrame::stored_version(&stored, "parquet"), None);
        assert_eq!(
            StoredFrame::parse(b"/data/stats").unwrap().0.dir,
            "/data/stats"
        );
    }
}

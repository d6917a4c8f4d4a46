//! [`Location`]: where a cache lives, parsed from one string — the one parser behind
//! [`CacheConfig::locate`](super::CacheConfig::locate), [`Cache::locate`](super::Cache::locate)
//! and the CLI's `--cache`.
//!
//! A plain path or a `file://` URL is a directory (SQLite metadata and results, the default
//! stores); `s3://`, `gs://` and `az://` URLs are object storage (feature `object-store`).

use std::path::PathBuf;

use super::store::StoreError;

/// Where a cache lives.
///
/// ```
/// use weft::cache::Location;
/// assert_eq!(Location::parse(".weft/cache").unwrap(), Location::Dir(".weft/cache".into()));
/// assert_eq!(Location::parse("file:///data/cache").unwrap(), Location::Dir("/data/cache".into()));
/// assert_eq!(
///     Location::parse("s3://team-bucket/flows/sales").unwrap(),
///     Location::Object { url: "s3://team-bucket/flows/sales".into() }
/// );
/// // An unknown scheme is an error naming it, with the schemes that work.
/// let e = Location::parse("s4://bucket").unwrap_err().to_string();
/// assert!(e.contains("`s4://bucket`") && e.contains("s3://"), "{e}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Location {
    /// A directory on a local or shared file system.
    Dir(PathBuf),
    /// Object storage: `s3://bucket/prefix`, `gs://bucket/prefix`, `az://container/prefix`.
    Object {
        /// The URL, as given (without a trailing `/`).
        url: String,
    },
}

/// The URL schemes of object storage, with what they are.
pub(crate) const OBJECT_SCHEMES: [(&str, &str); 3] = [
    ("s3", "Amazon S3 or an S3-compatible server"),
    ("gs", "Google Cloud Storage"),
    ("az", "Azure Blob Storage"),
];

impl Location {
    /// Parses a cache location: a directory path, `file://PATH`, or an object-storage URL.
    /// A URL with an unknown scheme, or one without a bucket, is an error naming it.
    pub fn parse(location: &str) -> Result<Location, StoreError> {
        let location = location.trim();
        if location.is_empty() {
            return Err(bad(location, "it is empty; give a directory or a URL"));
        }
        let Some((scheme, rest)) = location.split_once("://") else {
            return Ok(Location::Dir(PathBuf::from(location)));
        };
        let lower = scheme.to_ascii_lowercase();
        if lower == "file" {
            if rest.is_empty() {
                return Err(bad(
                    location,
                    "a file:// URL needs a path (file:///data/cache)",
                ));
            }
            return Ok(Location::Dir(PathBuf::from(rest)));
        }
        if !OBJECT_SCHEMES.iter().any(|(s, _)| *s == lower) {
            let hint = crate::error::suggest(&lower, OBJECT_SCHEMES.iter().map(|(s, _)| *s))
                .map(|s| format!("did you mean `{s}://`? "))
                .unwrap_or_default();
            return Err(bad(
                location,
                &format!(
                    "unknown scheme `{scheme}://`; {hint}a cache is a directory, file://PATH, {}",
                    schemes()
                ),
            ));
        }
        let bucket = rest.split('/').next().unwrap_or("");
        if bucket.is_empty() {
            return Err(bad(
                location,
                &format!("it names no bucket ({lower}://BUCKET/PREFIX)"),
            ));
        }
        Ok(Location::Object {
            url: format!("{lower}://{}", rest.trim_end_matches('/')),
        })
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Dir(d) => write!(f, "{}", d.display()),
            Location::Object { url } => f.write_str(url),
        }
    }
}

/// `s3://BUCKET/PREFIX (Amazon S3 …), gs://… (…) or az://… (…)`.
fn schemes() -> String {
    let all: Vec<String> = OBJECT_SCHEMES
        .iter()
        .map(|(s, what)| format!("{s}://BUCKET/PREFIX ({what})"))
        .collect();
    all.join(", ")
}

fn bad(location: &str, why: &str) -> StoreError {
    StoreError::Location {
        location: location.to_string(),
        why: why.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_file_urls_and_object_urls() {
        assert_eq!(
            Location::parse("/tmp/c").unwrap(),
            Location::Dir("/tmp/c".into())
        );
        assert_eq!(
            Location::parse("C:\\cache").unwrap(),
            Location::Dir("C:\\cache".into())
        );
        assert_eq!(
            Location::parse("file://rel/dir").unwrap(),
            Location::Dir("rel/dir".into())
        );
        assert_eq!(
            Location::parse("S3://b/p/").unwrap(),
            Location::Object {
                url: "s3://b/p".into()
            }
        );
        assert_eq!(
            Location::parse("gs://b").unwrap(),
            Location::Object {
                url: "gs://b".into()
            }
        );
        assert_eq!(
            Location::parse("az://container/x").unwrap().to_string(),
            "az://container/x"
        );
    }

    #[test]
    fn bad_locations_are_errors_naming_them() {
        for (given, says) in [
            ("", "empty"),
            ("s3://", "no bucket"),
            ("s3:///prefix", "no bucket"),
            ("file://", "needs a path"),
            ("http://x/y", "unknown scheme `http://`"),
            ("s33://b", "did you mean `s3://`?"),
        ] {
            let e = Location::parse(given).unwrap_err().to_string();
            assert!(e.contains(&format!("`{given}`")), "{e}");
            assert!(e.contains(says), "{given}: {e}");
        }
    }
}

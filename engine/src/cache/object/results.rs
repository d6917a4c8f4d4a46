//! Results on object storage: one object per data version, `results/<version>`, in the same
//! self-checking format as the file store (header, blake3 of the payload, payload).
//!
//! A result is written once, with a create-only PUT (`If-None-Match: *` on S3): a version's
//! bytes never change, so when another driver got there first the write is simply done. A PUT
//! is atomic, so nobody reads half an object; every read verifies the checksum, so a damaged
//! object is reported as corrupt (and the node recomputed), never returned.

use futures::{StreamExt, TryStreamExt};
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

use super::bridge::IN_FLIGHT;
use super::layout::{self, Layout};
use super::ObjectStores;
use crate::cache::blobs::{decode, encode};
use crate::cache::{Blob, ResultStore, StoreError};
use crate::fingerprint::DataVersion;

impl ObjectStores {
    /// Whether each of `versions` has a result (HEAD requests, several in flight).
    fn heads(&self, versions: &[DataVersion]) -> Result<Vec<bool>, StoreError> {
        let store = self.shared.store.clone();
        let paths: Vec<_> = versions
            .iter()
            .map(|v| self.shared.layout.result(v))
            .collect();
        let url = self.shared.url.clone();
        self.shared.bridge.run(async move {
            futures::stream::iter(paths)
                .map(|path| {
                    let store = store.clone();
                    let url = url.clone();
                    async move {
                        match store.head(&path).await {
                            Ok(_) => Ok(true),
                            Err(object_store::Error::NotFound { .. }) => Ok(false),
                            Err(e) => Err(super::failed(&url, "checking", &path)(e)),
                        }
                    }
                })
                .buffered(IN_FLIGHT)
                .try_collect()
                .await
        })
    }

    /// Stores each blob with a create-only PUT, several in flight.
    fn puts(&self, items: Vec<(DataVersion, Vec<u8>)>) -> Vec<Result<(), StoreError>> {
        let store = self.shared.store.clone();
        let layout = self.shared.layout.clone();
        let url = self.shared.url.clone();
        let n = items.len();
        self.shared
            .bridge
            .run(async move {
                Ok(futures::stream::iter(items)
                    .map(|(v, bytes)| {
                        put_once(store.clone(), layout.result(&v), bytes, url.clone())
                    })
                    .buffered(IN_FLIGHT)
                    .collect::<Vec<_>>()
                    .await)
            })
            .unwrap_or_else(|e| {
                let why = e.to_string();
                (0..n)
                    .map(|_| Err(StoreError::Other(why.clone())))
                    .collect()
            })
    }
}

/// A create-only PUT; "it exists already" is success (the same version has the same bytes).
async fn put_once(
    store: std::sync::Arc<dyn ObjectStore>,
    path: object_store::path::Path,
    bytes: Vec<u8>,
    url: String,
) -> Result<(), StoreError> {
    let opts = PutOptions {
        mode: PutMode::Create,
        ..PutOptions::default()
    };
    match store
        .put_opts(&path, PutPayload::from(bytes.clone()), opts)
        .await
    {
        Ok(_) => Ok(()),
        Err(
            object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. },
        ) => Ok(()),
        // A backend without create-only writes: an overwrite with the same bytes is harmless.
        Err(object_store::Error::NotImplemented { .. }) => store
            .put(&path, PutPayload::from(bytes))
            .await
            .map(|_| ())
            .map_err(super::failed(&url, "writing", &path)),
        Err(e) => Err(super::failed(&url, "writing", &path)(e)),
    }
}

impl ResultStore for ObjectStores {
    fn contains(&self, version: &DataVersion) -> Result<bool, StoreError> {
        Ok(self.heads(std::slice::from_ref(version))?[0])
    }

    fn contains_many(&self, versions: &[DataVersion]) -> Vec<bool> {
        self.heads(versions)
            .unwrap_or_else(|_| vec![false; versions.len()])
    }

    fn put(&self, version: &DataVersion, blob: &Blob) -> Result<(), StoreError> {
        self.puts(vec![(*version, encode(blob))])
            .pop()
            .unwrap_or(Ok(()))
    }

    fn put_many(&self, items: &[(DataVersion, Blob)]) -> Vec<Result<(), StoreError>> {
        self.puts(items.iter().map(|(v, b)| (*v, encode(b))).collect())
    }

    fn get(&self, version: &DataVersion) -> Result<Option<Blob>, StoreError> {
        let path = self.shared.layout.result(version);
        let store = self.shared.store.clone();
        let failed = self.failed("reading", &path);
        let data = self.shared.bridge.run(async move {
            match store.get(&path).await {
                Ok(got) => got.bytes().await.map(Some),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
            .map_err(failed)
        })?;
        data.map(|d| decode(version, &d)).transpose()
    }

    fn remove(&self, version: &DataVersion) -> Result<(), StoreError> {
        let path = self.shared.layout.result(version);
        self.delete(path)
    }

    fn list(&self) -> Result<Vec<(DataVersion, u64)>, StoreError> {
        Ok(self
            .list_dir(layout::RESULTS)?
            .into_iter()
            .filter_map(|m| Some((DataVersion::from_hex(&Layout::name(&m.location)?)?, m.size)))
            .collect())
    }
}

//! The sink: puts an object into S3-compatible storage or a local directory, through
//! `object_store`. One client per bucket, built on first use from the bucket's settings
//! (a per-bucket override, else the global ones).
//!
//! The sink does one attempt per call; retries and backoff belong to the delivery task, which
//! must see every failure to report it (the client's own retries are off).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ClientOptions, ObjectStore, PutPayload, RetryConfig};

/// Where and how one bucket is reached.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct BucketSettings {
    /// The S3 endpoint URL (`http://127.0.0.1:9000`); `None`: AWS's regional endpoint.
    pub endpoint: Option<String>,
    /// The signing region.
    pub region: String,
    /// Access key id; with no keys requests are unsigned.
    pub access_key_id: Option<String>,
    /// Secret access key.
    pub secret_access_key: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`) instead of virtual-hosted style.
    pub path_style: bool,
    /// Deliver into this local directory instead (objects are files under it).
    pub directory: Option<PathBuf>,
}

impl std::fmt::Debug for BucketSettings {
    /// Written by hand: the secret is never printed.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("BucketSettings")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("path_style", &self.path_style)
            .field("directory", &self.directory)
            .finish_non_exhaustive()
    }
}

/// The sink's settings (the `[delivery]` configuration section).
#[derive(Clone, Debug)]
pub struct SinkSettings {
    /// Every bucket without an override.
    pub default: BucketSettings,
    /// Per-bucket overrides, by bucket name.
    pub buckets: BTreeMap<String, BucketSettings>,
    /// Objects of at least this many bytes are uploaded in parts.
    pub multipart_bytes_min: usize,
    /// Size of each part of a multipart upload.
    pub part_bytes: usize,
    /// Timeout of one request to the store.
    pub request_timeout: Duration,
}

impl Default for SinkSettings {
    fn default() -> Self {
        Self {
            default: BucketSettings {
                region: "us-east-1".into(),
                ..BucketSettings::default()
            },
            buckets: BTreeMap::new(),
            multipart_bytes_min: 16 * 1024 * 1024,
            part_bytes: 8 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Puts objects; cheap to clone.
#[derive(Clone)]
pub struct Sink {
    settings: Arc<SinkSettings>,
    stores: Arc<Mutex<HashMap<String, Arc<dyn ObjectStore>>>>,
}

impl Sink {
    /// A sink with `settings`; no connection is made until the first put.
    pub fn new(settings: SinkSettings) -> Self {
        Self {
            settings: Arc::new(settings),
            stores: Arc::default(),
        }
    }

    fn store(&self, bucket: &str) -> Result<Arc<dyn ObjectStore>, String> {
        let mut stores = self.stores.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(store) = stores.get(bucket) {
            return Ok(store.clone());
        }
        let settings = self
            .settings
            .buckets
            .get(bucket)
            .unwrap_or(&self.settings.default);
        let store: Arc<dyn ObjectStore> = if let Some(directory) = &settings.directory {
            std::fs::create_dir_all(directory)
                .map_err(|error| format!("Cannot create {}: {error}", directory.display()))?;
            Arc::new(
                LocalFileSystem::new_with_prefix(directory).map_err(|error| error.to_string())?,
            )
        } else {
            let timeout = self.settings.request_timeout;
            let mut builder = AmazonS3Builder::new()
                .with_bucket_name(bucket)
                .with_region(&settings.region)
                .with_virtual_hosted_style_request(!settings.path_style)
                .with_retry(RetryConfig {
                    max_retries: 0,
                    retry_timeout: timeout,
                    ..RetryConfig::default()
                })
                .with_client_options(
                    ClientOptions::new()
                        .with_allow_http(true)
                        .with_timeout(timeout)
                        .with_connect_timeout(timeout.min(Duration::from_secs(5))),
                );
            if let Some(endpoint) = &settings.endpoint {
                builder = builder.with_endpoint(endpoint);
            }
            match (&settings.access_key_id, &settings.secret_access_key) {
                (Some(id), Some(secret)) => {
                    builder = builder
                        .with_access_key_id(id)
                        .with_secret_access_key(secret);
                }
                _ => builder = builder.with_skip_signature(true),
            }
            Arc::new(builder.build().map_err(|error| error.to_string())?)
        };
        stores.insert(bucket.to_owned(), store.clone());
        Ok(store)
    }

    /// Puts `body` at `key` in `bucket`, replacing any object there; in parts when large.
    pub async fn put(&self, bucket: &str, key: &str, body: Bytes) -> Result<(), String> {
        let store = self.store(bucket)?;
        let path =
            Path::parse(key).map_err(|error| format!("Invalid object key {key:?}: {error}"))?;
        if body.len() >= self.settings.multipart_bytes_min {
            let mut upload = store
                .put_multipart(&path)
                .await
                .map_err(|error| error.to_string())?;
            // At most 128 MiB / part_bytes parts, uploaded concurrently.
            let part_bytes = self.settings.part_bytes.max(1);
            let parts: Vec<_> = (0..body.len())
                .step_by(part_bytes)
                .map(|start| {
                    let end = (start + part_bytes).min(body.len());
                    upload.put_part(PutPayload::from(body.slice(start..end)))
                })
                .collect();
            let uploaded = match futures::future::try_join_all(parts).await {
                Ok(_) => upload.complete().await.map(|_| ()),
                Err(error) => Err(error),
            };
            if let Err(error) = uploaded {
                // Best effort: an upload left behind holds no object, only storage.
                let _ = upload.abort().await;
                return Err(error.to_string());
            }
            Ok(())
        } else {
            store
                .put(&path, PutPayload::from(body))
                .await
                .map(|_| ())
                .map_err(|error| error.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_directory_bucket_receives_objects_as_files_whole_and_in_parts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut settings = SinkSettings {
            multipart_bytes_min: 1024,
            part_bytes: 1000,
            ..SinkSettings::default()
        };
        settings.buckets.insert(
            "local".into(),
            BucketSettings {
                directory: Some(dir.path().join("objects")),
                ..BucketSettings::default()
            },
        );
        let sink = Sink::new(settings);
        sink.put("local", "a/b/small", Bytes::from_static(b"hello"))
            .await
            .expect("put");
        let large = Bytes::from(vec![7u8; 4096]);
        sink.put("local", "a/large", large.clone())
            .await
            .expect("put");
        let root = dir.path().join("objects");
        assert_eq!(
            std::fs::read(root.join("a/b/small")).expect("read"),
            b"hello"
        );
        assert_eq!(std::fs::read(root.join("a/large")).expect("read"), large);
        // The same key again replaces the object (deterministic keys rely on it).
        sink.put("local", "a/b/small", Bytes::from_static(b"again"))
            .await
            .expect("put");
        assert_eq!(
            std::fs::read(root.join("a/b/small")).expect("read"),
            b"again"
        );
        assert!(sink.put("local", "a//b", Bytes::new()).await.is_err());
    }
}

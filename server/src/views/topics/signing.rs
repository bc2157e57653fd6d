//! The key SNS messages are signed with, and the certificate an endpoint verifies them by.
//!
//! One 2048-bit RSA key per data directory, made on first use (not at start: most servers
//! never sign a message) and kept, with its self-signed certificate, in the log's
//! properties, so signatures verify across restarts. The certificate is served at
//! `SigningCertURL`; its file name carries the first 16 bytes of the SHA-256 of its DER
//! form, so a new key gets a new URL and a verifier's cache never holds a stale one.
//!
//! Signatures are RSA PKCS#1 v1.5 over the envelope's string to sign, with SHA-1
//! (`SignatureVersion` 1, SNS's default) or SHA-256 (2), base64-encoded.

use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rsa::RsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::signature::{SignatureEncoding, Signer as _};
use sha2::{Digest, Sha256};
use storage::Log;

use super::error::{Error, Result};

const NAMESPACE: &str = "sns";
const KEY_NAME: &str = "signing_key";
const CERT_NAME: &str = "signing_cert";
const KEY_BITS: usize = 2048;

/// The signature algorithm of a topic (its `SignatureVersion` attribute).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureVersion {
    /// `1`: SHA1withRSA.
    V1,
    /// `2`: SHA256withRSA.
    V2,
}

impl SignatureVersion {
    /// The attribute's text, as envelopes carry it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V1 => "1",
            Self::V2 => "2",
        }
    }

    /// The version an attribute value names (`1` for anything but `2`).
    #[must_use]
    pub fn from_attribute(value: Option<&str>) -> Self {
        match value {
            Some("2") => Self::V2,
            _ => Self::V1,
        }
    }
}

/// A loaded key with its certificate.
pub struct Signer {
    v1: SigningKey<sha1::Sha1>,
    v2: SigningKey<Sha256>,
    certificate_pem: String,
    certificate_id: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("certificate_id", &self.certificate_id)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// Base64 of the signature of `text`.
    #[must_use]
    pub fn sign(&self, version: SignatureVersion, text: &str) -> String {
        let signature = match version {
            SignatureVersion::V1 => self.v1.sign(text.as_bytes()).to_vec(),
            SignatureVersion::V2 => self.v2.sign(text.as_bytes()).to_vec(),
        };
        BASE64.encode(signature)
    }

    /// The certificate, PEM.
    #[must_use]
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    /// The certificate's file name under the signing path:
    /// `SimpleNotificationService-<id>.pem`.
    #[must_use]
    pub fn certificate_file(&self) -> String {
        format!("SimpleNotificationService-{}.pem", self.certificate_id)
    }
}

/// The signer of a data directory, loaded or made on first use.
#[derive(Clone)]
pub struct SigningKeys {
    log: Log,
    signer: Arc<OnceLock<Arc<Signer>>>,
    making: Arc<tokio::sync::Mutex<()>>,
}

impl SigningKeys {
    /// The keys of `log`'s data directory (nothing is read or made yet).
    pub fn new(log: Log) -> Self {
        Self {
            log,
            signer: Arc::new(OnceLock::new()),
            making: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// The signer: loaded from the properties, or made (on a blocking thread: a key takes a
    /// moment) and kept there.
    pub async fn get(&self) -> Result<Arc<Signer>> {
        if let Some(signer) = self.signer.get() {
            return Ok(signer.clone());
        }
        let _making = self.making.lock().await;
        if let Some(signer) = self.signer.get() {
            return Ok(signer.clone());
        }
        let log = self.log.clone();
        let signer = tokio::task::spawn_blocking(move || load_or_make(&log))
            .await
            .map_err(|error| Error::Internal(format!("signing key task: {error}")))??;
        let signer = Arc::new(signer);
        let _ = self.signer.set(signer.clone());
        Ok(signer)
    }
}

fn load_or_make(log: &Log) -> Result<Signer> {
    if let (Some(key), Some(cert)) = (
        log.property(NAMESPACE, KEY_NAME),
        log.property(NAMESPACE, CERT_NAME),
    ) {
        match signer_of(&key, &cert) {
            Ok(signer) => return Ok(signer),
            Err(error) => {
                tracing::warn!(%error, "The SNS signing key does not load; a new one is made");
            }
        }
    }
    let mut rng = rand::thread_rng();
    let key = RsaPrivateKey::new(&mut rng, KEY_BITS)
        .map_err(|error| Error::Internal(format!("signing key: {error}")))?;
    let der = key
        .to_pkcs8_der()
        .map_err(|error| Error::Internal(format!("signing key: {error}")))?;
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|error| Error::Internal(format!("signing key: {error}")))?;
    let key_pair = rcgen::KeyPair::from_pkcs8_pem_and_sign_algo(&pem, &rcgen::PKCS_RSA_SHA256)
        .map_err(|error| Error::Internal(format!("signing certificate key: {error}")))?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())
        .map_err(|error| Error::Internal(format!("signing certificate: {error}")))?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Strata SNS message signing");
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2120, 1, 1);
    let cert = params
        .self_signed(&key_pair)
        .map_err(|error| Error::Internal(format!("signing certificate: {error}")))?;
    let cert_pem = cert.pem();
    log.put_property(NAMESPACE, KEY_NAME, der.as_bytes().to_vec())
        .map_err(|error| Error::internal(&error))?;
    log.put_property(NAMESPACE, CERT_NAME, cert_pem.clone().into_bytes())
        .map_err(|error| Error::internal(&error))?;
    signer_of(der.as_bytes(), cert_pem.as_bytes())
}

fn signer_of(key_der: &[u8], cert_pem: &[u8]) -> Result<Signer> {
    let key = RsaPrivateKey::from_pkcs8_der(key_der)
        .map_err(|error| Error::Internal(format!("signing key: {error}")))?;
    let certificate_pem = String::from_utf8(cert_pem.to_vec())
        .map_err(|_| Error::Internal("signing certificate is not text".into()))?;
    let digest = Sha256::digest(certificate_pem.as_bytes());
    let certificate_id = digest
        .iter()
        .take(16)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    Ok(Signer {
        v1: SigningKey::<sha1::Sha1>::new(key.clone()),
        v2: SigningKey::<Sha256>::new(key),
        certificate_pem,
        certificate_id,
    })
}

//! Optional TLS for both listeners (`server.tls_cert_file` and `server.tls_key_file`):
//! rustls with the ring provider, the certificate chain and private key read from PEM files
//! once at startup, so a bad file stops the server before it listens.
//!
//! The HTTP listener offers `h2` and `http/1.1` by ALPN; the native listener offers nothing
//! (its protocol is its own). A TLS handshake counts against the listener's handshake
//! deadline, so a client that opens a socket and never speaks TLS is closed like one that
//! never says `Hello`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

/// The certificate chain and key files of the listeners.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM: the server's certificate first, then any intermediates.
    pub cert_file: PathBuf,
    /// PEM: the private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
}

/// Why the TLS configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A file could not be read or holds no PEM item of the kind needed.
    #[error("cannot read {what} from {}: {reason}", path.display())]
    File {
        /// `certificate` or `private key`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// rustls refused the pair (for example a key that does not match the certificate).
    #[error("invalid TLS certificate or key: {0}")]
    Invalid(#[from] rustls::Error),
}

/// Acceptors for the two listeners, built from one certificate and key.
#[derive(Clone)]
pub struct Acceptors {
    /// For the AWS HTTP listener: ALPN `h2`, `http/1.1`.
    pub http: TlsAcceptor,
    /// For the native listener: no ALPN.
    pub native: TlsAcceptor,
}

impl std::fmt::Debug for Acceptors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Acceptors")
    }
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let error = |reason: String| TlsError::File {
        what: "certificate",
        path: path.to_path_buf(),
        reason,
    };
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(|e| error(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| error(e.to_string()))?;
    if chain.is_empty() {
        return Err(error("no CERTIFICATE block".to_owned()));
    }
    Ok(chain)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| TlsError::File {
        what: "private key",
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    alpn: &[&[u8]],
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
    Ok(Arc::new(config))
}

impl Acceptors {
    /// Reads and checks the files.
    ///
    /// # Errors
    /// [`TlsError`] naming the file or the problem.
    pub fn load(files: &TlsFiles) -> Result<Self, TlsError> {
        let chain = certificates(&files.cert_file)?;
        let key = private_key(&files.key_file)?;
        let http = server_config(chain.clone(), key.clone_key(), &[b"h2", b"http/1.1"])?;
        let native = server_config(chain, key, &[])?;
        Ok(Self {
            http: TlsAcceptor::from(http),
            native: TlsAcceptor::from(native),
        })
    }
}

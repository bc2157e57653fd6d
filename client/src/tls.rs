//! TLS to a server whose listeners have a certificate (`server.tls_cert_file`): rustls with
//! the ring provider, trusting the CA certificates of one PEM file (a private CA or the
//! server's own self-signed certificate).

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls;

use crate::ClientError;

/// How to reach a TLS server: whom to trust and the name its certificate must carry.
#[derive(Clone)]
pub struct ClientTls {
    connector: TlsConnector,
    server_name: ServerName<'static>,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

impl ClientTls {
    /// Trusts the certificates in the PEM file `ca_file` and expects the server's certificate
    /// to name `server_name` (a DNS name or an IP address, such as `127.0.0.1`).
    ///
    /// # Errors
    /// [`ClientError::InvalidArgument`] when the file cannot be read or holds no usable
    /// certificate, or the name is not a valid server name.
    pub fn new(ca_file: &Path, server_name: &str) -> Result<Self, ClientError> {
        let invalid = |what: String| ClientError::InvalidArgument(what);
        let mut roots = rustls::RootCertStore::empty();
        let certificates = CertificateDer::pem_file_iter(ca_file)
            .map_err(|error| invalid(format!("reading {}: {error}", ca_file.display())))?;
        for certificate in certificates {
            let certificate = certificate
                .map_err(|error| invalid(format!("reading {}: {error}", ca_file.display())))?;
            roots.add(certificate).map_err(|error| {
                invalid(format!("a certificate in {}: {error}", ca_file.display()))
            })?;
        }
        if roots.is_empty() {
            return Err(invalid(format!(
                "{} holds no certificate",
                ca_file.display()
            )));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| invalid(error.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let server_name = ServerName::try_from(server_name.to_owned())
            .map_err(|error| invalid(format!("server name {server_name:?}: {error}")))?;
        Ok(Self {
            connector: TlsConnector::from(Arc::new(config)),
            server_name,
        })
    }

    /// Runs the TLS handshake on a connected socket.
    pub(crate) async fn connect(&self, socket: TcpStream) -> std::io::Result<TlsStream<TcpStream>> {
        self.connector
            .connect(self.server_name.clone(), socket)
            .await
    }
}

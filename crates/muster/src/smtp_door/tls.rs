//! STARTTLS for the door (RFC 3207): rustls on the ring provider, like every TLS in Muster,
//! with the certificate chain and key from PEM files named in the configuration.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// The acceptor for `cert_file` and `key_file`, or `None` when the door has no certificate.
pub fn acceptor(files: Option<(&Path, &Path)>) -> anyhow::Result<Option<TlsAcceptor>> {
    let Some((cert_file, key_file)) = files else {
        return Ok(None);
    };
    let chain = CertificateDer::pem_file_iter(cert_file)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow!("{e}"))
        .with_context(|| {
            format!(
                "reading inbound.smtp_tls_cert_file = {}",
                cert_file.display()
            )
        })?;
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| anyhow!("{e}"))
        .with_context(|| format!("reading inbound.smtp_tls_key_file = {}", key_file.display()))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .context("choosing the TLS versions")?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .context("inbound.smtp_tls_cert_file and inbound.smtp_tls_key_file do not make a certificate and its key")?;
    Ok(Some(TlsAcceptor::from(Arc::new(config))))
}

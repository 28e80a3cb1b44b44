//! Optional DKIM signing with a key from the configuration.

use lettre::message::dkim::{DkimConfig, DkimSigningAlgorithm, DkimSigningKey};

#[derive(Debug, thiserror::Error)]
pub enum DkimError {
    #[error("cannot read the DKIM key {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("the DKIM key {path} is neither an RSA PEM (PKCS#1) nor a base64 Ed25519 key")]
    Key { path: String },
}

/// Loads `key_file` (RSA `BEGIN RSA PRIVATE KEY` PEM, or a base64 Ed25519 seed).
pub fn load(key_file: &str, selector: &str, domain: &str) -> Result<DkimConfig, DkimError> {
    let text = std::fs::read_to_string(key_file).map_err(|e| DkimError::Read {
        path: key_file.to_owned(),
        reason: e.to_string(),
    })?;
    let algorithm = if text.contains("BEGIN RSA PRIVATE KEY") {
        DkimSigningAlgorithm::Rsa
    } else {
        DkimSigningAlgorithm::Ed25519
    };
    let key = DkimSigningKey::new(text.trim(), algorithm).map_err(|_| DkimError::Key {
        path: key_file.to_owned(),
    })?;
    Ok(DkimConfig::default_config(
        selector.to_owned(),
        domain.to_owned(),
        key,
    ))
}

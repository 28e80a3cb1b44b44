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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_with_an_ed25519_key_from_a_file() {
        let dir =
            std::env::temp_dir().join(format!("muster-dkim-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        let path = dir.join("dkim.key");
        // A base64 Ed25519 seed (32 bytes), as `openssl genpkey -algorithm ed25519` yields.
        std::fs::write(&path, "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let config = load(&path.display().to_string(), "muster", "example.com")
            .unwrap_or_else(|e| panic!("{e}"));
        let mut message = crate::OutgoingMessage {
            from: "crisis@example.com".into(),
            to: "kari@example.no".into(),
            reply_to: None,
            subject: "Update".into(),
            text: "Body".into(),
            html: None,
            message_id: "m1@example.com".into(),
            in_reply_to: None,
            references: Vec::new(),
            return_path: None,
            auto_submitted: false,
            list_unsubscribe: None,
        }
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
        message.sign(&config);
        let wire = String::from_utf8_lossy(&message.formatted()).into_owned();
        assert!(
            wire.contains("DKIM-Signature: v=1; a=ed25519-sha256; d=example.com; s=muster;"),
            "{wire}"
        );
        assert!(load("/nonexistent/key", "s", "d").is_err());
        let _ = std::fs::remove_dir_all(dir);
    }
}

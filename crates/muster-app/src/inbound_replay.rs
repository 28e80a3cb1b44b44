//! Each signed inbound request is taken once: a signature seen before within its window is a
//! replay (a captured request sent again), refused on every replica alike.

use muster_core::webhook_signature::Verified;

use crate::{App, AppResult};

impl App {
    /// True the first time `signature` is seen; false for a replay.
    pub async fn admit_inbound_signature(&self, signature: &Verified) -> AppResult<bool> {
        Ok(self
            .store
            .record_inbound_signature(
                &signature.mac_hex,
                signature.valid_until(),
                self.now().unix_timestamp(),
            )
            .await?)
    }

    /// The request `signature` admitted was not handled (an error answered it): the sender
    /// may send the very same request again.
    pub async fn release_inbound_signature(&self, signature: &Verified) -> AppResult<()> {
        Ok(self
            .store
            .forget_inbound_signature(&signature.mac_hex)
            .await?)
    }
}

//! Outbound webhook endpoints, for managers: register one (its signing secret is shown only
//! in the answer), switch it off and on, delete it.

use muster_core::problem::{FieldErrors, Problem};
use muster_core::webhook::{WebhookUrl, parse_events};
use muster_store::webhooks::CreatedWebhook;

use crate::{Actor, App, AppError, AppResult};

impl App {
    /// Registers `url` for `events`; each bad field has its problem.
    pub async fn create_webhook(
        &self,
        actor: &Actor,
        url: &str,
        events: &[String],
    ) -> AppResult<CreatedWebhook> {
        actor.require_manager()?;
        let url = WebhookUrl::parse(url);
        let events = parse_events(events.iter().map(String::as_str));
        let (url, events) = match (url, events) {
            (Ok(url), Ok(events)) => (url, events),
            (url, events) => {
                let mut errors = FieldErrors::new();
                if let Err(e) = url {
                    errors.insert("url".into(), Problem::said(e));
                }
                if let Err(e) = events {
                    errors.insert("events".into(), Problem::said(e));
                }
                return Err(AppError::Invalid(errors));
            }
        };
        Ok(self
            .store
            .create_webhook(&url, &events, &actor.label)
            .await?)
    }

    pub async fn set_webhook_active(&self, actor: &Actor, id: i64, active: bool) -> AppResult<()> {
        actor.require_manager()?;
        Ok(self
            .store
            .set_webhook_active(id, active, &actor.label)
            .await?)
    }

    pub async fn delete_webhook(&self, actor: &Actor, id: i64) -> AppResult<()> {
        actor.require_manager()?;
        Ok(self.store.delete_webhook(id, &actor.label).await?)
    }
}

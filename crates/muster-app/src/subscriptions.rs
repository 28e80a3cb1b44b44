//! Landing-page visitors signing up for email updates, with double opt-in (the address
//! joins the audience only once the emailed link is opened), and anyone on the audience
//! leaving it by their unsubscribe link.

use muster_core::contact_info::EmailAddress;
use muster_core::incident::Incident;
use muster_core::language::Lang;
use muster_mail::OutgoingMessage;
use muster_store::audience::Recipient;

use crate::{App, AppError, AppResult};

/// A pending sign-up's confirmation is emailed again at most this often.
pub const RESEND_AFTER: time::Duration = time::Duration::minutes(10);

impl App {
    /// Signs `email` up for `incident`'s updates in `lang` and emails the confirmation link.
    /// The outcome is the same whether the address was already in or its confirmation was
    /// just sent: no probing, and no flooding someone's inbox.
    pub async fn subscribe(
        &self,
        incident: &Incident,
        email: &EmailAddress,
        lang: &Lang,
    ) -> AppResult<()> {
        let token = self
            .store
            .subscribe(incident.id, email.as_str(), lang.as_str(), RESEND_AFTER)
            .await?;
        let Some(token) = token else {
            return Ok(());
        };
        if self
            .send_confirmation(incident, lang, email, &token)
            .await
            .is_err()
        {
            // Sent again on the next try rather than after the resend pause.
            self.store
                .confirmation_not_sent(incident.id, email.as_str())
                .await?;
            return Err(AppError::MailUnavailable);
        }
        Ok(())
    }

    async fn send_confirmation(
        &self,
        incident: &Incident,
        lang: &Lang,
        email: &EmailAddress,
        token: &str,
    ) -> Result<(), ()> {
        let Some(mail) = &self.settings.mail else {
            return Err(());
        };
        let t = |key: &str| crate::i18n::shared().text(lang, key);
        let base = &self.settings.base_url;
        let link = format!("{base}/i/{}/subscribe?confirm={token}", incident.slug);
        let title = incident.title.get(lang, &incident.default_language);
        let message = OutgoingMessage {
            from: mail.from.clone(),
            to: email.as_str().to_owned(),
            reply_to: None,
            subject: format!("{} – {title}", t("subscribe_mail_subject")),
            text: format!("{}\n\n{link}\n", t("subscribe_mail_body")),
            html: None,
            message_id: format!(
                "subscribe-{}@{}",
                uuid::Uuid::new_v4().simple(),
                self.settings.id_domain
            ),
            in_reply_to: None,
            references: Vec::new(),
            return_path: None,
            auto_submitted: false,
            list_unsubscribe: Some(format!("{base}/u/{token}")),
        };
        let built = message
            .build()
            .map_err(|e| tracing::warn!(error = %e, "confirmation not built"))?;
        mail.mailer
            .send(built)
            .await
            .map_err(|e| tracing::warn!(error = %e, "confirmation not sent"))
    }

    /// Opens an emailed confirmation link; false when it is unknown or already used.
    pub async fn confirm_subscription(&self, token: &str) -> AppResult<bool> {
        Ok(self.store.confirm_subscription(token).await?)
    }

    /// Who an unsubscribe link belongs to, if anyone.
    pub async fn unsubscribe_link(&self, token: &str) -> AppResult<Option<Recipient>> {
        Ok(self.store.recipient_by_token(token).await?)
    }

    /// Takes the link's owner off the audience (and every campaign's list) for good.
    pub async fn unsubscribe(&self, token: &str) -> AppResult<Option<Recipient>> {
        let Some(recipient) = self.store.recipient_by_token(token).await? else {
            return Ok(None);
        };
        self.store.unsubscribe(token).await?;
        tracing::info!(member = recipient.member_id, "unsubscribed");
        Ok(Some(recipient))
    }
}

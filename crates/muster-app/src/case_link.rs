//! A customer who lost the link to their case asks for it again with its reference and
//! their email address. The answer is the same whether or not they match, and comes as fast
//! either way: the link only ever goes to the address the case already has.

use muster_core::case_ref::CaseRef;
use muster_core::contact_info::EmailAddress;
use muster_core::language::Lang;
use muster_mail::OutgoingMessage;

use crate::{App, AppError, AppResult};

impl App {
    /// Emails a fresh link to case `reference` when `email` is its address; otherwise does
    /// nothing. Either way it returns at once (the lookup and the mail run on their own), so
    /// neither the answer nor its timing says whether the case exists.
    pub fn resend_case_link(
        &self,
        reference: CaseRef,
        email: EmailAddress,
        lang: Lang,
    ) -> AppResult<()> {
        if self.settings.mail.is_none() {
            return Err(AppError::MailUnavailable);
        }
        let app = self.clone();
        tokio::spawn(async move {
            if let Err(error) = app.send_case_link(&reference, &email, &lang).await {
                tracing::warn!(%error, "case link not sent");
            }
        });
        Ok(())
    }

    async fn send_case_link(
        &self,
        reference: &CaseRef,
        email: &EmailAddress,
        lang: &Lang,
    ) -> Result<(), String> {
        let Some(mail) = &self.settings.mail else {
            return Ok(());
        };
        let found = self
            .store
            .case_by_reference(reference)
            .await
            .map_err(|e| e.to_string())?;
        let Some(case) = found.filter(|c| {
            c.merged_into.is_none()
                && c.email
                    .as_deref()
                    .is_some_and(|own| own.eq_ignore_ascii_case(email.as_str()))
        }) else {
            return Ok(());
        };
        let incident = self
            .store
            .incident_by_id(case.incident_id)
            .await
            .map_err(|e| e.to_string())?;
        let lang = incident.pick_language(Some(lang));
        let token = self
            .store
            .issue_case_token(case.id)
            .await
            .map_err(|e| e.to_string())?;
        let t = |key: &str| crate::i18n::shared().text(&lang, key);
        let base = &self.settings.base_url;
        let link = format!("{base}/c/{}?t={token}&lang={lang}", case.reference);
        let title = incident.title.get(&lang, &incident.default_language);
        let message = OutgoingMessage {
            from: mail.from.clone(),
            to: email.as_str().to_owned(),
            reply_to: None,
            subject: format!("{} ({}) – {title}", t("case_link_subject"), case.reference),
            text: format!("{}\n\n{link}\n", t("case_link_body")),
            html: None,
            message_id: format!(
                "case-link-{}@{}",
                uuid::Uuid::new_v4().simple(),
                self.settings.id_domain
            ),
            in_reply_to: None,
            references: Vec::new(),
            return_path: None,
            auto_submitted: true,
            list_unsubscribe: None,
        };
        let built = message.build().map_err(|e| e.to_string())?;
        mail.mailer.send(built).await.map_err(|e| e.to_string())?;
        tracing::info!(case = case.id, "case link sent again");
        Ok(())
    }
}

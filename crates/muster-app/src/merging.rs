//! Merging duplicates: the case a merge would go into (checked before the agent confirms),
//! the merge itself (the merged-away customer told, in their language, where their request
//! now lives), and its undo within [`UNDO_WINDOW`].

use muster_core::case::Case;
use muster_core::case_ref::CaseRef;
use muster_core::incident::Incident;
use muster_core::language::Lang;
use muster_core::problem::Problem;
use muster_mail::OutgoingMessage;
use muster_store::merges::{Merged, UndoableMerge};

use crate::live::CaseChange;
use crate::{Actor, App, AppError, AppResult};

/// How long a merge can be undone.
pub const UNDO_WINDOW: time::Duration = time::Duration::minutes(10);

impl App {
    /// The case `into` names, if `case` may be merged into it: it exists, is another case
    /// of the same incident, and was not itself merged away.
    pub async fn merge_target(&self, case: &Case, into: &str) -> AppResult<Case> {
        let refused = |key| AppError::field("into", Problem::of(key));
        let reference = CaseRef::parse(into.trim()).map_err(|_| refused("err_no_such_case"))?;
        let target = self
            .store
            .case_by_reference(&reference)
            .await?
            .filter(|t| t.merged_into.is_none())
            .ok_or_else(|| refused("err_no_such_case"))?;
        if target.id == case.id {
            return Err(refused("err_merge_itself"));
        }
        if target.incident_id != case.incident_id {
            return Err(refused("err_merge_other_incident"));
        }
        Ok(target)
    }

    /// Folds `case` into the case `into`; returns the case that remains and the merge's id.
    pub async fn merge_cases(
        &self,
        actor: &Actor,
        case: &Case,
        incident: &Incident,
        into: &str,
    ) -> AppResult<Merged> {
        let target = self.merge_target(case, into).await?;
        let thread = self.thread_headers(case, &target, incident).await?;
        let from = &self.settings.mail_from;
        let domain = &self.settings.id_domain;
        let merged = self
            .store
            .merge_cases(
                case.id,
                target.id,
                &actor.label,
                Some(actor.agent_id()?),
                self.now(),
                |merged| {
                    let email = merged.email.clone()?;
                    let lang = incident.pick_language(Lang::parse(&merged.language).ok().as_ref());
                    let text = crate::i18n::shared()
                        .text(&lang, "merged_notice")
                        .replace("{reference}", merged.reference.as_str())
                        .replace("{old}", case.reference.as_str());
                    let message = OutgoingMessage {
                        from: from.clone(),
                        to: email,
                        reply_to: None,
                        subject: thread.subject,
                        text,
                        html: None,
                        message_id: format!(
                            "merge.{}.{}@{domain}",
                            case.reference, merged.reference
                        ),
                        in_reply_to: thread.in_reply_to,
                        references: thread.references,
                        return_path: None,
                        auto_submitted: true,
                        list_unsubscribe: None,
                    };
                    crate::mail_job::queued("merge", &message)
                },
            )
            .await?;
        for changed in [case, &merged.case] {
            self.live().announce(
                changed.incident_id,
                changed.reference.as_str(),
                CaseChange::Changed,
            );
        }
        Ok(merged)
    }

    /// Merges into `case` that can still be undone.
    pub async fn undoable_merges(&self, case: &Case) -> AppResult<Vec<UndoableMerge>> {
        Ok(self
            .store
            .undoable_merges(case.id, self.now() - UNDO_WINDOW)
            .await?)
    }

    /// Undoes merge `merge_id`; returns the remaining case and the restored one. After its
    /// window, or a second time, it is refused (`undo`).
    pub async fn undo_merge(&self, actor: &Actor, merge_id: i64) -> AppResult<(Case, Case)> {
        actor.agent_id()?;
        let now = self.now();
        let (remaining, restored) = self
            .store
            .undo_merge(merge_id, &actor.label, now - UNDO_WINDOW, now)
            .await?
            .ok_or_else(|| AppError::field("undo", Problem::of("err_merge_expired")))?;
        for changed in [&remaining, &restored] {
            self.live().announce(
                changed.incident_id,
                changed.reference.as_str(),
                CaseChange::Changed,
            );
        }
        Ok((remaining, restored))
    }
}

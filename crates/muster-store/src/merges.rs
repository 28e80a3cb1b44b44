//! Merging a duplicate case into the one that remains, and undoing it. A merge moves every
//! contact and customer token of the merged-away case, resolves it with a pointer to the
//! remaining case, writes "merged from" on the remaining case's timeline, and records what
//! it moved, so that an undo within its window puts exactly those back (contacts that
//! arrived on the remaining case since stay there).

use muster_core::case::{Case, CaseStatus, Direction};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionTrait,
};
use time::OffsetDateTime;

use crate::Store;
use crate::audit::record_on;
use crate::cases::{MailJob, enqueue, to_case};
use crate::entity::{case, case_merge, case_token, contact};
use crate::error::{StoreError, StoreResult};

/// The channel of the "merged from" entry on a timeline.
pub const MERGE_CHANNEL: &str = "merge";

/// A merge that remains, and its id for an undo.
#[derive(Debug, Clone)]
pub struct Merged {
    pub case: Case,
    pub merge_id: i64,
}

/// A merge into a case that can still be undone.
#[derive(Debug, Clone)]
pub struct UndoableMerge {
    pub id: i64,
    pub source_reference: String,
    pub merged_at: OffsetDateTime,
}

fn ids(json: &str) -> StoreResult<Vec<i64>> {
    serde_json::from_str(json).map_err(|_| crate::convert::corrupt("merge ids", json))
}

impl Store {
    async fn case_row(&self, id: i64) -> StoreResult<case::Model> {
        case::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(StoreError::NotFound("case"))
    }

    /// Merges `source` into `target`; the customer is told once (`notice`, given the
    /// remaining case).
    pub async fn merge_cases(
        &self,
        source_id: i64,
        target_id: i64,
        actor: &str,
        author_id: Option<i64>,
        now: OffsetDateTime,
        notice: impl FnOnce(&Case) -> Option<MailJob>,
    ) -> StoreResult<Merged> {
        if source_id == target_id {
            return Err(StoreError::Conflict(
                "a case cannot be merged into itself".into(),
            ));
        }
        let tx = self.db.begin().await?;
        let source = case::Entity::find_by_id(source_id)
            .one(&tx)
            .await?
            .ok_or(StoreError::NotFound("case"))?;
        let target = case::Entity::find_by_id(target_id)
            .one(&tx)
            .await?
            .ok_or(StoreError::NotFound("case"))?;
        if source.incident_id != target.incident_id {
            return Err(StoreError::Conflict(
                "cases of different incidents cannot be merged".into(),
            ));
        }
        if source.merged_into.is_some() {
            return Err(StoreError::Conflict("the case is already merged".into()));
        }
        let moved_contacts: Vec<i64> = contact::Entity::find()
            .select_only()
            .column(contact::Column::Id)
            .filter(contact::Column::CaseId.eq(source_id))
            .into_tuple()
            .all(&tx)
            .await?;
        let moved_tokens: Vec<i64> = case_token::Entity::find()
            .select_only()
            .column(case_token::Column::Id)
            .filter(case_token::Column::CaseId.eq(source_id))
            .into_tuple()
            .all(&tx)
            .await?;
        contact::Entity::update_many()
            .col_expr(contact::Column::CaseId, Expr::value(target_id))
            .filter(contact::Column::CaseId.eq(source_id))
            .exec(&tx)
            .await?;
        case_token::Entity::update_many()
            .col_expr(case_token::Column::CaseId, Expr::value(target_id))
            .filter(case_token::Column::CaseId.eq(source_id))
            .exec(&tx)
            .await?;
        case::Entity::update_many()
            .col_expr(
                case::Column::ContactCount,
                Expr::col(case::Column::ContactCount).add(source.contact_count),
            )
            .col_expr(case::Column::UpdatedAt, Expr::value(now))
            .filter(case::Column::Id.eq(target_id))
            .exec(&tx)
            .await?;
        case::Entity::update_many()
            .col_expr(
                case::Column::Status,
                Expr::value(CaseStatus::Resolved.as_str()),
            )
            .col_expr(case::Column::ResolvedAt, Expr::value(now))
            .col_expr(
                case::Column::MergedInto,
                Expr::value(target.reference.clone()),
            )
            .col_expr(case::Column::ContactCount, Expr::value(0))
            .col_expr(case::Column::ClaimedBy, Expr::value(Option::<i64>::None))
            .col_expr(case::Column::UpdatedAt, Expr::value(now))
            .filter(case::Column::Id.eq(source_id))
            .exec(&tx)
            .await?;
        let marker = contact::ActiveModel {
            case_id: Set(target_id),
            direction: Set(Direction::Note.as_str().to_owned()),
            channel: Set(MERGE_CHANNEL.to_owned()),
            external_id: Set(None),
            author_id: Set(author_id),
            body: Set(format!("Merged from {}", source.reference)),
            meta: Set(serde_json::json!({ "merged_from": source.reference })),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&tx)
        .await?;
        let record = case_merge::ActiveModel {
            source_id: Set(source_id),
            target_id: Set(target_id),
            moved_contacts: Set(serde_json::json!(moved_contacts).to_string()),
            moved_tokens: Set(serde_json::json!(moved_tokens).to_string()),
            marker_contact_id: Set(marker.id),
            source_status: Set(source.status.clone()),
            source_resolved_at: Set(source.resolved_at),
            source_contact_count: Set(source.contact_count),
            source_claimed_by: Set(source.claimed_by),
            actor: Set(actor.to_owned()),
            merged_at: Set(now),
            undone_at: Set(None),
            ..Default::default()
        }
        .insert(&tx)
        .await?;
        let merged = to_case(
            case::Entity::find_by_id(target_id)
                .one(&tx)
                .await?
                .ok_or(StoreError::NotFound("case"))?,
        )?;
        if let Some(job) = notice(&merged) {
            enqueue(&tx, target_id, job).await?;
        }
        record_on(
            &tx,
            actor,
            "case.merge",
            &target.reference,
            serde_json::json!({ "merged": source.reference, "into": target.reference, "merge_id": record.id }),
        )
        .await?;
        tx.commit().await?;
        Ok(Merged {
            case: merged,
            merge_id: record.id,
        })
    }

    /// Merges into `target_id` made since `since` and not undone, newest first.
    pub async fn undoable_merges(
        &self,
        target_id: i64,
        since: OffsetDateTime,
    ) -> StoreResult<Vec<UndoableMerge>> {
        let merges = case_merge::Entity::find()
            .filter(case_merge::Column::TargetId.eq(target_id))
            .filter(case_merge::Column::MergedAt.gt(since))
            .filter(case_merge::Column::UndoneAt.is_null())
            .order_by_desc(case_merge::Column::MergedAt)
            .all(&self.db)
            .await?;
        let mut out = Vec::with_capacity(merges.len());
        for merge in merges {
            out.push(UndoableMerge {
                id: merge.id,
                source_reference: self.case_row(merge.source_id).await?.reference,
                merged_at: merge.merged_at,
            });
        }
        Ok(out)
    }

    /// Undoes merge `merge_id` if it was made after `since` and is not undone yet: the
    /// moved contacts and tokens go back, the merged-away case stands as it did, and the
    /// "merged from" entry goes. Returns both cases as they are now (remaining, restored);
    /// `None` when the merge is too old or already undone.
    pub async fn undo_merge(
        &self,
        merge_id: i64,
        actor: &str,
        since: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<Option<(Case, Case)>> {
        let tx = self.db.begin().await?;
        // Claiming the undo first makes two undos at once undo it once.
        let claimed = case_merge::Entity::update_many()
            .col_expr(case_merge::Column::UndoneAt, Expr::value(now))
            .filter(case_merge::Column::Id.eq(merge_id))
            .filter(case_merge::Column::UndoneAt.is_null())
            .filter(case_merge::Column::MergedAt.gt(since))
            .exec(&tx)
            .await?;
        if claimed.rows_affected == 0 {
            return Ok(None);
        }
        let merge = case_merge::Entity::find_by_id(merge_id)
            .one(&tx)
            .await?
            .ok_or(StoreError::NotFound("merge"))?;
        let contacts = ids(&merge.moved_contacts)?;
        let tokens = ids(&merge.moved_tokens)?;
        contact::Entity::update_many()
            .col_expr(contact::Column::CaseId, Expr::value(merge.source_id))
            .filter(contact::Column::Id.is_in(contacts))
            .filter(contact::Column::CaseId.eq(merge.target_id))
            .exec(&tx)
            .await?;
        case_token::Entity::update_many()
            .col_expr(case_token::Column::CaseId, Expr::value(merge.source_id))
            .filter(case_token::Column::Id.is_in(tokens))
            .exec(&tx)
            .await?;
        contact::Entity::delete_by_id(merge.marker_contact_id)
            .exec(&tx)
            .await?;
        case::Entity::update_many()
            .col_expr(
                case::Column::Status,
                Expr::value(merge.source_status.clone()),
            )
            .col_expr(
                case::Column::ResolvedAt,
                Expr::value(merge.source_resolved_at),
            )
            .col_expr(
                case::Column::MergedInto,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                case::Column::ContactCount,
                Expr::value(merge.source_contact_count),
            )
            .col_expr(case::Column::UpdatedAt, Expr::value(now))
            .filter(case::Column::Id.eq(merge.source_id))
            .exec(&tx)
            .await?;
        case::Entity::update_many()
            .col_expr(
                case::Column::ContactCount,
                Expr::col(case::Column::ContactCount).sub(merge.source_contact_count),
            )
            .col_expr(case::Column::UpdatedAt, Expr::value(now))
            .filter(case::Column::Id.eq(merge.target_id))
            .exec(&tx)
            .await?;
        let load = |id| case::Entity::find_by_id(id).one(&tx);
        let target = to_case(
            load(merge.target_id)
                .await?
                .ok_or(StoreError::NotFound("case"))?,
        )?;
        let source = to_case(
            load(merge.source_id)
                .await?
                .ok_or(StoreError::NotFound("case"))?,
        )?;
        record_on(
            &tx,
            actor,
            "case.unmerge",
            target.reference.as_str(),
            serde_json::json!({ "restored": source.reference.as_str(), "merge_id": merge_id }),
        )
        .await?;
        tx.commit().await?;
        Ok(Some((target, source)))
    }
}

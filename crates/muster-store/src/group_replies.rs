//! One reply to every case of a group, through an outbox. Drafted, it is held (and may be
//! undone); once due, one transaction moves it to sending and writes one pending target
//! per case then in the group. Workers claim targets under a lease, as the campaign
//! dispatcher claims deliveries; each batch of answers is one transaction in which every
//! target is marked done only if still pending and held by that worker, together with
//! the case's outbound contact, its mail, its status and its audit entry. A worker that
//! dies leaves leases that expire and are claimed again; an answer is never written twice.

use std::collections::BTreeMap;

use muster_core::case::{Case, CaseStatus, Direction};
use muster_core::group::{ReplyProgress, ReplyStatus, SkipReason, TargetStatus};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    FromQueryResult, QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait, Value,
};
use time::{Duration, OffsetDateTime};

use crate::Store;
use crate::audit::record_on;
use crate::cases::{MailJob, TokenScope, enqueue, to_case, token_row};
use crate::convert::{corrupt, from_json, now, to_json};
use crate::entity::{case, contact, group_reply, group_reply_target};
use crate::error::{StoreError, StoreResult};
use crate::groups::{GroupScope, group_condition};
use crate::raw_sql::statement;

/// A group reply as written.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GroupReply {
    pub id: i64,
    pub group_id: i64,
    /// The text per language code.
    pub bodies: BTreeMap<String, String>,
    pub then_status: Option<CaseStatus>,
    pub status: ReplyStatus,
    pub author_id: i64,
    pub author: String,
    pub drafted_at: OffsetDateTime,
    pub send_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
}

/// What an agent asks for.
#[derive(Debug, Clone)]
pub struct NewGroupReply {
    pub group_id: i64,
    pub bodies: BTreeMap<String, String>,
    pub then_status: Option<CaseStatus>,
    pub author_id: i64,
    pub author: String,
    pub hold: Duration,
}

/// One case of a sending reply, claimed by a worker.
#[derive(Debug, Clone)]
pub struct ClaimedTarget {
    pub target_id: i64,
    pub reply_id: i64,
    pub case: Case,
}

/// How a claimed target is answered, as the application rendered it.
#[derive(Debug, Clone)]
pub enum TargetAnswer {
    /// The reply on the case's own channel: `body` on its timeline as an outbound contact
    /// on `channel`, `mail` queued when the channel is email, `token_hash` for the case link.
    Reply {
        body: String,
        channel: String,
        mail: Option<MailJob>,
        token_hash: String,
    },
    Skip(SkipReason),
}

/// A case that the reply left out, and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SkippedCase {
    pub reference: String,
    pub customer_name: String,
    pub reason: SkipReason,
}

fn to_reply(m: group_reply::Model) -> StoreResult<GroupReply> {
    Ok(GroupReply {
        id: m.id,
        group_id: m.group_id,
        bodies: from_json(m.bodies, "group reply bodies")?,
        then_status: m
            .then_status
            .as_deref()
            .map(|s| CaseStatus::parse(s).ok_or_else(|| corrupt("group reply status", s)))
            .transpose()?,
        status: ReplyStatus::parse(&m.status)
            .ok_or_else(|| corrupt("group reply status", &m.status))?,
        author_id: m.author_id,
        author: m.author,
        drafted_at: m.drafted_at,
        send_at: m.send_at,
        finished_at: m.finished_at,
    })
}

/// Whether an agent's answer reached the case after `since` (a colleague answered it).
async fn answered_since(
    tx: &DatabaseTransaction,
    case_id: i64,
    since: OffsetDateTime,
) -> StoreResult<bool> {
    // Walks idx_contacts_case (case_id, created_at).
    Ok(contact::Entity::find()
        .select_only()
        .column(contact::Column::Id)
        .filter(contact::Column::CaseId.eq(case_id))
        .filter(contact::Column::CreatedAt.gt(since))
        .filter(contact::Column::Direction.eq(Direction::Outbound.as_str()))
        .into_tuple::<i64>()
        .one(tx)
        .await?
        .is_some())
}

impl Store {
    /// Writes a reply held until `hold` from now, audited.
    pub async fn draft_group_reply(
        &self,
        new: NewGroupReply,
        actor: &str,
    ) -> StoreResult<GroupReply> {
        let drafted = now();
        let tx = self.db.begin().await?;
        let saved = group_reply::ActiveModel {
            group_id: Set(new.group_id),
            bodies: Set(to_json(&new.bodies)),
            then_status: Set(new.then_status.map(|s| s.as_str().to_owned())),
            status: Set(ReplyStatus::Held.as_str().to_owned()),
            author_id: Set(new.author_id),
            author: Set(new.author.clone()),
            drafted_at: Set(drafted),
            send_at: Set(drafted + new.hold),
            started_at: Set(None),
            finished_at: Set(None),
            ..Default::default()
        }
        .insert(&tx)
        .await?;
        record_on(
            &tx,
            actor,
            "group.reply.draft",
            &format!("group:{}", new.group_id),
            serde_json::json!({ "reply_id": saved.id, "languages": new.bodies.keys().collect::<Vec<_>>() }),
        )
        .await?;
        tx.commit().await?;
        to_reply(saved)
    }

    pub async fn group_reply(&self, id: i64) -> StoreResult<GroupReply> {
        to_reply(
            group_reply::Entity::find_by_id(id)
                .one(&self.db)
                .await?
                .ok_or(StoreError::NotFound("group reply"))?,
        )
    }

    /// The group's replies, newest first.
    pub async fn group_replies_of(&self, group_id: i64) -> StoreResult<Vec<GroupReply>> {
        group_reply::Entity::find()
            .filter(group_reply::Column::GroupId.eq(group_id))
            .order_by_desc(group_reply::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(to_reply)
            .collect()
    }

    /// Undoes a held reply; a conflict once it has started.
    pub async fn undo_group_reply(&self, id: i64, actor: &str) -> StoreResult<GroupReply> {
        let tx = self.db.begin().await?;
        let changed = group_reply::Entity::update_many()
            .col_expr(
                group_reply::Column::Status,
                Expr::value(ReplyStatus::Cancelled.as_str()),
            )
            .col_expr(group_reply::Column::FinishedAt, Expr::value(Some(now())))
            .filter(group_reply::Column::Id.eq(id))
            .filter(group_reply::Column::Status.eq(ReplyStatus::Held.as_str()))
            .exec(&tx)
            .await?;
        if changed.rows_affected == 0 {
            drop(tx);
            let current = self.group_reply(id).await?;
            return Err(StoreError::Conflict(format!(
                "group reply {id} is {}",
                current.status.as_str()
            )));
        }
        record_on(
            &tx,
            actor,
            "group.reply.undo",
            &format!("group_reply:{id}"),
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        self.group_reply(id).await
    }

    /// Held replies whose hold is over, with their group's id.
    pub async fn due_group_replies(&self) -> StoreResult<Vec<GroupReply>> {
        group_reply::Entity::find()
            .filter(group_reply::Column::Status.eq(ReplyStatus::Held.as_str()))
            .filter(group_reply::Column::SendAt.lte(now()))
            .all(&self.db)
            .await?
            .into_iter()
            .map(to_reply)
            .collect()
    }

    /// Starts a due reply: held → sending and one pending target per case in `scope`, in one
    /// transaction. Safe on every replica: only the one whose status change wins writes
    /// targets. Returns how many, or `None` when another replica (or an undo) came first.
    pub async fn start_group_reply(&self, id: i64, scope: &GroupScope) -> StoreResult<Option<u64>> {
        let at = now();
        let tx = self.db.begin().await?;
        let taken = group_reply::Entity::update_many()
            .col_expr(
                group_reply::Column::Status,
                Expr::value(ReplyStatus::Sending.as_str()),
            )
            .col_expr(group_reply::Column::StartedAt, Expr::value(Some(at)))
            .filter(group_reply::Column::Id.eq(id))
            .filter(group_reply::Column::Status.eq(ReplyStatus::Held.as_str()))
            .exec(&tx)
            .await?;
        if taken.rows_affected == 0 {
            return Ok(None);
        }
        let (condition, condition_values) = group_condition(scope);
        let mut values: Vec<Value> = vec![id.into(), at.into()];
        values.extend(condition_values);
        let sql = format!(
            "INSERT INTO group_reply_targets (reply_id, case_id, status, next_attempt_at) \
             SELECT ?, id, '{}', ? FROM cases WHERE {condition} ORDER BY id",
            TargetStatus::Pending.as_str()
        );
        let written = tx
            .execute_raw(statement(self.backend(), &sql, values))
            .await?
            .rows_affected();
        record_on(
            &tx,
            "group-replies",
            "group.reply.start",
            &format!("group_reply:{id}"),
            serde_json::json!({ "cases": written }),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(written))
    }

    /// Claims up to `limit` due targets for `worker` until `lease` from now (SKIP LOCKED on
    /// PostgreSQL; SQLite's single writer serialises claims), with their cases.
    pub async fn claim_group_targets(
        &self,
        worker: &str,
        limit: u64,
        lease: Duration,
    ) -> StoreResult<Vec<ClaimedTarget>> {
        let at = now();
        let until = at + lease;
        let pending = TargetStatus::Pending.as_str();
        // Walks idx_group_reply_targets_due in order; due again when the lease runs out.
        let sql = format!(
            "UPDATE group_reply_targets SET claimed_by = ?, lease_until = ?, next_attempt_at = ? \
             WHERE id IN (SELECT id FROM group_reply_targets \
               WHERE status = '{pending}' AND next_attempt_at <= ? \
               ORDER BY next_attempt_at, id LIMIT ? {{skip_locked}}) \
             RETURNING id, reply_id, case_id"
        );
        let values: Vec<Value> = vec![
            worker.into(),
            until.into(),
            until.into(),
            at.into(),
            i64::try_from(limit).unwrap_or(100).into(),
        ];
        let tx = self.db.begin().await?;
        let rows = tx
            .query_all_raw(statement(self.backend(), &sql, values))
            .await?;
        #[derive(FromQueryResult)]
        struct Claimed {
            id: i64,
            reply_id: i64,
            case_id: i64,
        }
        let claimed = rows
            .iter()
            .map(|row| Claimed::from_query_result(row, ""))
            .collect::<Result<Vec<_>, _>>()?;
        let mut cases = std::collections::HashMap::new();
        for chunk in claimed.chunks(500) {
            for m in case::Entity::find()
                .filter(case::Column::Id.is_in(chunk.iter().map(|c| c.case_id)))
                .all(&tx)
                .await?
            {
                cases.insert(m.id, to_case(m)?);
            }
        }
        tx.commit().await?;
        let mut out: Vec<ClaimedTarget> = claimed
            .into_iter()
            .filter_map(|c| {
                Some(ClaimedTarget {
                    case: cases.remove(&c.case_id)?,
                    target_id: c.id,
                    reply_id: c.reply_id,
                })
            })
            .collect();
        out.sort_by_key(|t| t.target_id);
        Ok(out)
    }

    /// Writes a batch of answers in one transaction. A target no longer pending or no
    /// longer held by `worker` (its lease ran out and another worker took it) is left
    /// alone; a case answered since the reply was drafted, or resolved, is skipped.
    /// Returns how many were answered.
    pub async fn answer_group_targets(
        &self,
        worker: &str,
        answers: Vec<(ClaimedTarget, TargetAnswer)>,
    ) -> StoreResult<u64> {
        let mut replies: BTreeMap<i64, GroupReply> = BTreeMap::new();
        for (target, _) in &answers {
            if let std::collections::btree_map::Entry::Vacant(slot) = replies.entry(target.reply_id)
            {
                slot.insert(self.group_reply(target.reply_id).await?);
            }
        }
        let tx = self.db.begin().await?;
        let mut answered = 0;
        for (target, answer) in answers {
            let Some(reply) = replies.get(&target.reply_id) else {
                continue;
            };
            let at = now();
            let current = case::Entity::find_by_id(target.case.id).one(&tx).await?;
            let answer = match current {
                None => TargetAnswer::Skip(SkipReason::Resolved),
                Some(m) if m.status == CaseStatus::Resolved.as_str() => {
                    TargetAnswer::Skip(SkipReason::Resolved)
                }
                Some(_) if answered_since(&tx, target.case.id, reply.drafted_at).await? => {
                    TargetAnswer::Skip(SkipReason::AnsweredSince)
                }
                Some(_) => answer,
            };
            let (status, reason) = match &answer {
                TargetAnswer::Reply { .. } => (TargetStatus::Replied, None),
                TargetAnswer::Skip(reason) => (TargetStatus::Skipped, Some(reason.as_str())),
            };
            let mine = group_reply_target::Entity::update_many()
                .col_expr(
                    group_reply_target::Column::Status,
                    Expr::value(status.as_str()),
                )
                .col_expr(group_reply_target::Column::Reason, Expr::value(reason))
                .col_expr(group_reply_target::Column::DoneAt, Expr::value(Some(at)))
                .col_expr(
                    group_reply_target::Column::LeaseUntil,
                    Expr::value(Option::<OffsetDateTime>::None),
                )
                .filter(group_reply_target::Column::Id.eq(target.target_id))
                .filter(group_reply_target::Column::Status.eq(TargetStatus::Pending.as_str()))
                .filter(group_reply_target::Column::ClaimedBy.eq(worker))
                .exec(&tx)
                .await?;
            if mine.rows_affected == 0 {
                continue;
            }
            let TargetAnswer::Reply {
                body,
                channel,
                mail,
                token_hash,
            } = answer
            else {
                continue;
            };
            answer_case(
                &tx,
                reply,
                &target.case,
                body,
                channel,
                mail,
                token_hash,
                at,
            )
            .await?;
            answered += 1;
        }
        tx.commit().await?;
        Ok(answered)
    }

    /// Marks sending replies with no target left pending as done; returns their ids.
    pub async fn finish_group_replies(&self) -> StoreResult<Vec<i64>> {
        let sending = group_reply::Entity::find()
            .filter(group_reply::Column::Status.eq(ReplyStatus::Sending.as_str()))
            .all(&self.db)
            .await?;
        let mut done = Vec::new();
        for reply in sending {
            let left = group_reply_target::Entity::find()
                .select_only()
                .column(group_reply_target::Column::Id)
                .filter(group_reply_target::Column::ReplyId.eq(reply.id))
                .filter(group_reply_target::Column::Status.eq(TargetStatus::Pending.as_str()))
                .into_tuple::<i64>()
                .one(&self.db)
                .await?;
            if left.is_some() {
                continue;
            }
            let changed = group_reply::Entity::update_many()
                .col_expr(
                    group_reply::Column::Status,
                    Expr::value(ReplyStatus::Done.as_str()),
                )
                .col_expr(group_reply::Column::FinishedAt, Expr::value(Some(now())))
                .filter(group_reply::Column::Id.eq(reply.id))
                .filter(group_reply::Column::Status.eq(ReplyStatus::Sending.as_str()))
                .exec(&self.db)
                .await?;
            if changed.rows_affected == 1 {
                done.push(reply.id);
            }
        }
        Ok(done)
    }

    /// How far a reply has come: its targets counted by state.
    pub async fn group_reply_progress(&self, id: i64) -> StoreResult<ReplyProgress> {
        let counts: Vec<(String, i64)> = group_reply_target::Entity::find()
            .select_only()
            .column(group_reply_target::Column::Status)
            .column_as(group_reply_target::Column::Id.count(), "n")
            .filter(group_reply_target::Column::ReplyId.eq(id))
            .group_by(group_reply_target::Column::Status)
            .into_tuple()
            .all(&self.db)
            .await?;
        let mut progress = ReplyProgress::default();
        for (status, n) in counts {
            let n = u64::try_from(n).unwrap_or(0);
            progress.total += n;
            if status == TargetStatus::Replied.as_str() {
                progress.replied += n;
            } else if status == TargetStatus::Skipped.as_str() {
                progress.skipped += n;
            } else {
                progress.pending += n;
            }
        }
        Ok(progress)
    }

    /// The cases a reply skipped, first first, with the reason.
    pub async fn group_reply_skips(&self, id: i64, limit: u64) -> StoreResult<Vec<SkippedCase>> {
        let skipped = group_reply_target::Entity::find()
            .filter(group_reply_target::Column::ReplyId.eq(id))
            .filter(group_reply_target::Column::Status.eq(TargetStatus::Skipped.as_str()))
            .order_by_asc(group_reply_target::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?;
        let cases: std::collections::HashMap<i64, case::Model> = case::Entity::find()
            .filter(case::Column::Id.is_in(skipped.iter().map(|t| t.case_id)))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| (m.id, m))
            .collect();
        Ok(skipped
            .into_iter()
            .filter_map(|t| {
                let case = cases.get(&t.case_id)?;
                Some(SkippedCase {
                    reference: case.reference.clone(),
                    customer_name: case.customer_name.clone(),
                    reason: t.reason.as_deref().and_then(SkipReason::parse)?,
                })
            })
            .collect())
    }
}

/// The reply on one case: its outbound contact, the link's token, the mail, the first
/// response, the status to set after, and the audit entry.
#[allow(clippy::too_many_arguments)]
async fn answer_case(
    tx: &DatabaseTransaction,
    reply: &GroupReply,
    case: &Case,
    body: String,
    channel: String,
    mail: Option<MailJob>,
    token_hash: String,
    at: OffsetDateTime,
) -> StoreResult<()> {
    let saved = contact::ActiveModel {
        case_id: Set(case.id),
        direction: Set(Direction::Outbound.as_str().to_owned()),
        channel: Set(channel),
        external_id: Set(None),
        author_id: Set(Some(reply.author_id)),
        body: Set(body),
        meta: Set(serde_json::json!({ "group_reply": reply.id })),
        created_at: Set(at),
        ..Default::default()
    }
    .insert(tx)
    .await?;
    token_row(case.id, token_hash, TokenScope::Full, at)
        .insert(tx)
        .await?;
    if let Some(job) = mail {
        enqueue(tx, case.id, job).await?;
    }
    let mut update = case::Entity::update_many()
        .col_expr(case::Column::UpdatedAt, Expr::value(at))
        .filter(case::Column::Id.eq(case.id));
    if case.first_response_at.is_none() {
        update = update.col_expr(case::Column::FirstResponseAt, Expr::value(Some(at)));
    }
    if let Some(status) = reply.then_status {
        update = update.col_expr(case::Column::Status, Expr::value(status.as_str()));
        if status != CaseStatus::Open {
            update = update
                .col_expr(case::Column::ClaimedBy, Expr::value(Option::<i64>::None))
                .col_expr(
                    case::Column::LeaseUntil,
                    Expr::value(Option::<OffsetDateTime>::None),
                );
        }
        if status == CaseStatus::Resolved {
            update = update.col_expr(case::Column::ResolvedAt, Expr::value(Some(at)));
        }
    }
    update.exec(tx).await?;
    record_on(
        tx,
        &reply.author,
        "case.group_reply",
        case.reference.as_str(),
        serde_json::json!({
            "contact_id": saved.id,
            "group_reply": reply.id,
            "status": reply.then_status.map(CaseStatus::as_str),
        }),
    )
    .await?;
    Ok(())
}

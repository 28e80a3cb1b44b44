//! Incidents and their public content: updates, policies and channels.
//! Every change bumps `content_version` (so every replica re-renders) and is audited.

use muster_core::incident::{
    Channel, ChannelKind, Incident, IncidentSettings, IncidentStatus, Policy, PolicyKind, Severity,
    Update,
};
use muster_core::language::Lang;
use muster_core::localized::Localized;
use muster_core::slug::Slug;
use muster_core::wait::WaitRange;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::Store;
use crate::audit::record_on;
use crate::convert::{corrupt, from_json, now, to_json};
use crate::entity::{channel, incident, incident_update, policy};
use crate::error::{StoreError, StoreResult};
use crate::webhooks::emit_event_on;

/// How many updates a page carries; older ones stay in the database and the feed's archive.
const UPDATES_SHOWN: u64 = 100;

/// What a manager fills in to open an incident (or prepare a dark site).
#[derive(Debug, Clone)]
pub struct IncidentDraft {
    pub slug: Slug,
    pub status: IncidentStatus,
    pub severity: Severity,
    pub time_zone: String,
    pub default_language: Lang,
    pub languages: Vec<Lang>,
    pub title: Localized,
    pub summary: Localized,
    pub letter: Localized,
    pub letter_signature: String,
    pub contact_guidance: Localized,
    pub settings: IncidentSettings,
}

/// A change to an incident's own fields; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct IncidentEdit {
    pub status: Option<IncidentStatus>,
    pub severity: Option<Severity>,
    pub time_zone: Option<String>,
    pub languages: Option<Vec<Lang>>,
    pub title: Option<Localized>,
    pub summary: Option<Localized>,
    pub letter: Option<Localized>,
    pub letter_signature: Option<String>,
    pub contact_guidance: Option<Localized>,
    pub settings: Option<IncidentSettings>,
}

#[derive(Debug, Clone)]
pub struct PolicyInput {
    pub kind: PolicyKind,
    pub title: Localized,
    pub body: Localized,
    pub standard: Localized,
}

#[derive(Debug, Clone)]
pub struct ChannelInput {
    pub kind: ChannelKind,
    pub label: Localized,
    pub address: String,
    pub posted_wait: Option<WaitRange>,
    pub posted_wait_overrides: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct IncidentSummary {
    pub slug: String,
    pub title: Localized,
    pub status: IncidentStatus,
    pub severity: Severity,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub content_version: i64,
}

fn parse_status(raw: &str) -> StoreResult<IncidentStatus> {
    IncidentStatus::parse(raw).ok_or_else(|| corrupt("incident status", raw))
}

fn parse_severity(raw: &str) -> StoreResult<Severity> {
    Severity::parse(raw).ok_or_else(|| corrupt("incident severity", raw))
}

fn to_update(m: incident_update::Model) -> StoreResult<Update> {
    Ok(Update {
        id: m.id,
        body: from_json(m.body, "update body")?,
        published_at: m.published_at,
    })
}

fn to_policy(m: policy::Model) -> StoreResult<Policy> {
    Ok(Policy {
        id: m.id,
        kind: PolicyKind::parse(&m.kind).ok_or_else(|| corrupt("policy kind", &m.kind))?,
        title: from_json(m.title, "policy title")?,
        body: from_json(m.body, "policy body")?,
        standard: from_json(m.standard, "policy standard")?,
        position: m.position,
    })
}

fn to_channel(m: channel::Model) -> StoreResult<Channel> {
    let posted_wait = match (m.posted_low_minutes, m.posted_high_minutes) {
        (Some(low), Some(high)) => WaitRange::new(low, high).ok(),
        _ => None,
    };
    Ok(Channel {
        id: m.id,
        kind: ChannelKind::parse(&m.kind).ok_or_else(|| corrupt("channel kind", &m.kind))?,
        label: from_json(m.label, "channel label")?,
        address: m.address,
        posted_wait,
        posted_wait_overrides: m.posted_wait_overrides,
        position: m.position,
    })
}

/// What an `incident.published` webhook carries.
fn incident_payload(m: &incident::Model) -> serde_json::Value {
    serde_json::json!({
        "incident": {
            "slug": m.slug,
            "title": m.title,
            "status": m.status,
            "severity": m.severity,
            "opened_at": m.opened_at.and_then(|t| t.format(&Rfc3339).ok()),
        }
    })
}

/// Bumps the public content version of an incident, inside the caller's transaction.
async fn touch<C: ConnectionTrait>(conn: &C, incident_id: i64) -> StoreResult<()> {
    incident::Entity::update_many()
        .col_expr(
            incident::Column::ContentVersion,
            Expr::col(incident::Column::ContentVersion).add(1),
        )
        .col_expr(incident::Column::UpdatedAt, Expr::value(now()))
        .filter(incident::Column::Id.eq(incident_id))
        .exec(conn)
        .await?;
    Ok(())
}

impl Store {
    pub async fn create_incident(
        &self,
        draft: IncidentDraft,
        actor: &str,
    ) -> StoreResult<Incident> {
        let created = now();
        let tx = self.db.begin().await?;
        let inserted = incident::ActiveModel {
            slug: Set(draft.slug.as_str().to_owned()),
            status: Set(draft.status.as_str().to_owned()),
            severity: Set(draft.severity.as_str().to_owned()),
            time_zone: Set(draft.time_zone),
            default_language: Set(draft.default_language.as_str().to_owned()),
            languages: Set(to_json(&draft.languages)),
            title: Set(to_json(&draft.title)),
            summary: Set(to_json(&draft.summary)),
            letter: Set(to_json(&draft.letter)),
            letter_signature: Set(draft.letter_signature),
            contact_guidance: Set(to_json(&draft.contact_guidance)),
            settings: Set(to_json(&draft.settings)),
            opened_at: Set(draft.status.is_public().then_some(created)),
            closed_at: Set(None),
            created_at: Set(created),
            updated_at: Set(created),
            content_version: Set(1),
            ..Default::default()
        }
        .insert(&tx)
        .await
        .map_err(|e| {
            if StoreError::is_unique_violation(&e) {
                StoreError::Conflict(format!(
                    "an incident with the slug \"{}\" already exists",
                    draft.slug
                ))
            } else {
                e.into()
            }
        })?;
        record_on(
            &tx,
            actor,
            "incident.open",
            &inserted.slug,
            serde_json::json!({"status": inserted.status}),
        )
        .await?;
        if draft.status.is_public() {
            emit_event_on(&tx, "incident.published", incident_payload(&inserted)).await?;
        }
        tx.commit().await?;
        self.incident_by_id(inserted.id).await
    }

    pub async fn incident_by_slug(&self, slug: &str) -> StoreResult<Option<Incident>> {
        let found = incident::Entity::find()
            .filter(incident::Column::Slug.eq(slug))
            .one(&self.db)
            .await?;
        match found {
            Some(model) => Ok(Some(self.assemble(model).await?)),
            None => Ok(None),
        }
    }

    pub async fn incident_by_id(&self, id: i64) -> StoreResult<Incident> {
        let model = incident::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(StoreError::NotFound("incident"))?;
        self.assemble(model).await
    }

    async fn assemble(&self, m: incident::Model) -> StoreResult<Incident> {
        let policies = policy::Entity::find()
            .filter(policy::Column::IncidentId.eq(m.id))
            .order_by_asc(policy::Column::Position)
            .all(&self.db)
            .await?
            .into_iter()
            .map(to_policy)
            .collect::<StoreResult<Vec<_>>>()?;
        let channels = channel::Entity::find()
            .filter(channel::Column::IncidentId.eq(m.id))
            .order_by_asc(channel::Column::Position)
            .all(&self.db)
            .await?
            .into_iter()
            .map(to_channel)
            .collect::<StoreResult<Vec<_>>>()?;
        let updates = incident_update::Entity::find()
            .filter(incident_update::Column::IncidentId.eq(m.id))
            .order_by_desc(incident_update::Column::PublishedAt)
            .order_by_desc(incident_update::Column::Id)
            .limit(UPDATES_SHOWN)
            .all(&self.db)
            .await?
            .into_iter()
            .map(to_update)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Incident {
            id: m.id,
            slug: Slug::parse(&m.slug).map_err(|_| corrupt("incident slug", &m.slug))?,
            status: parse_status(&m.status)?,
            severity: parse_severity(&m.severity)?,
            time_zone: m.time_zone,
            default_language: Lang::parse(&m.default_language)
                .map_err(|_| corrupt("incident language", &m.default_language))?,
            languages: from_json(m.languages, "incident languages")?,
            title: from_json(m.title, "incident title")?,
            summary: from_json(m.summary, "incident summary")?,
            letter: from_json(m.letter, "incident letter")?,
            letter_signature: m.letter_signature,
            contact_guidance: from_json(m.contact_guidance, "contact guidance")?,
            settings: from_json(m.settings, "incident settings")?,
            policies,
            channels,
            updates,
            opened_at: m.opened_at,
            updated_at: m.updated_at,
            content_version: m.content_version,
        })
    }

    pub async fn list_incidents(&self) -> StoreResult<Vec<IncidentSummary>> {
        incident::Entity::find()
            .order_by_desc(incident::Column::UpdatedAt)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| {
                Ok(IncidentSummary {
                    title: from_json(m.title, "incident title")?,
                    status: parse_status(&m.status)?,
                    severity: parse_severity(&m.severity)?,
                    slug: m.slug,
                    updated_at: m.updated_at,
                    content_version: m.content_version,
                })
            })
            .collect()
    }

    /// The slug `/crisis` points at: the most recently opened active incident, else the
    /// most recently opened one under monitoring.
    pub async fn current_crisis_slug(&self) -> StoreResult<Option<String>> {
        for status in [IncidentStatus::Active, IncidentStatus::Monitoring] {
            let found = incident::Entity::find()
                .filter(incident::Column::Status.eq(status.as_str()))
                .order_by_desc(incident::Column::OpenedAt)
                .order_by_desc(incident::Column::Id)
                .one(&self.db)
                .await?;
            if let Some(model) = found {
                return Ok(Some(model.slug));
            }
        }
        Ok(None)
    }

    /// Every public incident's slug and content version: what the page cache compares.
    pub async fn public_content_versions(&self) -> StoreResult<Vec<(String, i64)>> {
        Ok(incident::Entity::find()
            .filter(incident::Column::Status.ne(IncidentStatus::Draft.as_str()))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| (m.slug, m.content_version))
            .collect())
    }

    async fn incident_model(&self, slug: &str) -> StoreResult<incident::Model> {
        incident::Entity::find()
            .filter(incident::Column::Slug.eq(slug))
            .one(&self.db)
            .await?
            .ok_or(StoreError::NotFound("incident"))
    }

    pub async fn edit_incident(
        &self,
        slug: &str,
        edit: IncidentEdit,
        actor: &str,
    ) -> StoreResult<Incident> {
        let model = self.incident_model(slug).await?;
        let id = model.id;
        let was_public = parse_status(&model.status)?.is_public();
        let mut changed = Vec::new();
        let mut active: incident::ActiveModel = model.into();
        if let Some(status) = edit.status {
            active.status = Set(status.as_str().to_owned());
            if status.is_public() && !was_public {
                active.opened_at = Set(Some(now()));
            }
            active.closed_at = Set((status == IncidentStatus::Resolved).then(now));
            changed.push("status");
        }
        if let Some(severity) = edit.severity {
            active.severity = Set(severity.as_str().to_owned());
            changed.push("severity");
        }
        if let Some(zone) = edit.time_zone {
            active.time_zone = Set(zone);
            changed.push("time_zone");
        }
        if let Some(languages) = edit.languages {
            active.languages = Set(to_json(&languages));
            changed.push("languages");
        }
        if let Some(title) = edit.title {
            active.title = Set(to_json(&title));
            changed.push("title");
        }
        if let Some(summary) = edit.summary {
            active.summary = Set(to_json(&summary));
            changed.push("summary");
        }
        if let Some(letter) = edit.letter {
            active.letter = Set(to_json(&letter));
            changed.push("letter");
        }
        if let Some(signature) = edit.letter_signature {
            active.letter_signature = Set(signature);
            changed.push("letter_signature");
        }
        if let Some(guidance) = edit.contact_guidance {
            active.contact_guidance = Set(to_json(&guidance));
            changed.push("contact_guidance");
        }
        if let Some(settings) = edit.settings {
            active.settings = Set(to_json(&settings));
            changed.push("settings");
        }
        let tx = self.db.begin().await?;
        // Only the edit that actually moves the incident out of draft announces it, even
        // when two edits race: the guarded update finds the draft status once.
        let publishes = match edit.status {
            Some(status) if status.is_public() && !was_public => {
                incident::Entity::update_many()
                    .col_expr(incident::Column::Status, Expr::value(status.as_str()))
                    .filter(incident::Column::Id.eq(id))
                    .filter(incident::Column::Status.eq(IncidentStatus::Draft.as_str()))
                    .exec(&tx)
                    .await?
                    .rows_affected
                    == 1
            }
            _ => false,
        };
        let updated = active.update(&tx).await?;
        if publishes {
            emit_event_on(&tx, "incident.published", incident_payload(&updated)).await?;
        }
        touch(&tx, id).await?;
        record_on(
            &tx,
            actor,
            "incident.edit",
            slug,
            serde_json::json!({ "fields": changed }),
        )
        .await?;
        tx.commit().await?;
        self.incident_by_id(id).await
    }

    pub async fn post_update(
        &self,
        slug: &str,
        body: Localized,
        actor_id: Option<i64>,
        actor: &str,
    ) -> StoreResult<Update> {
        let model = self.incident_model(slug).await?;
        let tx = self.db.begin().await?;
        let saved = incident_update::ActiveModel {
            incident_id: Set(model.id),
            body: Set(to_json(&body)),
            published_at: Set(now()),
            author_id: Set(actor_id),
            ..Default::default()
        }
        .insert(&tx)
        .await?;
        touch(&tx, model.id).await?;
        record_on(
            &tx,
            actor,
            "update.publish",
            slug,
            serde_json::json!({ "update_id": saved.id }),
        )
        .await?;
        // Updates on a draft (a dark site being prepared) are not announced.
        if parse_status(&model.status)?.is_public() {
            let payload = serde_json::json!({
                "incident": { "slug": model.slug, "title": model.title, "status": model.status },
                "update": {
                    "id": saved.id,
                    "body": saved.body,
                    "published_at": saved.published_at.format(&Rfc3339).ok(),
                },
            });
            emit_event_on(&tx, "update.published", payload).await?;
        }
        tx.commit().await?;
        to_update(saved)
    }

    pub async fn replace_policies(
        &self,
        slug: &str,
        policies: Vec<PolicyInput>,
        actor: &str,
    ) -> StoreResult<()> {
        let model = self.incident_model(slug).await?;
        let tx = self.db.begin().await?;
        policy::Entity::delete_many()
            .filter(policy::Column::IncidentId.eq(model.id))
            .exec(&tx)
            .await?;
        let kinds: Vec<&str> = policies.iter().map(|p| p.kind.as_str()).collect();
        for (position, input) in policies.iter().enumerate() {
            policy::ActiveModel {
                incident_id: Set(model.id),
                kind: Set(input.kind.as_str().to_owned()),
                title: Set(to_json(&input.title)),
                body: Set(to_json(&input.body)),
                standard: Set(to_json(&input.standard)),
                position: Set(i32::try_from(position).unwrap_or(i32::MAX)),
                ..Default::default()
            }
            .insert(&tx)
            .await?;
        }
        touch(&tx, model.id).await?;
        record_on(
            &tx,
            actor,
            "policies.replace",
            slug,
            serde_json::json!({ "kinds": kinds }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn replace_channels(
        &self,
        slug: &str,
        channels: Vec<ChannelInput>,
        actor: &str,
    ) -> StoreResult<()> {
        let model = self.incident_model(slug).await?;
        let tx = self.db.begin().await?;
        channel::Entity::delete_many()
            .filter(channel::Column::IncidentId.eq(model.id))
            .exec(&tx)
            .await?;
        let kinds: Vec<&str> = channels.iter().map(|c| c.kind.as_str()).collect();
        for (position, input) in channels.iter().enumerate() {
            channel::ActiveModel {
                incident_id: Set(model.id),
                kind: Set(input.kind.as_str().to_owned()),
                label: Set(to_json(&input.label)),
                address: Set(input.address.clone()),
                posted_low_minutes: Set(input.posted_wait.map(|w| w.low_minutes)),
                posted_high_minutes: Set(input.posted_wait.map(|w| w.high_minutes)),
                posted_wait_overrides: Set(input.posted_wait_overrides),
                position: Set(i32::try_from(position).unwrap_or(i32::MAX)),
                ..Default::default()
            }
            .insert(&tx)
            .await
            .map_err(|e| {
                if StoreError::is_unique_violation(&e) {
                    StoreError::Conflict(format!(
                        "the {} channel is listed twice",
                        input.kind.as_str()
                    ))
                } else {
                    e.into()
                }
            })?;
        }
        touch(&tx, model.id).await?;
        record_on(
            &tx,
            actor,
            "channels.replace",
            slug,
            serde_json::json!({ "kinds": kinds }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Posts a channel's wait by hand (or from the telephony system); `None` clears it. With
    /// `overrides`, it replaces the computed wait instead of standing in for it.
    pub async fn set_channel_wait(
        &self,
        slug: &str,
        kind: ChannelKind,
        wait: Option<WaitRange>,
        overrides: bool,
        actor: &str,
    ) -> StoreResult<()> {
        let model = self.incident_model(slug).await?;
        let tx = self.db.begin().await?;
        let result = channel::Entity::update_many()
            .col_expr(
                channel::Column::PostedLowMinutes,
                Expr::value(wait.map(|w| w.low_minutes)),
            )
            .col_expr(
                channel::Column::PostedHighMinutes,
                Expr::value(wait.map(|w| w.high_minutes)),
            )
            .col_expr(
                channel::Column::PostedWaitOverrides,
                Expr::value(overrides && wait.is_some()),
            )
            .filter(channel::Column::IncidentId.eq(model.id))
            .filter(channel::Column::Kind.eq(kind.as_str()))
            .exec(&tx)
            .await?;
        if result.rows_affected == 0 {
            return Err(StoreError::NotFound("channel"));
        }
        touch(&tx, model.id).await?;
        record_on(
            &tx,
            actor,
            "channel.wait",
            slug,
            serde_json::json!({ "channel": kind.as_str(), "wait": wait, "overrides": overrides }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

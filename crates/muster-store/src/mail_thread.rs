//! A case's email thread: the customer's messages (their Message-IDs and first subject,
//! kept on each inbound email contact's `meta`), and the further addresses a customer
//! wrote from, so that a second address finds the same case.

use muster_core::case::Direction;
use muster_core::incident::ChannelKind;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use crate::Store;
use crate::convert::now;
use crate::entity::{case_address, contact};
use crate::error::StoreResult;

/// Keys of an inbound email contact's `meta` that the thread is read from.
pub const META_MESSAGE_ID: &str = "message_id";
pub const META_SUBJECT: &str = "subject";

/// How many of the customer's latest Message-IDs a reply's References carries (besides the
/// first): enough for any client to thread, short enough for any server's header limit.
const RECENT_IDS: usize = 8;

/// What a message to the customer answers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailThread {
    /// The subject of the customer's first email on the case.
    pub first_subject: Option<String>,
    /// The customer's Message-IDs, oldest first: the first one and the latest few.
    pub message_ids: Vec<String>,
}

impl MailThread {
    /// The customer's latest message, the one an answer replies to.
    pub fn latest(&self) -> Option<&str> {
        self.message_ids.last().map(String::as_str)
    }
}

impl Store {
    /// The customer's side of the case's email thread; empty when they never emailed.
    pub async fn mail_thread(&self, case_id: i64) -> StoreResult<MailThread> {
        let metas: Vec<serde_json::Value> = contact::Entity::find()
            .select_only()
            .column(contact::Column::Meta)
            .filter(contact::Column::CaseId.eq(case_id))
            .filter(contact::Column::Direction.eq(Direction::Inbound.as_str()))
            .filter(contact::Column::Channel.eq(ChannelKind::Email.as_str()))
            .order_by_asc(contact::Column::Id)
            .into_tuple()
            .all(&self.db)
            .await?;
        let text = |meta: &serde_json::Value, key: &str| {
            meta.get(key)
                .and_then(|v| v.as_str())
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let first_subject = metas.iter().find_map(|m| text(m, META_SUBJECT));
        let ids: Vec<String> = metas
            .iter()
            .filter_map(|m| text(m, META_MESSAGE_ID))
            .collect();
        let message_ids = match ids.len() {
            n if n > RECENT_IDS + 1 => std::iter::once(ids[0].clone())
                .chain(ids[n - RECENT_IDS..].iter().cloned())
                .collect(),
            _ => ids,
        };
        Ok(MailThread {
            first_subject,
            message_ids,
        })
    }

    /// Records `email` as one of the case's customer's addresses (nothing if known already).
    pub async fn add_case_address(
        &self,
        case_id: i64,
        incident_id: i64,
        email: &str,
    ) -> StoreResult<()> {
        case_address::Entity::insert(case_address::ActiveModel {
            case_id: Set(case_id),
            incident_id: Set(incident_id),
            email: Set(email.to_owned()),
            created_at: Set(now()),
            ..Default::default()
        })
        .on_conflict_do_nothing_on([case_address::Column::CaseId, case_address::Column::Email])
        .exec(&self.db)
        .await?;
        Ok(())
    }

    /// The case a further address of a customer belongs to on this incident, if any.
    pub async fn case_of_address(&self, incident_id: i64, email: &str) -> StoreResult<Option<i64>> {
        Ok(case_address::Entity::find()
            .select_only()
            .column(case_address::Column::CaseId)
            .filter(case_address::Column::IncidentId.eq(incident_id))
            .filter(case_address::Column::Email.eq(email))
            .order_by_desc(case_address::Column::Id)
            .into_tuple()
            .one(&self.db)
            .await?)
    }

    /// The addresses a case's customer wrote from besides the case's own, oldest first.
    pub async fn case_addresses(&self, case_id: i64) -> StoreResult<Vec<String>> {
        Ok(case_address::Entity::find()
            .select_only()
            .column(case_address::Column::Email)
            .filter(case_address::Column::CaseId.eq(case_id))
            .order_by_asc(case_address::Column::Id)
            .into_tuple()
            .all(&self.db)
            .await?)
    }
}

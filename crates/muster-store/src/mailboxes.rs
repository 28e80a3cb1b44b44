//! IMAP mailbox cursors and their leases. One replica at a time fetches a mailbox: it holds
//! the mailbox's lease, renews it while it works, and moves the cursor (the next UID to take
//! within a UIDVALIDITY) only while it still holds it. A replica that dies leaves a lease
//! that runs out, and another takes the mailbox from the cursor on.

use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::Store;
use crate::convert::now;
use crate::entity::mailbox;
use crate::error::StoreResult;

/// Where fetching resumes: UIDs are only meaningful within their UIDVALIDITY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailboxCursor {
    /// `None` before the first fetch.
    pub uid_validity: Option<u32>,
    /// The lowest UID not yet taken in.
    pub next_uid: u32,
}

/// What a fetch reached, written with the lease renewed.
#[derive(Debug, Clone, Copy)]
pub struct MailboxProgress {
    pub cursor: MailboxCursor,
    /// Messages at or past the cursor when the server was last asked.
    pub backlog: u64,
}

/// A mailbox as the console shows it.
#[derive(Debug, Clone, Serialize)]
pub struct MailboxStatus {
    pub name: String,
    /// `waiting` (for a replica), `connected`, or `error`.
    pub state: String,
    /// Whether a replica holds the lease now.
    pub held: bool,
    pub uid_validity: Option<i64>,
    pub next_uid: i64,
    pub backlog: i64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_fetch_at: Option<OffsetDateTime>,
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_error_at: Option<OffsetDateTime>,
}

fn to_u32(value: i64) -> u32 {
    u32::try_from(value).unwrap_or(1)
}

impl Store {
    /// Takes or renews the lease on mailbox `name` for `owner`, creating its row on first
    /// use; `None` while another replica holds it.
    pub async fn claim_mailbox(
        &self,
        name: &str,
        owner: &str,
        lease: Duration,
    ) -> StoreResult<Option<MailboxCursor>> {
        use mailbox::Column as C;
        let at = now();
        mailbox::Entity::insert(mailbox::ActiveModel {
            name: Set(name.to_owned()),
            uid_validity: Set(None),
            next_uid: Set(1),
            lease_owner: Set(None),
            lease_until: Set(None),
            state: Set("waiting".to_owned()),
            backlog: Set(0),
            last_fetch_at: Set(None),
            last_error: Set(None),
            last_error_at: Set(None),
            updated_at: Set(at),
            ..Default::default()
        })
        .on_conflict(OnConflict::column(C::Name).do_nothing().to_owned())
        .exec_without_returning(&self.db)
        .await?;
        let claimed = mailbox::Entity::update_many()
            .col_expr(C::LeaseOwner, Expr::value(owner))
            .col_expr(C::LeaseUntil, Expr::value(at + lease))
            .filter(C::Name.eq(name))
            .filter(
                Condition::any()
                    .add(C::LeaseOwner.is_null())
                    .add(C::LeaseOwner.eq(owner))
                    .add(C::LeaseUntil.lt(at)),
            )
            .exec(&self.db)
            .await?;
        if claimed.rows_affected == 0 {
            return Ok(None);
        }
        Ok(mailbox::Entity::find()
            .filter(C::Name.eq(name))
            .one(&self.db)
            .await?
            .map(|m| MailboxCursor {
                uid_validity: m.uid_validity.map(to_u32),
                next_uid: to_u32(m.next_uid),
            }))
    }

    /// Moves the cursor and renews the lease; false when `owner` no longer holds it (it ran
    /// out and another replica took the mailbox), and then nothing is written.
    pub async fn record_mailbox_progress(
        &self,
        name: &str,
        owner: &str,
        progress: MailboxProgress,
        lease: Duration,
    ) -> StoreResult<bool> {
        use mailbox::Column as C;
        let at = now();
        let updated = mailbox::Entity::update_many()
            .col_expr(
                C::UidValidity,
                Expr::value(progress.cursor.uid_validity.map(i64::from)),
            )
            .col_expr(C::NextUid, Expr::value(i64::from(progress.cursor.next_uid)))
            .col_expr(
                C::Backlog,
                Expr::value(i64::try_from(progress.backlog).unwrap_or(i64::MAX)),
            )
            .col_expr(C::State, Expr::value("connected"))
            .col_expr(C::LastFetchAt, Expr::value(at))
            .col_expr(C::LeaseUntil, Expr::value(at + lease))
            .col_expr(C::UpdatedAt, Expr::value(at))
            .filter(C::Name.eq(name))
            .filter(C::LeaseOwner.eq(owner))
            .exec(&self.db)
            .await?;
        Ok(updated.rows_affected == 1)
    }

    /// Notes why the mailbox cannot be fetched now (shown in the console); the lease is
    /// kept, so the holder retries after its backoff.
    pub async fn record_mailbox_error(
        &self,
        name: &str,
        owner: &str,
        error: &str,
    ) -> StoreResult<()> {
        use mailbox::Column as C;
        let at = now();
        mailbox::Entity::update_many()
            .col_expr(C::State, Expr::value("error"))
            .col_expr(C::LastError, Expr::value(error))
            .col_expr(C::LastErrorAt, Expr::value(at))
            .col_expr(C::UpdatedAt, Expr::value(at))
            .filter(C::Name.eq(name))
            .filter(C::LeaseOwner.eq(owner))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Gives the mailbox up on shutdown, so another replica takes it at once.
    pub async fn release_mailbox(&self, name: &str, owner: &str) -> StoreResult<()> {
        use mailbox::Column as C;
        mailbox::Entity::update_many()
            .col_expr(C::LeaseOwner, Expr::value(Option::<String>::None))
            .col_expr(C::LeaseUntil, Expr::value(Option::<OffsetDateTime>::None))
            .col_expr(C::State, Expr::value("waiting"))
            .col_expr(C::UpdatedAt, Expr::value(now()))
            .filter(C::Name.eq(name))
            .filter(C::LeaseOwner.eq(owner))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Every mailbox fetched so far, by name.
    pub async fn mailbox_statuses(&self) -> StoreResult<Vec<MailboxStatus>> {
        let at = now();
        Ok(mailbox::Entity::find()
            .order_by_asc(mailbox::Column::Name)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| MailboxStatus {
                held: m.lease_owner.is_some() && m.lease_until.is_some_and(|until| until > at),
                name: m.name,
                state: m.state,
                uid_validity: m.uid_validity,
                next_uid: m.next_uid,
                backlog: m.backlog,
                last_fetch_at: m.last_fetch_at,
                last_error: m.last_error,
                last_error_at: m.last_error_at,
            })
            .collect())
    }
}

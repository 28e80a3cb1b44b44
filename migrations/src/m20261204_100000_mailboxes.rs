//! IMAP mailboxes and the email quarantine. A mailbox row is its fetch cursor (the next
//! UID to take within its UIDVALIDITY, never a date), the lease of the replica fetching it,
//! and what the console shows of it. The quarantine keeps a message that cannot be taken
//! in, raw, with its error, so the ones behind it go on and it can be retried.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Incidents {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Mailboxes {
    Table,
    Id,
    Name,
    UidValidity,
    NextUid,
    LeaseOwner,
    LeaseUntil,
    State,
    Backlog,
    LastFetchAt,
    LastError,
    LastErrorAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum EmailQuarantine {
    Table,
    Id,
    Source,
    SourceKey,
    IncidentId,
    Raw,
    Error,
    Attempts,
    QuarantinedAt,
    LastTriedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Mailboxes::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Mailboxes::Id))
                    .col(string_uniq(Mailboxes::Name))
                    .col(big_integer_null(Mailboxes::UidValidity))
                    .col(big_integer(Mailboxes::NextUid).default(1))
                    .col(string_null(Mailboxes::LeaseOwner))
                    .col(timestamp_with_time_zone_null(Mailboxes::LeaseUntil))
                    .col(string(Mailboxes::State))
                    .col(big_integer(Mailboxes::Backlog).default(0))
                    .col(timestamp_with_time_zone_null(Mailboxes::LastFetchAt))
                    .col(string_null(Mailboxes::LastError))
                    .col(timestamp_with_time_zone_null(Mailboxes::LastErrorAt))
                    .col(timestamp_with_time_zone(Mailboxes::UpdatedAt))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(EmailQuarantine::Table)
                    .if_not_exists()
                    .col(big_pk_auto(EmailQuarantine::Id))
                    .col(string(EmailQuarantine::Source))
                    // Where it came from, exactly (mailbox, UIDVALIDITY, UID): a message
                    // fetched again after a crash is not quarantined twice.
                    .col(string_uniq(EmailQuarantine::SourceKey))
                    .col(big_integer(EmailQuarantine::IncidentId))
                    .col(blob(EmailQuarantine::Raw))
                    .col(string(EmailQuarantine::Error))
                    .col(integer(EmailQuarantine::Attempts).default(1))
                    .col(timestamp_with_time_zone(EmailQuarantine::QuarantinedAt))
                    .col(timestamp_with_time_zone(EmailQuarantine::LastTriedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(EmailQuarantine::Table, EmailQuarantine::IncidentId)
                            .to(Incidents::Table, Incidents::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EmailQuarantine::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Mailboxes::Table).to_owned())
            .await
    }
}

//! What comes back after mail goes out: bounces (RFC 3464 DSNs) and complaints (RFC 5965
//! ARF reports), one row each; the addresses no campaign may mail again; and the further
//! addresses a customer writes from, so a second address finds the same case.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MailFeedback {
    Table,
    Id,
    /// The report's own Message-ID and recipient: the same report twice is one row.
    ExternalId,
    Kind,
    DeliveryId,
    CampaignId,
    ContactId,
    Email,
    Action,
    Status,
    Detail,
    Permanent,
    ReceivedAt,
}

#[derive(DeriveIden)]
enum MailSuppressions {
    Table,
    Email,
    Reason,
    Detail,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CaseAddresses {
    Table,
    Id,
    CaseId,
    IncidentId,
    Email,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MailFeedback::Table)
                    .if_not_exists()
                    .col(big_pk_auto(MailFeedback::Id))
                    .col(string_uniq(MailFeedback::ExternalId))
                    .col(string(MailFeedback::Kind))
                    .col(big_integer_null(MailFeedback::DeliveryId))
                    .col(big_integer_null(MailFeedback::CampaignId))
                    .col(big_integer_null(MailFeedback::ContactId))
                    .col(string(MailFeedback::Email))
                    .col(string(MailFeedback::Action))
                    .col(string(MailFeedback::Status))
                    .col(text(MailFeedback::Detail))
                    .col(boolean(MailFeedback::Permanent))
                    .col(timestamp_with_time_zone(MailFeedback::ReceivedAt))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_mail_feedback_campaign")
                    .table(MailFeedback::Table)
                    .col(MailFeedback::CampaignId)
                    .col(MailFeedback::Id)
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MailSuppressions::Table)
                    .if_not_exists()
                    .col(string(MailSuppressions::Email).primary_key())
                    .col(string(MailSuppressions::Reason))
                    .col(text(MailSuppressions::Detail))
                    .col(timestamp_with_time_zone(MailSuppressions::CreatedAt))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CaseAddresses::Table)
                    .if_not_exists()
                    .col(big_pk_auto(CaseAddresses::Id))
                    .col(big_integer(CaseAddresses::CaseId))
                    .col(big_integer(CaseAddresses::IncidentId))
                    .col(string(CaseAddresses::Email))
                    .col(timestamp_with_time_zone(CaseAddresses::CreatedAt))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_case_addresses_unique")
                    .table(CaseAddresses::Table)
                    .col(CaseAddresses::CaseId)
                    .col(CaseAddresses::Email)
                    .unique()
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_case_addresses_lookup")
                    .table(CaseAddresses::Table)
                    .col(CaseAddresses::IncidentId)
                    .col(CaseAddresses::Email)
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            MailFeedback::Table.into_iden(),
            MailSuppressions::Table.into_iden(),
            CaseAddresses::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().take())
                .await?;
        }
        Ok(())
    }
}

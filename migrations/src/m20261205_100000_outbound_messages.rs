//! The outbox of messages to customers on channels other than email (SMS, WhatsApp,
//! Telegram, the integration's webhook): one row per reply, written in the transaction of
//! the reply's contact, claimed under a lease, its provider's message id and delivery state
//! recorded as the provider reports them.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OutboundMessages {
    Table,
    Id,
    CaseId,
    ContactId,
    Channel,
    Recipient,
    Payload,
    IdempotencyKey,
    Status,
    Attempts,
    LeaseUntil,
    NextAttemptAt,
    SendingAt,
    ProviderId,
    Error,
    CreatedAt,
    StatusAt,
}

fn index(name: &str, columns: &[&str], unique: bool) -> IndexCreateStatement {
    let mut statement = Index::create()
        .name(name)
        .table(OutboundMessages::Table)
        .if_not_exists()
        .take();
    for column in columns {
        statement.col(Alias::new(*column));
    }
    if unique {
        statement.unique();
    }
    statement
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OutboundMessages::Table)
                    .if_not_exists()
                    .col(big_pk_auto(OutboundMessages::Id))
                    .col(big_integer(OutboundMessages::CaseId))
                    .col(big_integer_null(OutboundMessages::ContactId))
                    .col(string(OutboundMessages::Channel))
                    .col(string(OutboundMessages::Recipient))
                    .col(json_binary(OutboundMessages::Payload))
                    .col(string(OutboundMessages::IdempotencyKey))
                    .col(string(OutboundMessages::Status))
                    .col(integer(OutboundMessages::Attempts))
                    .col(timestamp_with_time_zone_null(OutboundMessages::LeaseUntil))
                    .col(timestamp_with_time_zone(OutboundMessages::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(OutboundMessages::SendingAt))
                    .col(string_null(OutboundMessages::ProviderId))
                    .col(text_null(OutboundMessages::Error))
                    .col(timestamp_with_time_zone(OutboundMessages::CreatedAt))
                    .col(timestamp_with_time_zone(OutboundMessages::StatusAt))
                    .take(),
            )
            .await?;
        for statement in [
            // A message is queued once, whoever retries the request that queued it.
            index("idx_outbound_messages_key", &["idempotency_key"], true),
            // The claim walks due rows in order.
            index(
                "idx_outbound_messages_due",
                &["status", "next_attempt_at", "id"],
                false,
            ),
            // A status callback names the provider's message id.
            index(
                "idx_outbound_messages_provider",
                &["channel", "provider_id"],
                false,
            ),
            // The case page shows each outbound contact's state.
            index("idx_outbound_messages_case", &["case_id", "id"], false),
        ] {
            manager.create_index(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OutboundMessages::Table).to_owned())
            .await
    }
}

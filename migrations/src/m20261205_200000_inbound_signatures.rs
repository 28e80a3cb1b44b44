//! Inbound signatures seen within their five-minute window, shared by every replica, so that
//! the same signed request sent twice is refused the second time wherever it lands.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum InboundSignatures {
    Table,
    /// The MAC, in hex.
    Signature,
    /// The signed timestamp plus the window (Unix seconds): after it the row is pruned.
    ValidUntil,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(InboundSignatures::Table)
                    .if_not_exists()
                    .col(string(InboundSignatures::Signature).primary_key())
                    .col(big_integer(InboundSignatures::ValidUntil))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_inbound_signatures_valid_until")
                    .table(InboundSignatures::Table)
                    .col(InboundSignatures::ValidUntil)
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(InboundSignatures::Table).take())
            .await
    }
}

//! Case access tokens in a table of their own, so a case can hold several: the customer's
//! full token, and receipt tokens for later submissions that joined the case (those
//! show the confirmation, never the conversation). Cases also remember a social handle,
//! so a customer who writes again from the same account lands on the same case.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CaseTokens {
    Table,
    Id,
    CaseId,
    TokenHash,
    Scope,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Cases {
    Table,
    Id,
    Handle,
    AccessTokenHash,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CaseTokens::Table)
                    .if_not_exists()
                    .col(big_pk_auto(CaseTokens::Id))
                    .col(big_integer(CaseTokens::CaseId))
                    .col(string_uniq(CaseTokens::TokenHash))
                    .col(string(CaseTokens::Scope))
                    .col(timestamp_with_time_zone(CaseTokens::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(CaseTokens::Table, CaseTokens::CaseId)
                            .to(Cases::Table, Cases::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Cases::Table)
                    .add_column(string_null(Cases::Handle))
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Cases::Table)
                    .drop_column(Cases::AccessTokenHash)
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_cases_handle")
                    .table(Cases::Table)
                    .col(Alias::new("incident_id"))
                    .col(Cases::Handle)
                    .take(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_cases_handle")
                    .table(Cases::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Cases::Table)
                    .drop_column(Cases::Handle)
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Cases::Table)
                    .add_column(string(Cases::AccessTokenHash).default(""))
                    .take(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(CaseTokens::Table).take())
            .await
    }
}

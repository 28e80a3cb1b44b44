//! A case opened by someone who gave another open case's email, phone or booking reference
//! without its case link names that case, and what matched: the matched case shows the
//! message marked unverified, and the two are suggested as duplicates.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Cases {
    Table,
    /// The matched case's reference.
    UnverifiedMatch,
    /// Which identifier matched (`email`, `phone`, `booking_ref`, `handle`).
    UnverifiedMatchOn,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds only one at a time.
        for column in [Cases::UnverifiedMatch, Cases::UnverifiedMatchOn] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Cases::Table)
                        .add_column(string_null(column))
                        .take(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_cases_unverified_match")
                    .table(Cases::Table)
                    .col(Cases::UnverifiedMatch)
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_cases_unverified_match")
                    .table(Cases::Table)
                    .to_owned(),
            )
            .await?;
        for column in [Cases::UnverifiedMatchOn, Cases::UnverifiedMatch] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Cases::Table)
                        .drop_column(column)
                        .take(),
                )
                .await?;
        }
        Ok(())
    }
}

//! The agents' queue: overdue cases are found by an index, merged cases remember where
//! they went, and claims by agent are quick to list.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Cases {
    Table,
    MergedInto,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Cases::Table)
                    .add_column(string_null(Cases::MergedInto))
                    .take(),
            )
            .await?;
        for (name, columns) in [
            ("idx_cases_overdue", ["incident_id", "status", "overdue_at"]),
            ("idx_cases_claimed", ["claimed_by", "status", "lease_until"]),
            (
                "idx_cases_first_response",
                ["incident_id", "first_response_at", "created_at"],
            ),
        ] {
            let mut index = Index::create()
                .name(name)
                .table(Cases::Table)
                .if_not_exists()
                .take();
            for column in columns {
                index.col(Alias::new(column));
            }
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in [
            "idx_cases_overdue",
            "idx_cases_claimed",
            "idx_cases_first_response",
        ] {
            manager
                .drop_index(Index::drop().name(name).table(Cases::Table).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Cases::Table)
                    .drop_column(Cases::MergedInto)
                    .take(),
            )
            .await
    }
}

//! A caller who asked to be called back: the number to call, on their case, until an agent
//! logs that they reached them. The waiting ones count towards the posted phone wait.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Cases {
    Table,
    CallBackTo,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Cases::Table)
                    .add_column(string_null(Cases::CallBackTo))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Cases::Table)
                    .drop_column(Cases::CallBackTo)
                    .take(),
            )
            .await
    }
}

//! Case indexes that hold only the rows their queries look for. Taking and resolving a case
//! each write a new version of its row, and as both change indexed columns (the claim,
//! the status), PostgreSQL adds an entry for it to every index of the table whose
//! condition it meets. Most cases have no phone, no social handle, no first answer yet,
//! are not overdue and, once resolved, not claimed: their entries all began with one key,
//! added at the same end of each index by every agent at once. Every query on these
//! columns asks for a value (`= ?`, `IN (…)`, `> ?`, `IS NOT NULL`), which both engines'
//! planners read as implying `IS NOT NULL`, so they keep using the same indexes.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Each index: its name, its columns, and the column that must be set for a row to be in it.
const INDEXES: [(&str, &[&str], &str); 5] = [
    ("idx_cases_phone", &["incident_id", "phone"], "phone"),
    ("idx_cases_handle", &["incident_id", "handle"], "handle"),
    (
        "idx_cases_overdue",
        &["incident_id", "status", "overdue_at"],
        "overdue_at",
    ),
    (
        "idx_cases_claimed",
        &["claimed_by", "status", "lease_until"],
        "claimed_by",
    ),
    (
        "idx_cases_first_response",
        &["incident_id", "first_response_at", "created_at"],
        "first_response_at",
    ),
];

fn index(name: &str, columns: &[&str], set_column: Option<&str>) -> IndexCreateStatement {
    let mut statement = Index::create().name(name).table(Alias::new("cases")).take();
    for column in columns {
        statement.col(Alias::new(*column));
    }
    if let Some(column) = set_column {
        statement.and_where(Expr::col(Alias::new(column)).is_not_null());
    }
    statement
}

async fn replace(manager: &SchemaManager<'_>, partial: bool) -> Result<(), DbErr> {
    for (name, columns, set_column) in INDEXES {
        manager
            .drop_index(
                Index::drop()
                    .name(name)
                    .table(Alias::new("cases"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(name, columns, partial.then_some(set_column)))
            .await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        replace(manager, true).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        replace(manager, false).await
    }
}

//! What the live wait estimate reads besides the queue: when cases arrived (the volume's
//! shift within the estimator's window) and when agents last took one (who is on duty).
//! Both are ranges over the last hour of one incident.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: [(&str, [&str; 2]); 2] = [
    ("idx_cases_arrivals", ["incident_id", "created_at"]),
    ("idx_cases_claimed_at", ["incident_id", "claimed_at"]),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, columns) in INDEXES {
            let mut index = Index::create()
                .name(name)
                .table(Alias::new("cases"))
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
        for (name, _) in INDEXES {
            manager
                .drop_index(
                    Index::drop()
                        .name(name)
                        .table(Alias::new("cases"))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

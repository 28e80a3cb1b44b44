//! Disruption groups: the trip a case is about (a sailing, flight or route; its date is the
//! case's departure date), saved filters over an incident's cases, and one reply sent to
//! every case of a group through an outbox of targets claimed under a lease.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Cases {
    Table,
    Trip,
}

#[derive(DeriveIden)]
enum AudienceMembers {
    Table,
    Trip,
}

#[derive(DeriveIden)]
enum CaseGroups {
    Table,
    Id,
    IncidentId,
    Name,
    Trip,
    DepartureFrom,
    DepartureTo,
    RequestType,
    Team,
    Tier,
    CreatedBy,
    CreatedAt,
    ClosedAt,
}

#[derive(DeriveIden)]
enum GroupReplies {
    Table,
    Id,
    GroupId,
    Bodies,
    ThenStatus,
    Status,
    AuthorId,
    Author,
    DraftedAt,
    SendAt,
    StartedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum GroupReplyTargets {
    Table,
    Id,
    ReplyId,
    CaseId,
    Status,
    Reason,
    ClaimedBy,
    LeaseUntil,
    NextAttemptAt,
    DoneAt,
}

fn index(table: &str, name: &str, columns: &[&str], unique: bool) -> IndexCreateStatement {
    let mut statement = Index::create()
        .name(name)
        .table(Alias::new(table))
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
            .alter_table(
                Table::alter()
                    .table(Cases::Table)
                    .add_column(string_null(Cases::Trip))
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AudienceMembers::Table)
                    .add_column(string_null(AudienceMembers::Trip))
                    .take(),
            )
            .await?;
        // A group on a trip reads its cases in departure order from this index alone; only
        // cases with a trip are in it (see the partial case indexes).
        let mut by_trip = index(
            "cases",
            "idx_cases_trip",
            &["incident_id", "trip", "departure_date", "id"],
            false,
        );
        by_trip.and_where(Expr::col(Alias::new("trip")).is_not_null());
        manager.create_index(by_trip).await?;
        manager
            .create_table(
                Table::create()
                    .table(CaseGroups::Table)
                    .if_not_exists()
                    .col(big_pk_auto(CaseGroups::Id))
                    .col(big_integer(CaseGroups::IncidentId))
                    .col(string(CaseGroups::Name))
                    .col(string_null(CaseGroups::Trip))
                    .col(date_null(CaseGroups::DepartureFrom))
                    .col(date_null(CaseGroups::DepartureTo))
                    .col(string_null(CaseGroups::RequestType))
                    .col(string_null(CaseGroups::Team))
                    .col(string_null(CaseGroups::Tier))
                    .col(big_integer_null(CaseGroups::CreatedBy))
                    .col(timestamp_with_time_zone(CaseGroups::CreatedAt))
                    .col(timestamp_with_time_zone_null(CaseGroups::ClosedAt))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(GroupReplies::Table)
                    .if_not_exists()
                    .col(big_pk_auto(GroupReplies::Id))
                    .col(big_integer(GroupReplies::GroupId))
                    .col(json_binary(GroupReplies::Bodies))
                    .col(string_null(GroupReplies::ThenStatus))
                    .col(string(GroupReplies::Status))
                    .col(big_integer(GroupReplies::AuthorId))
                    .col(string(GroupReplies::Author))
                    .col(timestamp_with_time_zone(GroupReplies::DraftedAt))
                    .col(timestamp_with_time_zone(GroupReplies::SendAt))
                    .col(timestamp_with_time_zone_null(GroupReplies::StartedAt))
                    .col(timestamp_with_time_zone_null(GroupReplies::FinishedAt))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(GroupReplyTargets::Table)
                    .if_not_exists()
                    .col(big_pk_auto(GroupReplyTargets::Id))
                    .col(big_integer(GroupReplyTargets::ReplyId))
                    .col(big_integer(GroupReplyTargets::CaseId))
                    .col(string(GroupReplyTargets::Status))
                    .col(string_null(GroupReplyTargets::Reason))
                    .col(string_null(GroupReplyTargets::ClaimedBy))
                    .col(timestamp_with_time_zone_null(GroupReplyTargets::LeaseUntil))
                    .col(timestamp_with_time_zone(GroupReplyTargets::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(GroupReplyTargets::DoneAt))
                    .take(),
            )
            .await?;
        for statement in [
            index(
                "case_groups",
                "idx_case_groups_incident",
                &["incident_id", "id"],
                false,
            ),
            index(
                "group_replies",
                "idx_group_replies_group",
                &["group_id", "id"],
                false,
            ),
            index(
                "group_replies",
                "idx_group_replies_status",
                &["status", "send_at"],
                false,
            ),
            // One answer per case and reply: a target written twice is refused.
            index(
                "group_reply_targets",
                "idx_group_reply_targets_case",
                &["reply_id", "case_id"],
                true,
            ),
            // The outbox, walked in order by the claim.
            index(
                "group_reply_targets",
                "idx_group_reply_targets_due",
                &["status", "next_attempt_at", "id"],
                false,
            ),
            // Progress counts per reply and state.
            index(
                "group_reply_targets",
                "idx_group_reply_targets_progress",
                &["reply_id", "status"],
                false,
            ),
            // A case's trip from the audience import, by its booking reference.
            index(
                "audience_members",
                "idx_audience_booking",
                &["incident_id", "booking_ref"],
                false,
            ),
        ] {
            manager.create_index(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["group_reply_targets", "group_replies", "case_groups"] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        for (table, name) in [
            ("audience_members", "idx_audience_booking"),
            ("cases", "idx_cases_trip"),
        ] {
            manager
                .drop_index(Index::drop().name(name).table(Alias::new(table)).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(AudienceMembers::Table)
                    .drop_column(AudienceMembers::Trip)
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Cases::Table)
                    .drop_column(Cases::Trip)
                    .take(),
            )
            .await
    }
}

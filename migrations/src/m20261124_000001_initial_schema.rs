//! The whole domain: people and access, incidents and their content, audience and
//! campaigns, cases and contacts, webhooks, and the audit log.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    Name,
    Role,
    PasswordHash,
    Active,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    UserId,
    CsrfToken,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
    Name,
    TokenHash,
    UserId,
    CreatedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum LoginAttempts {
    Table,
    Id,
    Email,
    Address,
    AttemptedAt,
}

#[derive(DeriveIden)]
enum Teams {
    Table,
    Id,
    Key,
    Name,
}

#[derive(DeriveIden)]
enum TeamMembers {
    Table,
    TeamId,
    UserId,
}

#[derive(DeriveIden)]
enum Incidents {
    Table,
    Id,
    Slug,
    Status,
    Severity,
    TimeZone,
    DefaultLanguage,
    Languages,
    Title,
    Summary,
    Letter,
    LetterSignature,
    ContactGuidance,
    Settings,
    OpenedAt,
    ClosedAt,
    CreatedAt,
    UpdatedAt,
    ContentVersion,
}

#[derive(DeriveIden)]
enum IncidentUpdates {
    Table,
    Id,
    IncidentId,
    Body,
    PublishedAt,
    AuthorId,
}

#[derive(DeriveIden)]
enum Policies {
    Table,
    Id,
    IncidentId,
    Kind,
    Title,
    Body,
    Standard,
    Position,
}

#[derive(DeriveIden)]
enum Channels {
    Table,
    Id,
    IncidentId,
    Kind,
    Label,
    Address,
    PostedLowMinutes,
    PostedHighMinutes,
    Position,
}

#[derive(DeriveIden)]
enum AudienceMembers {
    Table,
    Id,
    IncidentId,
    Email,
    Name,
    BookingRef,
    DepartureDate,
    Language,
    Variables,
    Source,
    ConfirmedAt,
    UnsubscribedAt,
    BouncedAt,
    UnsubscribeToken,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Campaigns {
    Table,
    Id,
    IncidentId,
    Subject,
    BodyHtml,
    BodyText,
    Segment,
    Status,
    ScheduledAt,
    CreatedAt,
    StartedAt,
    FinishedAt,
    CreatedBy,
}

#[derive(DeriveIden)]
enum Deliveries {
    Table,
    Id,
    CampaignId,
    AudienceMemberId,
    Status,
    MessageId,
    Attempts,
    ClaimedBy,
    LeaseUntil,
    NextAttemptAt,
    SentAt,
    Error,
}

#[derive(DeriveIden)]
enum Cases {
    Table,
    Id,
    IncidentId,
    Reference,
    AccessTokenHash,
    CustomerName,
    Email,
    Phone,
    BookingRef,
    DepartureDate,
    RequestType,
    Team,
    Language,
    Status,
    Channel,
    IdempotencyKey,
    ContactCount,
    CreatedAt,
    UpdatedAt,
    FirstResponseAt,
    ResolvedAt,
    ClaimedBy,
    LeaseUntil,
    OverdueAt,
}

#[derive(DeriveIden)]
enum Contacts {
    Table,
    Id,
    CaseId,
    Direction,
    Channel,
    ExternalId,
    AuthorId,
    Body,
    Meta,
    CreatedAt,
}

#[derive(DeriveIden)]
enum MailQueue {
    Table,
    Id,
    CaseId,
    Kind,
    Recipient,
    Payload,
    Status,
    Attempts,
    LeaseUntil,
    NextAttemptAt,
    SentAt,
    Error,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    Id,
    Url,
    Secret,
    Events,
    Active,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    At,
    Actor,
    Action,
    Subject,
    Details,
}

fn fk(
    from_table: impl IntoIden,
    from_col: impl IntoIden,
    to_table: impl IntoIden,
    to_col: impl IntoIden,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from_table, from_col)
        .to(to_table, to_col)
        .on_delete(ForeignKeyAction::Cascade)
        .take()
}

fn index(
    table: impl IntoIden,
    name: &str,
    columns: &[&'static str],
    unique: bool,
) -> IndexCreateStatement {
    let mut statement = Index::create()
        .name(name)
        .table(table)
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
        let tables = [
            Table::create()
                .table(Users::Table)
                .if_not_exists()
                .col(big_pk_auto(Users::Id))
                .col(string_uniq(Users::Email))
                .col(string(Users::Name))
                .col(string(Users::Role))
                .col(string(Users::PasswordHash))
                .col(boolean(Users::Active).default(true))
                .col(timestamp_with_time_zone(Users::CreatedAt))
                .take(),
            Table::create()
                .table(Sessions::Table)
                .if_not_exists()
                .col(string(Sessions::Id).primary_key())
                .col(big_integer(Sessions::UserId))
                .col(string(Sessions::CsrfToken))
                .col(timestamp_with_time_zone(Sessions::CreatedAt))
                .col(timestamp_with_time_zone(Sessions::ExpiresAt))
                .foreign_key(&mut fk(
                    Sessions::Table,
                    Sessions::UserId,
                    Users::Table,
                    Users::Id,
                ))
                .take(),
            Table::create()
                .table(ApiTokens::Table)
                .if_not_exists()
                .col(big_pk_auto(ApiTokens::Id))
                .col(string(ApiTokens::Name))
                .col(string_uniq(ApiTokens::TokenHash))
                .col(big_integer(ApiTokens::UserId))
                .col(timestamp_with_time_zone(ApiTokens::CreatedAt))
                .col(timestamp_with_time_zone_null(ApiTokens::RevokedAt))
                .foreign_key(&mut fk(
                    ApiTokens::Table,
                    ApiTokens::UserId,
                    Users::Table,
                    Users::Id,
                ))
                .take(),
            Table::create()
                .table(LoginAttempts::Table)
                .if_not_exists()
                .col(big_pk_auto(LoginAttempts::Id))
                .col(string(LoginAttempts::Email))
                .col(string(LoginAttempts::Address))
                .col(timestamp_with_time_zone(LoginAttempts::AttemptedAt))
                .take(),
            Table::create()
                .table(Teams::Table)
                .if_not_exists()
                .col(big_pk_auto(Teams::Id))
                .col(string_uniq(Teams::Key))
                .col(string(Teams::Name))
                .take(),
            Table::create()
                .table(TeamMembers::Table)
                .if_not_exists()
                .col(big_integer(TeamMembers::TeamId))
                .col(big_integer(TeamMembers::UserId))
                .primary_key(
                    Index::create()
                        .col(TeamMembers::TeamId)
                        .col(TeamMembers::UserId),
                )
                .foreign_key(&mut fk(
                    TeamMembers::Table,
                    TeamMembers::TeamId,
                    Teams::Table,
                    Teams::Id,
                ))
                .foreign_key(&mut fk(
                    TeamMembers::Table,
                    TeamMembers::UserId,
                    Users::Table,
                    Users::Id,
                ))
                .take(),
            Table::create()
                .table(Incidents::Table)
                .if_not_exists()
                .col(big_pk_auto(Incidents::Id))
                .col(string_uniq(Incidents::Slug))
                .col(string(Incidents::Status))
                .col(string(Incidents::Severity))
                .col(string(Incidents::TimeZone))
                .col(string(Incidents::DefaultLanguage))
                .col(json_binary(Incidents::Languages))
                .col(json_binary(Incidents::Title))
                .col(json_binary(Incidents::Summary))
                .col(json_binary(Incidents::Letter))
                .col(string(Incidents::LetterSignature))
                .col(json_binary(Incidents::ContactGuidance))
                .col(json_binary(Incidents::Settings))
                .col(timestamp_with_time_zone_null(Incidents::OpenedAt))
                .col(timestamp_with_time_zone_null(Incidents::ClosedAt))
                .col(timestamp_with_time_zone(Incidents::CreatedAt))
                .col(timestamp_with_time_zone(Incidents::UpdatedAt))
                .col(big_integer(Incidents::ContentVersion).default(1))
                .take(),
            Table::create()
                .table(IncidentUpdates::Table)
                .if_not_exists()
                .col(big_pk_auto(IncidentUpdates::Id))
                .col(big_integer(IncidentUpdates::IncidentId))
                .col(json_binary(IncidentUpdates::Body))
                .col(timestamp_with_time_zone(IncidentUpdates::PublishedAt))
                .col(big_integer_null(IncidentUpdates::AuthorId))
                .foreign_key(&mut fk(
                    IncidentUpdates::Table,
                    IncidentUpdates::IncidentId,
                    Incidents::Table,
                    Incidents::Id,
                ))
                .take(),
            Table::create()
                .table(Policies::Table)
                .if_not_exists()
                .col(big_pk_auto(Policies::Id))
                .col(big_integer(Policies::IncidentId))
                .col(string(Policies::Kind))
                .col(json_binary(Policies::Title))
                .col(json_binary(Policies::Body))
                .col(json_binary(Policies::Standard))
                .col(integer(Policies::Position))
                .foreign_key(&mut fk(
                    Policies::Table,
                    Policies::IncidentId,
                    Incidents::Table,
                    Incidents::Id,
                ))
                .take(),
            Table::create()
                .table(Channels::Table)
                .if_not_exists()
                .col(big_pk_auto(Channels::Id))
                .col(big_integer(Channels::IncidentId))
                .col(string(Channels::Kind))
                .col(json_binary(Channels::Label))
                .col(string(Channels::Address))
                .col(big_integer_null(Channels::PostedLowMinutes))
                .col(big_integer_null(Channels::PostedHighMinutes))
                .col(integer(Channels::Position))
                .foreign_key(&mut fk(
                    Channels::Table,
                    Channels::IncidentId,
                    Incidents::Table,
                    Incidents::Id,
                ))
                .take(),
            Table::create()
                .table(AudienceMembers::Table)
                .if_not_exists()
                .col(big_pk_auto(AudienceMembers::Id))
                .col(big_integer(AudienceMembers::IncidentId))
                .col(string(AudienceMembers::Email))
                .col(string(AudienceMembers::Name))
                .col(string_null(AudienceMembers::BookingRef))
                .col(date_null(AudienceMembers::DepartureDate))
                .col(string(AudienceMembers::Language))
                .col(json_binary(AudienceMembers::Variables))
                .col(string(AudienceMembers::Source))
                .col(timestamp_with_time_zone_null(AudienceMembers::ConfirmedAt))
                .col(timestamp_with_time_zone_null(
                    AudienceMembers::UnsubscribedAt,
                ))
                .col(timestamp_with_time_zone_null(AudienceMembers::BouncedAt))
                .col(string_uniq(AudienceMembers::UnsubscribeToken))
                .col(timestamp_with_time_zone(AudienceMembers::CreatedAt))
                .foreign_key(&mut fk(
                    AudienceMembers::Table,
                    AudienceMembers::IncidentId,
                    Incidents::Table,
                    Incidents::Id,
                ))
                .take(),
            Table::create()
                .table(Campaigns::Table)
                .if_not_exists()
                .col(big_pk_auto(Campaigns::Id))
                .col(big_integer(Campaigns::IncidentId))
                .col(string(Campaigns::Subject))
                .col(text(Campaigns::BodyHtml))
                .col(text(Campaigns::BodyText))
                .col(json_binary(Campaigns::Segment))
                .col(string(Campaigns::Status))
                .col(timestamp_with_time_zone_null(Campaigns::ScheduledAt))
                .col(timestamp_with_time_zone(Campaigns::CreatedAt))
                .col(timestamp_with_time_zone_null(Campaigns::StartedAt))
                .col(timestamp_with_time_zone_null(Campaigns::FinishedAt))
                .col(big_integer_null(Campaigns::CreatedBy))
                .foreign_key(&mut fk(
                    Campaigns::Table,
                    Campaigns::IncidentId,
                    Incidents::Table,
                    Incidents::Id,
                ))
                .take(),
            Table::create()
                .table(Deliveries::Table)
                .if_not_exists()
                .col(big_pk_auto(Deliveries::Id))
                .col(big_integer(Deliveries::CampaignId))
                .col(big_integer(Deliveries::AudienceMemberId))
                .col(string(Deliveries::Status))
                .col(string_uniq(Deliveries::MessageId))
                .col(integer(Deliveries::Attempts).default(0))
                .col(string_null(Deliveries::ClaimedBy))
                .col(timestamp_with_time_zone_null(Deliveries::LeaseUntil))
                .col(timestamp_with_time_zone(Deliveries::NextAttemptAt))
                .col(timestamp_with_time_zone_null(Deliveries::SentAt))
                .col(text_null(Deliveries::Error))
                .foreign_key(&mut fk(
                    Deliveries::Table,
                    Deliveries::CampaignId,
                    Campaigns::Table,
                    Campaigns::Id,
                ))
                .foreign_key(&mut fk(
                    Deliveries::Table,
                    Deliveries::AudienceMemberId,
                    AudienceMembers::Table,
                    AudienceMembers::Id,
                ))
                .take(),
            Table::create()
                .table(Cases::Table)
                .if_not_exists()
                .col(big_pk_auto(Cases::Id))
                .col(big_integer(Cases::IncidentId))
                .col(string_uniq(Cases::Reference))
                .col(string(Cases::AccessTokenHash))
                .col(string(Cases::CustomerName))
                .col(string_null(Cases::Email))
                .col(string_null(Cases::Phone))
                .col(string_null(Cases::BookingRef))
                .col(date_null(Cases::DepartureDate))
                .col(string(Cases::RequestType))
                .col(string_null(Cases::Team))
                .col(string(Cases::Language))
                .col(string(Cases::Status))
                .col(string(Cases::Channel))
                .col(string_null(Cases::IdempotencyKey).unique_key())
                .col(integer(Cases::ContactCount).default(1))
                .col(timestamp_with_time_zone(Cases::CreatedAt))
                .col(timestamp_with_time_zone(Cases::UpdatedAt))
                .col(timestamp_with_time_zone_null(Cases::FirstResponseAt))
                .col(timestamp_with_time_zone_null(Cases::ResolvedAt))
                .col(big_integer_null(Cases::ClaimedBy))
                .col(timestamp_with_time_zone_null(Cases::LeaseUntil))
                .col(timestamp_with_time_zone_null(Cases::OverdueAt))
                .foreign_key(&mut fk(
                    Cases::Table,
                    Cases::IncidentId,
                    Incidents::Table,
                    Incidents::Id,
                ))
                .take(),
            Table::create()
                .table(Contacts::Table)
                .if_not_exists()
                .col(big_pk_auto(Contacts::Id))
                .col(big_integer(Contacts::CaseId))
                .col(string(Contacts::Direction))
                .col(string(Contacts::Channel))
                .col(string_null(Contacts::ExternalId))
                .col(big_integer_null(Contacts::AuthorId))
                .col(text(Contacts::Body))
                .col(json_binary(Contacts::Meta))
                .col(timestamp_with_time_zone(Contacts::CreatedAt))
                .foreign_key(&mut fk(
                    Contacts::Table,
                    Contacts::CaseId,
                    Cases::Table,
                    Cases::Id,
                ))
                .take(),
            Table::create()
                .table(MailQueue::Table)
                .if_not_exists()
                .col(big_pk_auto(MailQueue::Id))
                .col(big_integer_null(MailQueue::CaseId))
                .col(string(MailQueue::Kind))
                .col(string(MailQueue::Recipient))
                .col(json_binary(MailQueue::Payload))
                .col(string(MailQueue::Status))
                .col(integer(MailQueue::Attempts).default(0))
                .col(timestamp_with_time_zone_null(MailQueue::LeaseUntil))
                .col(timestamp_with_time_zone(MailQueue::NextAttemptAt))
                .col(timestamp_with_time_zone_null(MailQueue::SentAt))
                .col(text_null(MailQueue::Error))
                .col(timestamp_with_time_zone(MailQueue::CreatedAt))
                .take(),
            Table::create()
                .table(WebhookEndpoints::Table)
                .if_not_exists()
                .col(big_pk_auto(WebhookEndpoints::Id))
                .col(string(WebhookEndpoints::Url))
                .col(string(WebhookEndpoints::Secret))
                .col(json_binary(WebhookEndpoints::Events))
                .col(boolean(WebhookEndpoints::Active).default(true))
                .col(timestamp_with_time_zone(WebhookEndpoints::CreatedAt))
                .take(),
            Table::create()
                .table(AuditLog::Table)
                .if_not_exists()
                .col(big_pk_auto(AuditLog::Id))
                .col(timestamp_with_time_zone(AuditLog::At))
                .col(string(AuditLog::Actor))
                .col(string(AuditLog::Action))
                .col(string(AuditLog::Subject))
                .col(json_binary(AuditLog::Details))
                .take(),
        ];
        for table in tables {
            manager.create_table(table).await?;
        }

        let indexes = [
            index(Sessions::Table, "idx_sessions_user", &["user_id"], false),
            index(
                LoginAttempts::Table,
                "idx_login_attempts_email",
                &["email", "attempted_at"],
                false,
            ),
            index(
                LoginAttempts::Table,
                "idx_login_attempts_address",
                &["address", "attempted_at"],
                false,
            ),
            index(
                IncidentUpdates::Table,
                "idx_updates_incident",
                &["incident_id", "published_at"],
                false,
            ),
            index(
                Policies::Table,
                "idx_policies_incident",
                &["incident_id", "position"],
                false,
            ),
            index(
                Channels::Table,
                "idx_channels_incident_kind",
                &["incident_id", "kind"],
                true,
            ),
            index(
                AudienceMembers::Table,
                "idx_audience_incident_email",
                &["incident_id", "email"],
                true,
            ),
            index(
                Deliveries::Table,
                "idx_deliveries_campaign_member",
                &["campaign_id", "audience_member_id"],
                true,
            ),
            index(
                Deliveries::Table,
                "idx_deliveries_due",
                &["status", "next_attempt_at"],
                false,
            ),
            // The queue: open cases of an incident, by departure date then age.
            index(
                Cases::Table,
                "idx_cases_queue",
                &["incident_id", "status", "departure_date", "created_at"],
                false,
            ),
            index(
                Cases::Table,
                "idx_cases_email",
                &["incident_id", "email"],
                false,
            ),
            index(
                Cases::Table,
                "idx_cases_phone",
                &["incident_id", "phone"],
                false,
            ),
            index(
                Cases::Table,
                "idx_cases_booking",
                &["incident_id", "booking_ref"],
                false,
            ),
            index(
                Contacts::Table,
                "idx_contacts_case",
                &["case_id", "created_at"],
                false,
            ),
            index(
                Contacts::Table,
                "idx_contacts_external",
                &["channel", "external_id"],
                true,
            ),
            index(
                MailQueue::Table,
                "idx_mail_queue_due",
                &["status", "next_attempt_at"],
                false,
            ),
            index(AuditLog::Table, "idx_audit_at", &["at"], false),
        ];
        for statement in indexes {
            manager.create_index(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let tables: [DynIden; 18] = [
            AuditLog::Table.into_iden(),
            WebhookEndpoints::Table.into_iden(),
            MailQueue::Table.into_iden(),
            Contacts::Table.into_iden(),
            Cases::Table.into_iden(),
            Deliveries::Table.into_iden(),
            Campaigns::Table.into_iden(),
            AudienceMembers::Table.into_iden(),
            Channels::Table.into_iden(),
            Policies::Table.into_iden(),
            IncidentUpdates::Table.into_iden(),
            Incidents::Table.into_iden(),
            TeamMembers::Table.into_iden(),
            Teams::Table.into_iden(),
            LoginAttempts::Table.into_iden(),
            ApiTokens::Table.into_iden(),
            Sessions::Table.into_iden(),
            Users::Table.into_iden(),
        ];
        for table in tables {
            manager
                .drop_table(Table::drop().table(table).if_exists().take())
                .await?;
        }
        Ok(())
    }
}

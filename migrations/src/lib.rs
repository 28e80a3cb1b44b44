//! Muster's schema, one migration per change. Run by `muster migrate` and at `serve` start.

pub use sea_orm_migration::prelude::*;

mod m20261124_000001_initial_schema;
mod m20261124_000002_case_tokens;
mod m20261124_000003_queue;
mod m20261124_000004_wait_inputs;
mod m20261124_100000_bulk_mail;
mod m20261124_200000_webhook_deliveries;
mod m20261130_000001_live_wait_inputs;
mod m20261130_100000_channel_wait_override;
mod m20261130_200000_partial_case_indexes;
mod m20261203_000001_subscription_resend;
mod m20261204_100000_mailboxes;
mod m20261204_200000_mail_feedback;
mod m20261204_400000_case_merges;
mod m20261204_500000_disruption_groups;
mod m20261205_100000_outbound_messages;
mod m20261205_200000_call_backs;
mod m20261205_200000_inbound_signatures;
mod m20261205_500000_unverified_matches;
mod m20261205_500001_rate_windows;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_initial_schema::Migration),
            Box::new(m20261124_000002_case_tokens::Migration),
            Box::new(m20261124_000003_queue::Migration),
            Box::new(m20261124_000004_wait_inputs::Migration),
            Box::new(m20261124_100000_bulk_mail::Migration),
            Box::new(m20261124_200000_webhook_deliveries::Migration),
            Box::new(m20261130_000001_live_wait_inputs::Migration),
            Box::new(m20261130_100000_channel_wait_override::Migration),
            Box::new(m20261130_200000_partial_case_indexes::Migration),
            Box::new(m20261203_000001_subscription_resend::Migration),
            Box::new(m20261204_100000_mailboxes::Migration),
            Box::new(m20261204_200000_mail_feedback::Migration),
            Box::new(m20261204_400000_case_merges::Migration),
            Box::new(m20261204_500000_disruption_groups::Migration),
            Box::new(m20261205_500000_unverified_matches::Migration),
            Box::new(m20261205_500001_rate_windows::Migration),
            Box::new(m20261205_200000_inbound_signatures::Migration),
            Box::new(m20261205_200000_call_backs::Migration),
            Box::new(m20261205_100000_outbound_messages::Migration),
        ]
    }
}

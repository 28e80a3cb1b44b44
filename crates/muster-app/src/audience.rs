//! Importing the affected customers of an incident from a CSV file: each line added or
//! updated by email, every rejected line reported with its reason.

use muster_core::audience::parse_audience_csv;
use muster_store::audience::ImportReport;

use crate::{Actor, App, AppError, AppResult};

impl App {
    /// `progress(done, total)` is told as rows are written, for a progress bar.
    pub async fn import_audience(
        &self,
        actor: &Actor,
        slug: &str,
        csv: &str,
        progress: impl FnMut(usize, usize),
    ) -> AppResult<ImportReport> {
        actor.require_manager()?;
        let incident = self.incident(slug).await?;
        let parsed = parse_audience_csv(csv, &incident.default_language)
            .map_err(|e| AppError::Refused(e.to_string()))?;
        Ok(self
            .store
            .import_audience(slug, parsed, &actor.label, progress)
            .await?)
    }
}

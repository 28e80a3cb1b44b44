//! Console users and API tokens: who may sign in, with which role and teams, and the bearer
//! tokens integrations use. Each change is audited.

use muster_core::contact_info::EmailAddress;
use muster_core::role::Role;
use muster_store::users::User;

use crate::{Actor, App, AppResult};

impl App {
    /// Adds the user, or updates their name, role and password if they exist; joins `teams`
    /// (created on first use).
    pub async fn add_user(
        &self,
        actor: &Actor,
        email: &EmailAddress,
        name: &str,
        role: Role,
        password: &str,
        teams: &[String],
    ) -> AppResult<User> {
        actor.require_manager()?;
        let user = self.store.upsert_user(email, name, role, password).await?;
        for key in teams {
            let team = self.store.ensure_team(key, key).await?;
            self.store.add_team_member(team.id, user.id).await?;
        }
        self.store
            .audit(
                &actor.label,
                "user.add",
                &user.email,
                serde_json::json!({"role": user.role, "teams": teams}),
            )
            .await?;
        Ok(user)
    }

    /// A new bearer token for `user_email`: its id and the secret, which is shown only now.
    pub async fn create_token(
        &self,
        actor: &Actor,
        user_email: &str,
        name: &str,
    ) -> AppResult<(i64, String)> {
        actor.require_manager()?;
        let (id, token) = self.store.create_api_token(user_email, name).await?;
        self.store
            .audit(
                &actor.label,
                "token.create",
                user_email,
                serde_json::json!({"token_id": id, "name": name}),
            )
            .await?;
        Ok((id, token))
    }

    pub async fn revoke_token(&self, actor: &Actor, id: i64) -> AppResult<()> {
        actor.require_manager()?;
        self.store.revoke_api_token(id).await?;
        self.store
            .audit(
                &actor.label,
                "token.revoke",
                &id.to_string(),
                serde_json::json!({}),
            )
            .await?;
        Ok(())
    }
}

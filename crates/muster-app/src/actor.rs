//! Who does a use case: a signed-in user (console or API token) or the operator's CLI.
//! The audit log names them; a rule that depends on the role reads it here.

use muster_core::role::Role;
use muster_store::users::User;

use crate::AppError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// As the audit log shows it: `user:kari@example.com`, `api:kari@example.com`, `cli`.
    pub label: String,
    /// The user behind it; `None` for the CLI.
    pub user_id: Option<i64>,
    /// `None` for the CLI, which runs with the operator's full rights.
    pub role: Option<Role>,
}

impl Actor {
    /// The operator at the command line, who has the database in hand anyway.
    pub fn cli() -> Self {
        Self {
            label: "cli".to_owned(),
            user_id: None,
            role: None,
        }
    }

    /// A user signed in to the console.
    pub fn console(user: &User) -> Self {
        Self::of(user, "user")
    }

    /// A user acting through an API token.
    pub fn api(user: &User) -> Self {
        Self::of(user, "api")
    }

    fn of(user: &User, door: &str) -> Self {
        Self {
            label: format!("{door}:{}", user.email),
            user_id: Some(user.id),
            role: Some(user.role),
        }
    }

    pub fn is_manager(&self) -> bool {
        self.role.is_none_or(|role| role.is_manager())
    }

    /// Managers' actions refuse agents.
    pub fn require_manager(&self) -> Result<(), AppError> {
        if self.is_manager() {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }
}

//! Teams that request types route to, and who is in them.

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::Serialize;

use crate::Store;
use crate::entity::{team, team_member};
use crate::error::StoreResult;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Team {
    pub id: i64,
    pub key: String,
    pub name: String,
}

impl Store {
    pub async fn ensure_team(&self, key: &str, name: &str) -> StoreResult<Team> {
        let found = team::Entity::find()
            .filter(team::Column::Key.eq(key))
            .one(&self.db)
            .await?;
        let model = match found {
            Some(model) => model,
            None => {
                team::ActiveModel {
                    key: Set(key.to_owned()),
                    name: Set(name.to_owned()),
                    ..Default::default()
                }
                .insert(&self.db)
                .await?
            }
        };
        Ok(Team {
            id: model.id,
            key: model.key,
            name: model.name,
        })
    }

    pub async fn add_team_member(&self, team_id: i64, user_id: i64) -> StoreResult<()> {
        team_member::Entity::insert(team_member::ActiveModel {
            team_id: Set(team_id),
            user_id: Set(user_id),
        })
        .on_conflict_do_nothing_on([team_member::Column::TeamId, team_member::Column::UserId])
        .exec(&self.db)
        .await?;
        Ok(())
    }

    pub async fn list_teams(&self) -> StoreResult<Vec<Team>> {
        Ok(team::Entity::find()
            .order_by_asc(team::Column::Key)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| Team {
                id: m.id,
                key: m.key,
                name: m.name,
            })
            .collect())
    }
}

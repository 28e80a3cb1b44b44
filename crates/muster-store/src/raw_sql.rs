//! Hand-written SQL for the few queries the query builder cannot express on both engines
//! (claims with `FOR UPDATE SKIP LOCKED`, an update and its audit entry in one statement
//! on PostgreSQL). Written with `?` placeholders; PostgreSQL gets
//! `$1, $2, …`, and `{skip_locked}` becomes the row-lock clause there and nothing on
//! SQLite, whose single writer connection already serialises claims. `{async_commit}`,
//! between an `UPDATE`'s `SET` and `WHERE`, joins a one-row subquery that sets
//! `synchronous_commit = off` for the statement's own transaction on PostgreSQL (the
//! function form of `SET LOCAL`, without a round trip of its own); nothing on SQLite,
//! where every commit waits for the disk (`synchronous = FULL`) and claims are no exception.

use sea_orm::{DbBackend, Statement, Value};

const ASYNC_COMMIT_POSTGRES: &str =
    "FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit";

pub(crate) fn statement(backend: DbBackend, template: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DbBackend::Postgres => {
            let mut out = String::with_capacity(template.len() + 16);
            let mut index = 0;
            for ch in template.chars() {
                if ch == '?' {
                    index += 1;
                    out.push_str(&format!("${index}"));
                } else {
                    out.push(ch);
                }
            }
            out.replace("{skip_locked}", "FOR UPDATE SKIP LOCKED")
                .replace("{async_commit}", ASYNC_COMMIT_POSTGRES)
        }
        _ => template
            .replace("{skip_locked}", "")
            .replace("{async_commit}", ""),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_follow_the_engine() {
        let template = "SELECT id FROM t WHERE a = ? AND b < ? {skip_locked}";
        let pg = statement(DbBackend::Postgres, template, vec![]);
        assert_eq!(
            pg.sql,
            "SELECT id FROM t WHERE a = $1 AND b < $2 FOR UPDATE SKIP LOCKED"
        );
        let lite = statement(DbBackend::Sqlite, template, vec![]);
        assert_eq!(
            lite.sql.trim_end(),
            "SELECT id FROM t WHERE a = ? AND b < ?"
        );
    }

    #[test]
    fn only_postgres_commits_a_claim_without_waiting_for_the_disk() {
        let template = "UPDATE t SET a = ? {async_commit} WHERE id = ?";
        let pg = statement(DbBackend::Postgres, template, vec![]);
        assert_eq!(
            pg.sql,
            "UPDATE t SET a = $1 FROM (SELECT set_config('synchronous_commit', 'off', true)) \
             AS async_commit WHERE id = $2"
        );
        let lite = statement(DbBackend::Sqlite, template, vec![]);
        assert_eq!(lite.sql, "UPDATE t SET a = ?  WHERE id = ?");
    }
}

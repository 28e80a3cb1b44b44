//! Hand-written SQL for the few queries the query builder cannot express on both engines
//! (claims with `FOR UPDATE SKIP LOCKED`). Written with `?` placeholders; PostgreSQL gets
//! `$1, $2, …`, and `{skip_locked}` becomes the row-lock clause there and nothing on
//! SQLite, whose single writer connection already serialises claims.

use sea_orm::{DbBackend, Statement, Value};

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
        }
        _ => template.replace("{skip_locked}", ""),
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
}

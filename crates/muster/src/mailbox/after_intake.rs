//! What becomes of messages in the mailbox once they are taken in: marked read, moved to a
//! folder, or deleted. It is done to every message below the cursor that is not done yet,
//! after the cursor is saved: a message is never taken in twice for a failure here, and
//! what a replica killed in between left undone is done by the next round, on any replica.
//! Quarantined messages go the same way; their bytes are kept in the database.

use anyhow::Context;
use futures_util::TryStreamExt;

use super::connection::{Connection, deadline};
use crate::config::AfterIntake;

/// `uids` as an IMAP sequence set: `4,7,9`.
fn uid_set(uids: &[u32]) -> String {
    uids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Applies `action` to the messages below `next_uid` that it has not reached yet.
pub async fn tidy(
    connection: &mut Connection,
    next_uid: u32,
    action: &AfterIntake,
) -> anyhow::Result<()> {
    let Some(last) = next_uid.checked_sub(1).filter(|last| *last > 0) else {
        return Ok(());
    };
    let undone = match action {
        AfterIntake::Flag => "UNSEEN",
        AfterIntake::Move(_) | AfterIntake::Delete => "UNDELETED",
    };
    let found = deadline(
        "looking for taken messages",
        connection
            .session
            .uid_search(format!("UID 1:{last} {undone}")),
    )
    .await?;
    let mut uids: Vec<u32> = found.into_iter().filter(|uid| *uid <= last).collect();
    if uids.is_empty() {
        return Ok(());
    }
    uids.sort_unstable();
    let set = uid_set(&uids);
    match action {
        AfterIntake::Flag => store_flag(connection, &set, "\\Seen").await,
        AfterIntake::Move(folder) if connection.moves => {
            deadline(
                &format!("moving taken messages to {folder}"),
                connection.session.uid_mv(&set, folder),
            )
            .await
        }
        AfterIntake::Move(folder) => {
            deadline(
                &format!("copying taken messages to {folder}"),
                connection.session.uid_copy(&set, folder),
            )
            .await?;
            remove(connection, &set).await
        }
        AfterIntake::Delete => remove(connection, &set).await,
    }
}

async fn store_flag(connection: &mut Connection, set: &str, flag: &str) -> anyhow::Result<()> {
    let query = format!("+FLAGS.SILENT ({flag})");
    let stored = async {
        connection
            .session
            .uid_store(set, &query)
            .await?
            .try_collect::<Vec<_>>()
            .await
    };
    deadline(&format!("flagging taken messages {flag}"), stored).await?;
    Ok(())
}

/// Deletes the messages in `set`, and only those where the server has UIDPLUS.
async fn remove(connection: &mut Connection, set: &str) -> anyhow::Result<()> {
    store_flag(connection, set, "\\Deleted").await?;
    let uid_plus = connection.uid_plus;
    let session = &mut connection.session;
    let expunged = async {
        if uid_plus {
            session
                .uid_expunge(set)
                .await?
                .try_collect::<Vec<_>>()
                .await
        } else {
            session.expunge().await?.try_collect::<Vec<_>>().await
        }
    };
    deadline("expunging taken messages", expunged)
        .await
        .context("the messages are marked \\Deleted")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn uids_become_one_set() {
        assert_eq!(super::uid_set(&[4, 7, 9]), "4,7,9");
    }
}

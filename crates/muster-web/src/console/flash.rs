//! The word that an action worked: every console action redirects (post, redirect, get)
//! with `done=<what>` in the address, and the page it lands on says so. Only the known
//! names below are shown, each from the translations, so the address cannot put words on
//! the page.

use muster_core::language::Lang;

use crate::state::AppState;

/// Each action's name in the address and its message key.
const DONE: [(&str, &str); 9] = [
    ("reply", "console_done_reply"),
    ("reply_next", "console_done_reply_next"),
    ("note", "console_done_note"),
    ("call", "console_done_call"),
    ("status", "console_done_status"),
    ("resolved", "console_done_resolved"),
    ("team", "console_done_team"),
    ("merged", "console_done_merged"),
    ("unmerged", "console_done_unmerged"),
];

/// The message for `done`, if it names an action.
pub fn message(state: &AppState, done: Option<&str>) -> Option<String> {
    let key = DONE.iter().find(|(name, _)| Some(*name) == done)?.1;
    Some(state.translations.text(&Lang::english(), key))
}

#[cfg(test)]
mod tests {
    use super::DONE;
    use muster_app::i18n::Translations;
    use muster_core::language::Lang;

    #[test]
    fn every_action_has_its_message() {
        let translations = Translations::load().expect("the translations load");
        for (_, key) in DONE {
            assert_ne!(translations.text(&Lang::english(), key), key, "{key}");
        }
    }
}

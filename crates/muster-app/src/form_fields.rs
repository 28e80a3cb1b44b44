//! Which trip fields an incident's form asks for, as a manager sets them (console): for
//! each of the booking reference and the departure date, required, optional or not asked,
//! and its label in the language being edited (empty: the standard, translated label).

use muster_core::form_fields::{FieldRule, FormFields};
use muster_core::intake::NAME_MAX;
use muster_core::language::Lang;
use muster_core::problem::{FieldErrors, Problem};
use muster_core::text_rule::single_line;

use muster_store::incidents::IncidentEdit;

use crate::App;
use crate::actor::Actor;
use crate::error::{AppError, AppResult};
use crate::incidents::writing_language;

/// The form's section as typed.
#[derive(Debug, Clone, Default)]
pub struct FormFieldsText {
    pub booking_ref: String,
    pub booking_ref_label: String,
    pub departure_date: String,
    pub departure_date_label: String,
}

/// Checks the typed section over the current settings; labels are set for `lang` only.
pub fn parse_form_fields(
    lang: &Lang,
    typed: &FormFieldsText,
    current: &FormFields,
) -> Result<FormFields, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut rule = |field: &str, raw: &str| {
        FieldRule::parse(raw).or_else(|| {
            let choices = FieldRule::ALL.map(FieldRule::as_str).join(", ");
            errors.insert(
                field.to_owned(),
                Problem::of("err_one_of").with("choices", choices),
            );
            None
        })
    };
    let booking_ref = rule("form_booking_ref", &typed.booking_ref);
    let departure_date = rule("form_departure_date", &typed.departure_date);
    let mut label = |field: &str, raw: &str| {
        let text = raw.trim();
        if text.chars().count() > NAME_MAX {
            errors.insert(field.to_owned(), Problem::too_long(NAME_MAX));
        } else if single_line(text).is_err() {
            errors.insert(field.to_owned(), Problem::of("err_line_break"));
        }
        text.to_owned()
    };
    let booking_ref_label = label("form_booking_ref_label", &typed.booking_ref_label);
    let departure_date_label = label("form_departure_date_label", &typed.departure_date_label);
    match (booking_ref, departure_date) {
        (Some(booking_ref), Some(departure_date)) if errors.is_empty() => {
            let mut fields = current.clone();
            fields.booking_ref = booking_ref;
            fields.departure_date = departure_date;
            fields
                .booking_ref_label
                .set(lang.clone(), booking_ref_label);
            fields
                .departure_date_label
                .set(lang.clone(), departure_date_label);
            Ok(fields)
        }
        _ => Err(errors),
    }
}

impl App {
    /// Sets which trip fields the form asks for; the form shows it at once.
    pub async fn set_form_fields(
        &self,
        actor: &Actor,
        slug: &str,
        lang: Option<&Lang>,
        typed: &FormFieldsText,
    ) -> AppResult<FormFields> {
        actor.require_manager()?;
        let incident = self.incident(slug).await?;
        let lang = writing_language(&incident, lang)?;
        let fields =
            parse_form_fields(&lang, typed, &incident.settings.form).map_err(AppError::Invalid)?;
        let mut settings = incident.settings.clone();
        settings.form = fields;
        let edit = IncidentEdit {
            settings: Some(settings),
            ..Default::default()
        };
        Ok(self.save(actor, slug, edit).await?.settings.form)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(booking: &str, date: &str, label: &str) -> FormFieldsText {
        FormFieldsText {
            booking_ref: booking.into(),
            booking_ref_label: label.into(),
            departure_date: date.into(),
            departure_date_label: String::new(),
        }
    }

    #[test]
    fn a_tram_form_hides_the_booking_and_names_its_fields_per_language() {
        let nb = Lang::parse("nb").unwrap_or_else(|e| panic!("{e:?}"));
        let fields = parse_form_fields(
            &nb,
            &typed("hidden", "optional", "Periodekortnummer"),
            &FormFields::default(),
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(fields.booking_ref, FieldRule::Hidden);
        assert_eq!(fields.departure_date, FieldRule::Optional);
        assert_eq!(fields.booking_ref_label.get(&nb, &nb), "Periodekortnummer");
        assert!(
            fields.departure_date_label.is_empty(),
            "an empty label is the standard one"
        );
    }

    #[test]
    fn an_unknown_rule_or_a_two_line_label_is_refused_beside_its_field() {
        let en = Lang::english();
        let errors = parse_form_fields(
            &en,
            &typed("sometimes", "required", "Ticket\nnumber"),
            &FormFields::default(),
        )
        .err()
        .unwrap_or_default();
        assert_eq!(
            errors.get("form_booking_ref").map(|p| p.key),
            Some("err_one_of")
        );
        assert_eq!(
            errors.get("form_booking_ref_label").map(|p| p.key),
            Some("err_line_break")
        );
        assert!(!errors.contains_key("form_departure_date"));
    }
}

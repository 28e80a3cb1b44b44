//! Handlebars templates, embedded in the binary and compiled once at start.

use handlebars::Handlebars;

const TEMPLATES: [(&str, &str); 17] = [
    ("layout", include_str!("../templates/layout.hbs")),
    ("landing", include_str!("../templates/landing.hbs")),
    ("not_found", include_str!("../templates/not_found.hbs")),
    ("form", include_str!("../templates/form.hbs")),
    ("case", include_str!("../templates/case.hbs")),
    ("notice", include_str!("../templates/notice.hbs")),
    (
        "console_layout",
        include_str!("../templates/console/layout.hbs"),
    ),
    (
        "console_login",
        include_str!("../templates/console/login.hbs"),
    ),
    (
        "console_home",
        include_str!("../templates/console/home.hbs"),
    ),
    (
        "console_incident",
        include_str!("../templates/console/incident.hbs"),
    ),
    (
        "console_mail",
        include_str!("../templates/console/mail.hbs"),
    ),
    (
        "console_audit",
        include_str!("../templates/console/audit.hbs"),
    ),
    (
        "console_queue",
        include_str!("../templates/console/queue.hbs"),
    ),
    (
        "console_case",
        include_str!("../templates/console/case.hbs"),
    ),
    (
        "console_dashboard",
        include_str!("../templates/console/dashboard.hbs"),
    ),
    (
        "console_webhooks",
        include_str!("../templates/console/webhooks.hbs"),
    ),
    (
        "console_webhook",
        include_str!("../templates/console/webhook.hbs"),
    ),
];

#[derive(Debug, thiserror::Error)]
#[error("template {name} does not compile: {source}")]
pub struct TemplateError {
    name: &'static str,
    source: Box<handlebars::TemplateError>,
}

pub fn load() -> Result<Handlebars<'static>, TemplateError> {
    let mut registry = Handlebars::new();
    registry.set_strict_mode(false);
    for (name, source) in TEMPLATES {
        registry
            .register_template_string(name, source)
            .map_err(|e| TemplateError {
                name,
                source: Box::new(e),
            })?;
    }
    Ok(registry)
}

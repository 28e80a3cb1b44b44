//! Handlebars templates, embedded in the binary and compiled once at start.

use handlebars::Handlebars;

const TEMPLATES: [(&str, &str); 26] = [
    ("layout", include_str!("../templates/layout.hbs")),
    ("landing", include_str!("../templates/landing.hbs")),
    ("not_found", include_str!("../templates/not_found.hbs")),
    ("form", include_str!("../templates/form.hbs")),
    ("case", include_str!("../templates/case.hbs")),
    ("notice", include_str!("../templates/notice.hbs")),
    ("crisis", include_str!("../templates/crisis.hbs")),
    ("case_link", include_str!("../templates/case_link.hbs")),
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
        "console_queue_panel",
        include_str!("../templates/console/queue_panel.hbs"),
    ),
    (
        "console_queue_list",
        include_str!("../templates/console/queue_list.hbs"),
    ),
    (
        "console_queue_fragment",
        include_str!("../templates/console/queue_fragment.hbs"),
    ),
    (
        "console_case",
        include_str!("../templates/console/case.hbs"),
    ),
    (
        "console_merge",
        include_str!("../templates/console/merge.hbs"),
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
    (
        "console_mailboxes",
        include_str!("../templates/console/mailboxes.hbs"),
    ),
    (
        "console_groups",
        include_str!("../templates/console/groups.hbs"),
    ),
    (
        "console_group",
        include_str!("../templates/console/group.hbs"),
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

/// Rendering in strict mode, for tests that hold each template to its context struct: a
/// template that names a field the struct does not have fails instead of printing nothing.
#[cfg(test)]
pub mod strict {
    use handlebars::{
        Context, Handlebars, Helper, HelperDef, HelperResult, JsonTruthy, Output, RenderContext,
        RenderError, RenderErrorReason, Renderable, ScopedJson,
    };
    use serde::Serialize;

    /// Strict mode lets helpers take missing values (`{{#if misspelt}}` is silently false);
    /// these stand-ins for `if`, `unless` and `eq` refuse them.
    struct StrictIf {
        positive: bool,
    }

    fn present<'rc>(h: &Helper<'rc>, index: usize) -> Result<serde_json::Value, RenderError> {
        let param = h
            .param(index)
            .ok_or(RenderErrorReason::ParamNotFoundForIndex(
                "strict helper",
                index,
            ))?;
        if param.is_value_missing() {
            let path = param.relative_path().cloned().unwrap_or_default();
            return Err(RenderErrorReason::MissingVariable(Some(path)).into());
        }
        Ok(param.value().clone())
    }

    impl HelperDef for StrictIf {
        fn call<'reg: 'rc, 'rc>(
            &self,
            h: &Helper<'rc>,
            r: &'reg Handlebars<'reg>,
            ctx: &'rc Context,
            rc: &mut RenderContext<'reg, 'rc>,
            out: &mut dyn Output,
        ) -> HelperResult {
            let include_zero = h
                .hash_get("includeZero")
                .and_then(|v| v.value().as_bool())
                .unwrap_or(false);
            let truthy = present(h, 0)?.is_truthy(include_zero) == self.positive;
            match if truthy { h.template() } else { h.inverse() } {
                Some(t) => t.render(r, ctx, rc, out),
                None => Ok(()),
            }
        }
    }

    struct StrictEq;

    impl HelperDef for StrictEq {
        fn call_inner<'reg: 'rc, 'rc>(
            &self,
            h: &Helper<'rc>,
            _: &'reg Handlebars<'reg>,
            _: &'rc Context,
            _: &mut RenderContext<'reg, 'rc>,
        ) -> Result<ScopedJson<'rc>, RenderError> {
            Ok(ScopedJson::Derived(serde_json::Value::Bool(
                present(h, 0)? == present(h, 1)?,
            )))
        }
    }

    fn registry() -> Handlebars<'static> {
        let mut registry = match super::load() {
            Ok(registry) => registry,
            Err(e) => panic!("{e}"),
        };
        registry.set_strict_mode(true);
        registry.register_helper("if", Box::new(StrictIf { positive: true }));
        registry.register_helper("unless", Box::new(StrictIf { positive: false }));
        registry.register_helper("eq", Box::new(StrictEq));
        registry
    }

    /// A message on each of `fields`, so every `errors.x` a template names must be one.
    pub fn errors_on(fields: &[&str]) -> std::collections::BTreeMap<String, String> {
        fields
            .iter()
            .map(|f| ((*f).to_owned(), format!("{f} is wrong")))
            .collect()
    }

    /// Renders `template` against `context`, failing the test on any name it lacks.
    pub fn render(template: &str, context: &impl Serialize) -> String {
        registry()
            .render(template, context)
            .unwrap_or_else(|e| panic!("{template} names what its context lacks: {e}"))
    }

    #[test]
    fn a_misspelt_name_fails() {
        let registry = registry();
        let context = serde_json::json!({ "present": true });
        for source in [
            "{{absent}}",
            "{{#if absent}}x{{/if}}",
            "{{#if (eq absent 1)}}x{{/if}}",
        ] {
            assert!(
                registry.render_template(source, &context).is_err(),
                "{source} renders although `absent` is missing"
            );
        }
        assert_eq!(
            registry
                .render_template("{{#if present}}yes{{/if}}", &context)
                .ok()
                .as_deref(),
            Some("yes")
        );
    }
}

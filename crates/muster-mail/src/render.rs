//! A campaign's subject, text and HTML templates, compiled once and rendered per
//! recipient. HTML escapes what it inserts; the subject and text insert it as written.

use handlebars::Handlebars;
use muster_core::campaign::CampaignContent;

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("the {part} template does not compile: {reason}")]
    Template { part: &'static str, reason: String },
    #[error("the {part} could not be rendered: {reason}")]
    Render { part: &'static str, reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

pub struct CampaignTemplates {
    plain: Handlebars<'static>,
    html: Handlebars<'static>,
    has_html: bool,
}

impl CampaignTemplates {
    pub fn compile(content: &CampaignContent) -> Result<Self, RenderError> {
        let mut plain = Handlebars::new();
        plain.register_escape_fn(handlebars::no_escape);
        let mut html = Handlebars::new();
        let register = |registry: &mut Handlebars<'static>, part: &'static str, source: &str| {
            registry
                .register_template_string(part, source)
                .map_err(|e| RenderError::Template {
                    part,
                    reason: e.to_string(),
                })
        };
        register(&mut plain, "subject", &content.subject)?;
        register(&mut plain, "text", &content.text)?;
        if let Some(source) = &content.html {
            register(&mut html, "html", source)?;
        }
        Ok(Self {
            plain,
            html,
            has_html: content.html.is_some(),
        })
    }

    /// Renders all three parts over one context, built once rather than once per part.
    pub fn render(&self, vars: serde_json::Value) -> Result<Rendered, RenderError> {
        let context = handlebars::Context::from(vars);
        let render = |registry: &Handlebars<'static>, part: &'static str| {
            registry
                .render_with_context(part, &context)
                .map_err(|e| RenderError::Render {
                    part,
                    reason: e.to_string(),
                })
        };
        let subject = render(&self.plain, "subject")?;
        Ok(Rendered {
            // A subject is one line, whatever a variable held.
            subject: subject.split_whitespace().collect::<Vec<_>>().join(" "),
            text: render(&self.plain, "text")?,
            html: if self.has_html {
                Some(render(&self.html, "html")?)
            } else {
                None
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_and_text_does_not() {
        let content = CampaignContent {
            subject: "Update for {{name}}".into(),
            text: "Hi {{name}}".into(),
            html: Some("<p>Hi {{name}}</p>".into()),
        };
        let templates = CampaignTemplates::compile(&content).unwrap_or_else(|e| panic!("{e}"));
        let out = templates
            .render(serde_json::json!({"name": "Ola & <Kari>"}))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.subject, "Update for Ola & <Kari>");
        assert_eq!(out.text, "Hi Ola & <Kari>");
        assert_eq!(
            out.html.as_deref(),
            Some("<p>Hi Ola &amp; &lt;Kari&gt;</p>")
        );
    }

    #[test]
    fn a_broken_template_is_refused() {
        let content = CampaignContent {
            subject: "{{#if}}".into(),
            text: String::new(),
            html: None,
        };
        assert!(CampaignTemplates::compile(&content).is_err());
    }
}

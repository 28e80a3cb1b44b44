//! Rendering an incident's public faces: the landing page per language, its JSON and its
//! Atom feed. Done once per publication, never per request.

use handlebars::Handlebars;
use muster_core::incident::{ChannelKind, Incident, local_time_label};
use muster_core::language::Lang;
use muster_core::markdown;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::live_waits::WaitBoard;
use muster_app::i18n::{Translations, endonym};
use muster_core::priority::Tier;

pub const STYLE: &str = include_str!("../../assets/style.css");

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// A link customers can follow from a channel's address, if it has one.
fn channel_href(kind: ChannelKind, address: &str) -> String {
    let address = address.trim();
    match kind {
        ChannelKind::Phone => {
            let dial: String = address
                .chars()
                .filter(|c| c.is_ascii_digit() || *c == '+')
                .collect();
            format!("tel:{dial}")
        }
        ChannelKind::Email if address.contains('@') => format!("mailto:{address}"),
        _ if address.starts_with("https://") => address.to_owned(),
        _ => String::new(),
    }
}

/// Plain text of the first paragraph, for descriptions and feed titles.
pub fn plain_excerpt(source: &str, max_chars: usize) -> String {
    let first = source.split("\n\n").next().unwrap_or_default();
    let plain: String = first
        .chars()
        .filter(|c| !"*_`#>[]".contains(*c))
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect();
    let plain = plain.trim();
    if plain.chars().count() <= max_chars {
        plain.to_owned()
    } else {
        let cut: String = plain.chars().take(max_chars.saturating_sub(1)).collect();
        format!("{}…", cut.trim_end())
    }
}

pub struct PageRenderer<'a> {
    pub templates: &'a Handlebars<'static>,
    pub translations: &'a Translations,
    pub base_url: &'a str,
    /// Live waits; a page shows what a customer of normal priority can expect.
    pub waits: &'a WaitBoard,
}

impl PageRenderer<'_> {
    pub fn page_url(&self, incident: &Incident) -> String {
        format!("{}/i/{}", self.base_url, incident.slug)
    }

    /// The landing page's data in `lang`: what the template and the static export share.
    pub fn landing_context(&self, incident: &Incident, lang: &Lang) -> Value {
        let fallback = &incident.default_language;
        let text = |l: &muster_core::localized::Localized| l.get(lang, fallback).to_owned();
        let md = |l: &muster_core::localized::Localized| markdown::render(l.get(lang, fallback));
        let t = self.translations.bundle(lang);
        let page_url = self.page_url(incident);
        let title = text(&incident.title);
        let description = plain_excerpt(incident.summary.get(lang, fallback), 160);
        let status_label = self
            .translations
            .text(lang, &format!("status_{}", incident.status.as_str()));
        let policies: Vec<Value> = incident
            .policies
            .iter()
            .map(|p| {
                json!({
                    "kind": p.kind.as_str(),
                    "title": text(&p.title),
                    "body_html": md(&p.body),
                    "standard": text(&p.standard),
                })
            })
            .collect();
        let live = self.waits.get(incident.slug.as_str());
        let channels: Vec<Value> = incident
            .channels
            .iter()
            .map(|c| {
                let label = match text(&c.label) {
                    empty if empty.is_empty() => self
                        .translations
                        .text(lang, &format!("channel_{}", c.kind.as_str())),
                    label => label,
                };
                json!({
                    "kind": c.kind.as_str(),
                    "label": label,
                    "address": c.address,
                    "href": channel_href(c.kind, &c.address),
                    "wait_text": live
                        .as_ref()
                        .and_then(|w| w.for_channel(c.kind, Tier::Normal))
                        .map(|w| w.range)
                        .or(c.posted_wait)
                        .map(|w| self.translations.wait(lang, w.phrase()))
                        .unwrap_or_default(),
                })
            })
            .collect();
        let updates: Vec<Value> = incident
            .updates
            .iter()
            .map(|u| {
                json!({
                    "id": u.id,
                    "published_at_iso": rfc3339(u.published_at),
                    "published_at_human": local_time_label(&incident.time_zone, u.published_at),
                    "body_html": md(&u.body),
                })
            })
            .collect();
        let languages: Vec<Value> = incident
            .languages
            .iter()
            .map(|l| {
                json!({
                    "code": l.as_str(),
                    "name": endonym(l),
                    "url": format!("/i/{}?lang={}", incident.slug, l),
                    "current": l == lang,
                })
            })
            .collect();
        json!({
            "lang": lang.as_str(),
            "dir": if lang.is_rtl() { "rtl" } else { "ltr" },
            "css": STYLE,
            "title": title,
            "description": description,
            "feed_url": format!("/i/{}/feed.atom", incident.slug),
            "og": {
                "title": title,
                "description": description,
                "url": format!("{page_url}?lang={lang}"),
                "locale": lang.as_str(),
            },
            "t": t,
            "languages": languages,
            "incident": {
                "slug": incident.slug.as_str(),
                "title": title,
                "status": incident.status.as_str(),
                "status_label": status_label,
                "severity": incident.severity.as_str(),
                "updated_at_iso": rfc3339(incident.updated_at),
                "updated_at_human": local_time_label(&incident.time_zone, incident.updated_at),
                "summary_html": md(&incident.summary),
                "letter_html": md(&incident.letter),
                "letter_signature": incident.letter_signature,
                "contact_guidance_html": md(&incident.contact_guidance),
                "policies": policies,
                "channels": channels,
                "updates": updates,
                "form_url": format!("/i/{}/form?lang={}", incident.slug, lang),
                "json_url": format!("/i/{}.json", incident.slug),
                "feed_url": format!("/i/{}/feed.atom", incident.slug),
            },
        })
    }

    pub fn landing(
        &self,
        incident: &Incident,
        lang: &Lang,
    ) -> Result<String, handlebars::RenderError> {
        self.templates
            .render("landing", &self.landing_context(incident, lang))
    }

    /// The machine-readable page: every language's content, for apps and the IVR.
    pub fn json(&self, incident: &Incident) -> String {
        let channels: Vec<Value> = incident
            .channels
            .iter()
            .map(|c| {
                json!({
                    "kind": c.kind.as_str(),
                    "label": c.label,
                    "address": c.address,
                    "posted_wait": c.posted_wait,
                })
            })
            .collect();
        let updates: Vec<Value> = incident
            .updates
            .iter()
            .map(|u| json!({"id": u.id, "published_at": rfc3339(u.published_at), "body": u.body}))
            .collect();
        let policies: Vec<Value> = incident
            .policies
            .iter()
            .map(|p| json!({"kind": p.kind.as_str(), "title": p.title, "body": p.body, "standard": p.standard}))
            .collect();
        json!({
            "slug": incident.slug.as_str(),
            "url": self.page_url(incident),
            "status": incident.status.as_str(),
            "severity": incident.severity.as_str(),
            "time_zone": incident.time_zone,
            "default_language": incident.default_language,
            "languages": incident.languages,
            "title": incident.title,
            "summary": incident.summary,
            "letter": incident.letter,
            "letter_signature": incident.letter_signature,
            "contact_guidance": incident.contact_guidance,
            "policies": policies,
            "channels": channels,
            "updates": updates,
            "form_url": format!("{}/form", self.page_url(incident)),
            "updated_at": rfc3339(incident.updated_at),
            "content_version": incident.content_version,
        })
        .to_string()
    }

    /// An Atom 1.0 feed (RFC 4287) of the updates, in the incident's default language.
    pub fn atom(&self, incident: &Incident) -> String {
        let lang = &incident.default_language;
        let page_url = self.page_url(incident);
        let mut xml = String::with_capacity(4096);
        xml.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
        xml.push_str(&format!(
            "<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"{}\">\n",
            xml_escape(lang.as_str())
        ));
        xml.push_str(&format!("  <id>{}</id>\n", xml_escape(&page_url)));
        xml.push_str(&format!(
            "  <title>{}</title>\n",
            xml_escape(incident.title.get(lang, lang))
        ));
        xml.push_str(&format!(
            "  <updated>{}</updated>\n",
            rfc3339(incident.updated_at)
        ));
        xml.push_str(&format!(
            "  <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
            xml_escape(&page_url)
        ));
        xml.push_str(&format!(
            "  <link rel=\"self\" type=\"application/atom+xml\" href=\"{}/feed.atom\"/>\n",
            xml_escape(&page_url)
        ));
        let author = if incident.letter_signature.is_empty() {
            "Muster"
        } else {
            &incident.letter_signature
        };
        xml.push_str(&format!(
            "  <author><name>{}</name></author>\n",
            xml_escape(author)
        ));
        for update in &incident.updates {
            let source = update.body.get(lang, lang);
            xml.push_str("  <entry>\n");
            xml.push_str(&format!(
                "    <id>{}#update-{}</id>\n",
                xml_escape(&page_url),
                update.id
            ));
            xml.push_str(&format!(
                "    <title>{}</title>\n",
                xml_escape(&plain_excerpt(source, 90))
            ));
            xml.push_str(&format!(
                "    <updated>{}</updated>\n",
                rfc3339(update.published_at)
            ));
            xml.push_str(&format!(
                "    <published>{}</published>\n",
                rfc3339(update.published_at)
            ));
            xml.push_str(&format!(
                "    <link rel=\"alternate\" type=\"text/html\" href=\"{}#update-{}\"/>\n",
                xml_escape(&page_url),
                update.id
            ));
            xml.push_str(&format!(
                "    <content type=\"html\">{}</content>\n",
                xml_escape(&markdown::render(source))
            ));
            xml.push_str("  </entry>\n");
        }
        xml.push_str("</feed>\n");
        xml
    }
}

pub fn xml_escape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 forbids are dropped rather than breaking the feed.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

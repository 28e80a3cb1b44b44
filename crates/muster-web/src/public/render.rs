//! Rendering an incident's public faces: the landing page per language, its JSON and its
//! Atom feed. Done once per publication, never per request.

use handlebars::Handlebars;
use muster_core::date_format::digits;
use muster_core::incident::{ChannelKind, Incident, local_time_label};
use muster_core::language::Lang;
use muster_core::markdown;
use serde::Serialize;
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
        ChannelKind::Sms => {
            let dial: String = address
                .chars()
                .filter(|c| c.is_ascii_digit() || *c == '+')
                .collect();
            format!("sms:{dial}")
        }
        // WhatsApp's click-to-chat link takes the number's digits alone.
        ChannelKind::Whatsapp if !address.starts_with("https://") => {
            let digits: String = address.chars().filter(char::is_ascii_digit).collect();
            format!("https://wa.me/{digits}")
        }
        ChannelKind::Telegram if is_telegram_bot(address) => {
            format!("https://t.me/{}", address.trim_start_matches('@'))
        }
        ChannelKind::Email if address.contains('@') => format!("mailto:{address}"),
        _ if address.starts_with("https://") => address.to_owned(),
        // The form's own page, `/i/{slug}/form`: a path on this site.
        _ if address.starts_with('/') && !address.starts_with("//") => address.to_owned(),
        // A social handle is an X (Twitter) account, the channel's usual home.
        ChannelKind::Social if is_handle(address) => {
            format!("https://x.com/{}", address.trim_start_matches('@'))
        }
        _ => String::new(),
    }
}

/// `@name_bot`: 5 to 32 letters, digits and underscores, as Telegram allows in a username.
fn is_telegram_bot(address: &str) -> bool {
    address.strip_prefix('@').is_some_and(|name| {
        (5..=32).contains(&name.len())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    })
}

/// `@name`: letters, digits and underscores, as X allows in a handle.
fn is_handle(address: &str) -> bool {
    address.strip_prefix('@').is_some_and(|name| {
        (1..=15).contains(&name.len())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    })
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

/// What the public layout needs on every page. The head's extras (description, Open
/// Graph, alternate languages, feed) are the landing page's; other pages leave them empty.
#[derive(Debug, Serialize)]
pub struct Frame<'a> {
    pub lang: &'a str,
    pub dir: &'static str,
    pub css: &'static str,
    pub title: String,
    /// Every word of the page in its language, by translation key.
    pub t: Value,
    pub description: Option<String>,
    pub og: Option<OpenGraph>,
    pub languages: Vec<LanguageLink<'a>>,
    pub feed_url: Option<String>,
}

impl<'a> Frame<'a> {
    pub fn new(translations: &Translations, lang: &'a Lang, title: String) -> Self {
        Frame {
            lang: lang.as_str(),
            dir: if lang.is_rtl() { "rtl" } else { "ltr" },
            css: STYLE,
            title,
            t: translations.bundle(lang),
            description: None,
            og: None,
            languages: Vec::new(),
            feed_url: None,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct OpenGraph {
    pub title: String,
    pub description: String,
    pub url: String,
    pub locale: String,
}

/// A language the page is also in, for the switcher and `hreflang` links.
#[derive(Debug, Serialize)]
pub struct LanguageLink<'a> {
    pub code: &'a str,
    pub name: &'static str,
    pub url: String,
    pub current: bool,
}

/// The incident a customer's page belongs to, for its header and the way back.
#[derive(Debug, Serialize)]
pub struct IncidentHeader<'a> {
    pub slug: &'a str,
    pub title: &'a str,
    pub page_url: String,
}

impl<'a> IncidentHeader<'a> {
    pub fn new(incident: &'a Incident, lang: &Lang) -> Self {
        IncidentHeader {
            slug: incident.slug.as_str(),
            title: incident.title.get(lang, &incident.default_language),
            page_url: format!("/i/{}?lang={}", incident.slug, lang),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct LandingPage<'a> {
    #[serde(flatten)]
    pub frame: Frame<'a>,
    pub incident: LandingIncident<'a>,
}

#[derive(Debug, Serialize)]
pub struct LandingIncident<'a> {
    pub slug: &'a str,
    pub title: String,
    pub status: &'static str,
    pub status_label: String,
    pub severity: &'static str,
    pub updated_at_iso: String,
    pub updated_at_human: String,
    pub summary_html: String,
    pub letter_html: String,
    pub letter_signature: &'a str,
    pub contact_guidance_html: String,
    /// The language of each text shown in another language than the page's, not yet
    /// translated: the page marks it with `lang` and says so.
    pub summary_lang: Option<String>,
    pub letter_lang: Option<String>,
    pub contact_guidance_lang: Option<String>,
    pub policies: Vec<PolicyShown>,
    pub channels: Vec<ChannelShown<'a>>,
    pub updates: Vec<UpdateShown>,
    pub form_url: String,
    pub subscribe_url: String,
    pub json_url: String,
    pub feed_url: String,
}

#[derive(Debug, Serialize)]
pub struct PolicyShown {
    pub kind: &'static str,
    pub lang: Option<String>,
    pub title: String,
    pub body_html: String,
    pub standard: String,
}

#[derive(Debug, Serialize)]
pub struct ChannelShown<'a> {
    pub kind: &'static str,
    pub label: String,
    pub label_lang: Option<String>,
    pub address: &'a str,
    pub href: String,
    pub wait_text: String,
}

#[derive(Debug, Serialize)]
pub struct UpdateShown {
    pub id: i64,
    pub lang: Option<String>,
    pub published_at_iso: String,
    pub published_at_human: String,
    pub body_html: String,
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
    pub fn landing_context<'i>(&self, incident: &'i Incident, lang: &'i Lang) -> LandingPage<'i> {
        let fallback = &incident.default_language;
        let text = |l: &muster_core::localized::Localized| l.get(lang, fallback).to_owned();
        let md = |l: &muster_core::localized::Localized| markdown::render(l.get(lang, fallback));
        let foreign = |l: &muster_core::localized::Localized| {
            l.foreign_in(lang, fallback).map(|l| l.as_str().to_owned())
        };
        let page_url = self.page_url(incident);
        let title = text(&incident.title);
        let description = plain_excerpt(incident.summary.get(lang, fallback), 160);
        let status_label = self
            .translations
            .text(lang, &format!("status_{}", incident.status.as_str()));
        let policies = incident
            .policies
            .iter()
            .map(|p| PolicyShown {
                kind: p.kind.as_str(),
                lang: foreign(&p.body).or_else(|| foreign(&p.title)),
                title: text(&p.title),
                body_html: md(&p.body),
                standard: text(&p.standard),
            })
            .collect();
        let live = self.waits.get(incident.slug.as_str());
        let channels = incident
            .channels
            .iter()
            .map(|c| {
                let (label, label_lang) = match text(&c.label) {
                    empty if empty.is_empty() => (
                        self.translations
                            .text(lang, &format!("channel_{}", c.kind.as_str())),
                        None,
                    ),
                    label => (label, foreign(&c.label)),
                };
                ChannelShown {
                    kind: c.kind.as_str(),
                    label,
                    label_lang,
                    address: &c.address,
                    href: channel_href(c.kind, &c.address),
                    wait_text: live
                        .as_ref()
                        .and_then(|w| w.for_channel(c.kind, Tier::Normal))
                        .map(|w| w.range)
                        .or(c.posted_wait)
                        .map(|w| self.translations.wait(lang, w.phrase()))
                        .unwrap_or_default(),
                }
            })
            .collect();
        let updates = incident
            .updates
            .iter()
            .map(|u| UpdateShown {
                id: u.id,
                lang: foreign(&u.body),
                published_at_iso: rfc3339(u.published_at),
                published_at_human: digits(
                    lang.as_str(),
                    &local_time_label(&incident.time_zone, u.published_at),
                ),
                body_html: md(&u.body),
            })
            .collect();
        let languages = incident
            .languages
            .iter()
            .map(|l| LanguageLink {
                code: l.as_str(),
                name: endonym(l),
                url: format!("/i/{}?lang={}", incident.slug, l),
                current: l == lang,
            })
            .collect();
        let feed_url = format!("/i/{}/feed.atom", incident.slug);
        let frame = Frame {
            description: Some(description.clone()),
            og: Some(OpenGraph {
                title: title.clone(),
                description,
                url: format!("{page_url}?lang={lang}"),
                locale: lang.as_str().to_owned(),
            }),
            languages,
            feed_url: Some(feed_url.clone()),
            ..Frame::new(self.translations, lang, title.clone())
        };
        LandingPage {
            frame,
            incident: LandingIncident {
                slug: incident.slug.as_str(),
                title,
                status: incident.status.as_str(),
                status_label,
                severity: incident.severity.as_str(),
                updated_at_iso: rfc3339(incident.updated_at),
                updated_at_human: digits(
                    lang.as_str(),
                    &local_time_label(&incident.time_zone, incident.updated_at),
                ),
                summary_html: md(&incident.summary),
                letter_html: md(&incident.letter),
                letter_signature: &incident.letter_signature,
                contact_guidance_html: md(&incident.contact_guidance),
                summary_lang: foreign(&incident.summary),
                letter_lang: foreign(&incident.letter),
                contact_guidance_lang: foreign(&incident.contact_guidance),
                policies,
                channels,
                updates,
                form_url: format!("/i/{}/form?lang={}", incident.slug, lang),
                subscribe_url: format!("/i/{}/subscribe?lang={}", incident.slug, lang),
                json_url: format!("/i/{}.json", incident.slug),
                feed_url,
            },
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates::strict;

    #[test]
    fn every_channel_a_customer_can_follow_is_a_link() {
        assert_eq!(
            channel_href(ChannelKind::Form, "/i/fire/form"),
            "/i/fire/form"
        );
        assert_eq!(
            channel_href(ChannelKind::Social, "@MSAurora"),
            "https://x.com/MSAurora"
        );
        assert_eq!(channel_href(ChannelKind::Social, "@not a handle"), "");
        assert_eq!(
            channel_href(ChannelKind::Sms, "+47 59 44 00 00"),
            "sms:+4759440000"
        );
        assert_eq!(
            channel_href(ChannelKind::Whatsapp, "+47 59 44 00 00"),
            "https://wa.me/4759440000"
        );
        assert_eq!(
            channel_href(ChannelKind::Telegram, "@ExampleFerriesBot"),
            "https://t.me/ExampleFerriesBot"
        );
        assert_eq!(channel_href(ChannelKind::Telegram, "@x y"), "");
        assert_eq!(channel_href(ChannelKind::Chat, "//evil.example"), "");
        assert_eq!(channel_href(ChannelKind::Phone, "+47 22 00"), "tel:+472200");
    }

    #[test]
    fn the_landing_template_names_only_what_the_page_has() {
        let lang = Lang::english();
        let text = |s: &str| s.to_owned();
        let frame = Frame {
            description: Some(text("Flights are cancelled.")),
            og: Some(OpenGraph {
                title: text("Storm"),
                description: text("Flights are cancelled."),
                url: text("https://example.com/i/storm?lang=en"),
                locale: text("en"),
            }),
            languages: vec![
                LanguageLink {
                    code: "en",
                    name: "English",
                    url: text("/i/storm?lang=en"),
                    current: true,
                },
                LanguageLink {
                    code: "nb",
                    name: "Norsk bokmål",
                    url: text("/i/storm?lang=nb"),
                    current: false,
                },
            ],
            feed_url: Some(text("/i/storm/feed.atom")),
            ..Frame::new(muster_app::i18n::shared(), &lang, text("Storm"))
        };
        let context = LandingPage {
            frame,
            incident: LandingIncident {
                slug: "storm",
                title: text("Storm"),
                status: "active",
                status_label: text("Active"),
                severity: "major",
                updated_at_iso: text("2026-01-01T10:00:00Z"),
                updated_at_human: text("1 Jan 10:00"),
                summary_html: text("<p>Cancelled.</p>"),
                letter_html: text("<p>Dear customer</p>"),
                letter_signature: "The CEO",
                contact_guidance_html: text("<p>Use the form.</p>"),
                summary_lang: Some(text("en")),
                letter_lang: Some(text("en")),
                contact_guidance_lang: Some(text("en")),
                policies: vec![PolicyShown {
                    kind: "refund",
                    lang: Some(text("en")),
                    title: text("Refunds"),
                    body_html: text("<p>We refund.</p>"),
                    standard: text("5 days"),
                }],
                channels: vec![ChannelShown {
                    kind: "phone",
                    label: text("Call us"),
                    label_lang: Some(text("en")),
                    address: "+4712345678",
                    href: text("tel:+4712345678"),
                    wait_text: text("about an hour"),
                }],
                updates: vec![UpdateShown {
                    id: 1,
                    lang: Some(text("en")),
                    published_at_iso: text("2026-01-01T10:00:00Z"),
                    published_at_human: text("1 Jan 10:00"),
                    body_html: text("<p>Still cancelled.</p>"),
                }],
                form_url: text("/i/storm/form?lang=en"),
                subscribe_url: text("/i/storm/subscribe?lang=en"),
                json_url: text("/i/storm.json"),
                feed_url: text("/i/storm/feed.atom"),
            },
        };
        strict::render("landing", &context);
    }
}

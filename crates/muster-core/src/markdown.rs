//! Markdown written by managers, rendered to HTML that cannot carry a script.
//!
//! Raw HTML in the source is shown as text, and links keep only safe schemes, so the
//! output is safe to place in a page without a separate sanitiser. Images load only from
//! the page's own site: one from elsewhere becomes a link to it, so no third party learns
//! who reads the crisis page (and the pages' Content-Security-Policy would block it).

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd, html};

const SAFE_SCHEMES: [&str; 4] = ["http://", "https://", "mailto:", "tel:"];

fn safe_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    let relative = (lower.starts_with('/') && !lower.starts_with("//")) || lower.starts_with('#');
    relative || SAFE_SCHEMES.iter().any(|s| lower.starts_with(s))
}

fn same_site(url: &str) -> bool {
    let url = url.trim();
    url.starts_with('/') && !url.starts_with("//")
}

fn neutralise(url: CowStr<'_>) -> CowStr<'_> {
    if safe_url(&url) {
        url
    } else {
        CowStr::Borrowed("#")
    }
}

pub fn render(source: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    // Whether each open image is shown as a link instead (an image from another site).
    let mut images_as_links: Vec<bool> = Vec::new();
    let events = Parser::new_ext(source, options).map(move |event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: neutralise(dest_url),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            let elsewhere = !same_site(&dest_url);
            images_as_links.push(elsewhere);
            let dest_url = neutralise(dest_url);
            if elsewhere {
                Event::Start(Tag::Link {
                    link_type,
                    dest_url,
                    title,
                    id,
                })
            } else {
                Event::Start(Tag::Image {
                    link_type,
                    dest_url,
                    title,
                    id,
                })
            }
        }
        Event::End(TagEnd::Image) => {
            if images_as_links.pop().unwrap_or(false) {
                Event::End(TagEnd::Link)
            } else {
                Event::End(TagEnd::Image)
            }
        }
        other => other,
    });
    let mut out = String::with_capacity(source.len() * 3 / 2);
    html::push_html(&mut out, events);
    out
}

/// The first paragraph (or heading) as plain text, Markdown removed: a line to say aloud.
pub fn first_paragraph_text(source: &str) -> String {
    let mut text = String::new();
    for event in Parser::new(source) {
        match event {
            Event::Text(t) | Event::Code(t) => text.push_str(&t),
            Event::SoftBreak | Event::HardBreak => text.push(' '),
            Event::End(TagEnd::Paragraph | TagEnd::Heading(_)) if !text.trim().is_empty() => {
                break;
            }
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn images_load_only_from_the_site_itself() {
        let html = render("![Ship](/media/ship.jpg) ![pixel](https://tracker.example/p.gif)");
        assert!(
            html.contains(r#"<img src="/media/ship.jpg" alt="Ship" />"#),
            "{html}"
        );
        assert!(!html.contains("tracker.example/p.gif\" alt"), "{html}");
        assert!(
            html.contains(r#"<a href="https://tracker.example/p.gif">pixel</a>"#),
            "{html}"
        );
        let protocol_relative = render("![x](//tracker.example/p.gif)");
        assert!(!protocol_relative.contains("<img"), "{protocol_relative}");
    }

    #[test]
    fn renders_markdown() {
        assert_eq!(
            render("**Ferries** are *delayed*"),
            "<p><strong>Ferries</strong> are <em>delayed</em></p>\n"
        );
    }

    #[test]
    fn raw_html_becomes_text() {
        let html = render("<script>alert(1)</script>\n\nhi <img src=x onerror=alert(1)>");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }

    #[test]
    fn dangerous_links_are_neutralised() {
        let html =
            render("[x](javascript:alert(1)) [y](https://example.com) ![z](data:text/html,hi)");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(!html.contains("data:"), "{html}");
        assert!(html.contains("href=\"https://example.com\""), "{html}");
    }

    proptest! {
        #[test]
        fn no_input_yields_a_script_tag(source in "\\PC{0,200}") {
            let html = render(&format!("{source}<script>x</script>{source}"));
            prop_assert!(!html.to_ascii_lowercase().contains("<script"));
        }
    }

    #[test]
    fn the_first_paragraph_is_said_without_its_markdown() {
        assert_eq!(
            first_paragraph_text(
                "## Update\n\nAll *passengers* are [safe](https://x.example).\nMore\n\nLater."
            ),
            "Update"
        );
        assert_eq!(
            first_paragraph_text(
                "All *passengers* are [safe](https://x.example).\nBuses at `10:00`.\n\nLater."
            ),
            "All passengers are safe. Buses at 10:00."
        );
        assert_eq!(first_paragraph_text(""), "");
    }
}

//! Markdown written by managers, rendered to HTML that cannot carry a script.
//!
//! Raw HTML in the source is shown as text, and links keep only safe schemes, so the
//! output is safe to place in a page without a separate sanitiser.

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, html};

const SAFE_SCHEMES: [&str; 4] = ["http://", "https://", "mailto:", "tel:"];

fn safe_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    let relative = (lower.starts_with('/') && !lower.starts_with("//")) || lower.starts_with('#');
    relative || SAFE_SCHEMES.iter().any(|s| lower.starts_with(s))
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
    let events = Parser::new_ext(source, options).map(|event| match event {
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
        }) => Event::Start(Tag::Image {
            link_type,
            dest_url: neutralise(dest_url),
            title,
            id,
        }),
        other => other,
    });
    let mut out = String::with_capacity(source.len() * 3 / 2);
    html::push_html(&mut out, events);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
}

//! TwiML, the XML Twilio takes back from a voice webhook: the few verbs the phone line uses,
//! written with quick-xml so every text and attribute is escaped.

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

/// One instruction to Twilio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verb {
    /// Speaks `text` in the `<Say language>` locale (`nb-NO`).
    Say {
        locale: &'static str,
        text: String,
    },
    /// Waits for `digits` keys (or `#`), saying `prompts` meanwhile, then POSTs them to
    /// `action`; with no key pressed, Twilio goes on with the next verb, unless `on_empty`
    /// (then it POSTs the empty entry too).
    Gather {
        action: String,
        digits: u8,
        on_empty: bool,
        prompts: Vec<Verb>,
    },
    Hangup,
}

fn write_verb(writer: &mut Writer<Vec<u8>>, verb: &Verb) -> std::io::Result<()> {
    match verb {
        Verb::Say { locale, text } => {
            writer
                .create_element("Say")
                .with_attribute(("language", *locale))
                .write_text_content(BytesText::new(text))?;
        }
        Verb::Gather {
            action,
            digits,
            on_empty,
            prompts,
        } => {
            writer
                .create_element("Gather")
                .with_attribute(("input", "dtmf"))
                .with_attribute(("numDigits", digits.to_string().as_str()))
                .with_attribute(("finishOnKey", "#"))
                .with_attribute(("timeout", "6"))
                .with_attribute((
                    "actionOnEmptyResult",
                    if *on_empty { "true" } else { "false" },
                ))
                .with_attribute(("method", "POST"))
                .with_attribute(("action", action.as_str()))
                .write_inner_content(|inner| {
                    prompts.iter().try_for_each(|p| write_verb(inner, p))
                })?;
        }
        Verb::Hangup => {
            writer.create_element("Hangup").write_empty()?;
        }
    }
    Ok(())
}

/// The `<Response>` document for `verbs`.
pub fn render(verbs: &[Verb]) -> std::io::Result<String> {
    let mut writer = Writer::new(Vec::new());
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    writer
        .create_element("Response")
        .write_inner_content(|inner| verbs.iter().try_for_each(|v| write_verb(inner, v)))?;
    String::from_utf8(writer.into_inner())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_attributes_are_escaped() {
        let twiml = render(&[
            Verb::Say {
                locale: "en-GB",
                text: "Ferries <cancelled> & buses".into(),
            },
            Verb::Gather {
                action: "https://status.example.com/api/v1/voice/twilio/menu?incident=a&lang=en"
                    .into(),
                digits: 1,
                on_empty: false,
                prompts: vec![Verb::Say {
                    locale: "nb-NO",
                    text: "Trykk 1".into(),
                }],
            },
            Verb::Hangup,
        ])
        .unwrap_or_default();
        assert_eq!(
            twiml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>\
             <Say language=\"en-GB\">Ferries &lt;cancelled&gt; &amp; buses</Say>\
             <Gather input=\"dtmf\" numDigits=\"1\" finishOnKey=\"#\" timeout=\"6\" actionOnEmptyResult=\"false\" method=\"POST\" \
             action=\"https://status.example.com/api/v1/voice/twilio/menu?incident=a&amp;lang=en\">\
             <Say language=\"nb-NO\">Trykk 1</Say></Gather><Hangup/></Response>"
        );
    }
}

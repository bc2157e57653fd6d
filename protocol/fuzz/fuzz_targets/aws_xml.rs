//! Any text through the query protocol's XML encoder, in both the SQS and SNS styles and as an
//! error response: the encoder never panics; it refuses text XML 1.0 cannot carry, and
//! otherwise writes well-formed XML whose text reads back as the input (checked by a small
//! reader here, independent of the encoder).
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use protocol::aws::xml::{self, Fault, XmlError, XmlStyle};
use serde::Serialize;

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Message {
    body: String,
    attributes: BTreeMap<String, String>,
    count: Option<u32>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Output {
    messages: Vec<Message>,
    next_token: Option<String>,
}

/// Whether XML 1.0 can carry `c`.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Checks `text` is well-formed (balanced tags, no stray `<` or `&`, only legal characters)
/// and returns the concatenated text content, entities resolved.
fn read(text: &str) -> String {
    let mut stack: Vec<&str> = Vec::new();
    let mut content = String::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        assert!(is_xml_char(c), "illegal character U+{:04X}", u32::from(c));
        if let Some(tag) = rest.strip_prefix('<') {
            let end = tag.find('>').expect("unclosed tag");
            let inner = &tag[..end];
            if let Some(name) = inner.strip_prefix('/') {
                assert_eq!(stack.pop(), Some(name), "mismatched end tag");
            } else if let Some(name) = inner.strip_suffix('/') {
                assert!(!name.is_empty());
            } else {
                let name = inner.split(' ').next().unwrap_or_default();
                assert!(!name.is_empty() && !name.contains(['<', '&', '"']));
                stack.push(name);
            }
            rest = &tag[end + 1..];
        } else if let Some(reference) = rest.strip_prefix('&') {
            let end = reference.find(';').expect("unterminated reference");
            let resolved = match &reference[..end] {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                hex => {
                    let digits = hex.strip_prefix("#x").expect("unknown entity");
                    let c = u32::from_str_radix(digits, 16)
                        .ok()
                        .and_then(char::from_u32);
                    c.filter(|&c| is_xml_char(c))
                        .expect("bad character reference")
                }
            };
            content.push(resolved);
            rest = &reference[end + 1..];
        } else {
            assert!(c != '>' && c != '\r', "unescaped {c:?} in text");
            content.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    assert!(stack.is_empty(), "unclosed elements {stack:?}");
    content
}

fuzz_target!(|input: &str| {
    let mut parts = input.split('\u{0}');
    let body = parts.next().unwrap_or_default().to_owned();
    let key = parts.next().unwrap_or_default().to_owned();
    let value = parts.next().unwrap_or_default().to_owned();
    let output = Output {
        messages: vec![Message {
            body: body.clone(),
            attributes: BTreeMap::from([(key.clone(), value.clone())]),
            count: Some(7),
        }],
        next_token: None,
    };
    let legal = [&body, &key, &value]
        .iter()
        .all(|text| text.chars().all(is_xml_char));
    for style in [XmlStyle::SQS, XmlStyle::SNS] {
        match xml::encode_response("ReceiveMessage", xml::SQS_NAMESPACE, "r", &output, &style) {
            Ok(bytes) => {
                assert!(legal, "illegal text was written");
                let text = std::str::from_utf8(&bytes).expect("UTF-8");
                // Both styles hold the same text nodes, in field order: the body, the
                // attribute's key and value, the count, the request id.
                assert_eq!(read(text), format!("{body}{key}{value}7r"));
            }
            Err(XmlError::InvalidCharacter { .. }) => assert!(!legal, "legal text was refused"),
            Err(other) => panic!("unexpected error {other}"),
        }
    }
    let error = xml::encode_error(xml::SNS_NAMESPACE, Fault::Sender, &key, input, "r");
    read(std::str::from_utf8(&error).expect("UTF-8"));
});

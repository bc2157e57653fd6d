//! The response side of the AWS query protocol: XML bodies written from the same serde shapes
//! the JSON path encodes.
//!
//! # Design constraints
//!
//! - **Pure, never panics.** The writer appends to one `String`; element names come only from
//!   the shapes (serde field names, or the [`XmlStyle::names`] table), never from input.
//! - **Text as AWS escapes it.** `&amp; &lt; &gt; &quot; &apos;`, and CR as `&#xD;` (an XML
//!   parser would otherwise normalise it to LF, and the SDK's body MD5 would then fail); LF and
//!   tab are kept. A character XML 1.0 cannot carry at all (C0 controls other than tab, LF, CR;
//!   U+FFFE, U+FFFF) is refused with [`XmlError::InvalidCharacter`]: no escape makes it legal.
//! - **Shapes decide, style adapts.** SQS and SNS write the same serde shapes differently;
//!   [`XmlStyle`] says how lists and maps are laid out and which fields carry a `locationName`.
//!
//! # Byte shapes
//!
//! ```text
//! <SendMessageResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/">
//!   <SendMessageResult><MessageId>…</MessageId><MD5OfMessageBody>…</MD5OfMessageBody></SendMessageResult>
//!   <ResponseMetadata><RequestId>…</RequestId></ResponseMetadata>
//! </SendMessageResponse>
//!
//! <ErrorResponse xmlns="…"><Error><Type>Sender</Type><Code>…</Code><Message>…</Message><Detail/></Error><RequestId>…</RequestId></ErrorResponse>
//! ```
//!
//! (written without the whitespace shown). Inside a result:
//!
//! | value | [`ListStyle::Flattened`] / [`MapStyle`] flattened (SQS) | [`ListStyle::Member`] / entry maps (SNS) |
//! |---|---|---|
//! | struct field `F` | `<F>…</F>` (or the `names` override) | same |
//! | list `F` of `a, b` | `<F>a</F><F>b</F>` | `<F><member>a</member><member>b</member></F>` |
//! | map `F` of `k → v` | `<F><Name>k</Name><Value>v</Value></F>` per entry | `<F><entry><key>k</key><value>v</value></entry></F>` |
//! | `None` | nothing | nothing |
//! | bool, number | `true`/`false`, decimal | same |
//! | [`Blob`](super::body::Blob), bytes | base64 | same |
//!
//! A unit output (`()` or a unit struct) writes no `<{Op}Result>` element, as AWS does for
//! operations without output; a struct with no member set writes an empty one, as an empty
//! ReceiveMessage does. [`Timestamp`](super::body::Timestamp) is written as epoch seconds, not
//! the query protocol's ISO 8601 (no SQS or SNS output member is a timestamp).

use std::fmt::{self, Write as _};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use serde::ser::{self, Impossible, Serialize};

/// The SQS query namespace.
pub const SQS_NAMESPACE: &str = "http://queue.amazonaws.com/doc/2012-11-05/";
/// The SNS query namespace.
pub const SNS_NAMESPACE: &str = "http://sns.amazonaws.com/doc/2010-03-31/";

/// How lists are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListStyle {
    /// The element repeats, once per item (SQS: `<Message>…</Message><Message>…</Message>`).
    Flattened,
    /// One element wraps a `<member>` per item (SNS: `<Topics><member>…</member></Topics>`).
    Member,
}

/// How maps are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapStyle {
    /// `true`: the field's element repeats once per entry and holds the key and value
    /// (SQS `<Attribute><Name/><Value/></Attribute>`); `false`: one element wraps an
    /// `<entry>` per entry (SNS).
    pub flattened: bool,
    /// The key's element name (`Name` for SQS, `key` for SNS).
    pub key: &'static str,
    /// The value's element name (`Value` for SQS, `value` for SNS).
    pub value: &'static str,
}

/// How one service lays out its XML.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XmlStyle {
    /// Lists.
    pub lists: ListStyle,
    /// Maps.
    pub maps: MapStyle,
    /// Element-name overrides, `(serde field name, element name)`: the model's `locationName`
    /// where it differs from the member name (SQS `Messages` → `Message`).
    pub names: &'static [(&'static str, &'static str)],
}

impl XmlStyle {
    /// SQS's query responses: flattened lists and maps, with the locationNames its outputs
    /// share. A batch operation adds its own `Successful` name:
    /// `XmlStyle { names: &[("Successful", "SendMessageBatchResultEntry"), ..], ..XmlStyle::SQS }`;
    /// ListQueueTags writes its map as `<Tag><Key/><Value/></Tag>`:
    /// `XmlStyle { maps: MapStyle { flattened: true, key: "Key", value: "Value" }, ..XmlStyle::SQS }`.
    pub const SQS: Self = Self {
        lists: ListStyle::Flattened,
        maps: MapStyle {
            flattened: true,
            key: "Name",
            value: "Value",
        },
        names: &[
            ("Messages", "Message"),
            ("Attributes", "Attribute"),
            ("MessageAttributes", "MessageAttribute"),
            ("QueueUrls", "QueueUrl"),
            ("Failed", "BatchResultErrorEntry"),
            ("Tags", "Tag"),
            ("StringListValues", "StringListValue"),
            ("BinaryListValues", "BinaryListValue"),
        ],
    };

    /// SNS's query responses: `member` lists and `entry` maps.
    pub const SNS: Self = Self {
        lists: ListStyle::Member,
        maps: MapStyle {
            flattened: false,
            key: "key",
            value: "value",
        },
        names: &[],
    };

    fn element_name(&self, field: &'static str) -> &'static str {
        self.names
            .iter()
            .find(|(name, _)| *name == field)
            .map_or(field, |&(_, element)| element)
    }
}

/// Why a response could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum XmlError {
    /// A text value holds a character XML 1.0 cannot carry, even escaped.
    #[error("character U+{code_point:04X} cannot appear in XML 1.0 (in <{element}>)")]
    InvalidCharacter {
        /// The element the text was for.
        element: String,
        /// The offending character.
        code_point: u32,
    },
    /// The shape holds something with no XML form (a map key that is not text, a bare value
    /// at the top of a result).
    #[error("{0}")]
    Unsupported(String),
}

impl ser::Error for XmlError {
    fn custom<T: fmt::Display>(message: T) -> Self {
        Self::Unsupported(message.to_string())
    }
}

/// Writes `<{operation}Response xmlns="{namespace}"><{operation}Result>…</{operation}Result>
/// <ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{operation}Response>`.
pub fn encode_response<T: Serialize + ?Sized>(
    operation: &str,
    namespace: &str,
    request_id: &str,
    output: &T,
    style: &XmlStyle,
) -> Result<Bytes, XmlError> {
    let mut out = String::with_capacity(256);
    let _ = write!(out, "<{operation}Response xmlns=\"");
    escape_into(&mut out, namespace, "xmlns")?;
    out.push_str("\">");
    let result = format!("{operation}Result");
    output.serialize(ValueSerializer {
        out: &mut out,
        name: &result,
        style,
    })?;
    out.push_str("<ResponseMetadata><RequestId>");
    escape_into(&mut out, request_id, "RequestId")?;
    let _ = write!(out, "</RequestId></ResponseMetadata></{operation}Response>");
    Ok(Bytes::from(out))
}

/// Who caused an error: the `<Type>` of an error response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The request was wrong (4xx).
    Sender,
    /// The server failed (5xx).
    Receiver,
}

impl Fault {
    /// The `<Type>` text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sender => "Sender",
            Self::Receiver => "Receiver",
        }
    }
}

/// Writes `<ErrorResponse xmlns="{namespace}"><Error><Type>…</Type><Code>…</Code>
/// <Message>…</Message><Detail/></Error><RequestId>…</RequestId></ErrorResponse>`.
///
/// A character XML cannot carry in `message` (which may quote the request) is written as
/// U+FFFD: an error response must always be writable.
pub fn encode_error(
    namespace: &str,
    fault: Fault,
    code: &str,
    message: &str,
    request_id: &str,
) -> Bytes {
    let mut out = String::with_capacity(256 + message.len());
    out.push_str("<ErrorResponse xmlns=\"");
    escape_lossy(&mut out, namespace);
    out.push_str("\"><Error><Type>");
    out.push_str(fault.as_str());
    out.push_str("</Type><Code>");
    escape_lossy(&mut out, code);
    out.push_str("</Code><Message>");
    escape_lossy(&mut out, message);
    out.push_str("</Message><Detail/></Error><RequestId>");
    escape_lossy(&mut out, request_id);
    out.push_str("</RequestId></ErrorResponse>");
    Bytes::from(out)
}

/// Whether XML 1.0 can carry `c` (its `Char` production; Rust strings hold no surrogates).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Appends `text` escaped as AWS escapes text nodes and attribute values.
pub fn escape_into(out: &mut String, text: &str, element: &str) -> Result<(), XmlError> {
    out.reserve(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            c if is_xml_char(c) => out.push(c),
            c => {
                return Err(XmlError::InvalidCharacter {
                    element: element.to_owned(),
                    code_point: u32::from(c),
                });
            }
        }
    }
    Ok(())
}

fn escape_lossy(out: &mut String, text: &str) {
    for c in text.chars() {
        let c = if is_xml_char(c) { c } else { '\u{FFFD}' };
        let mut buf = [0; 4];
        // Cannot fail: every character is now legal.
        let _ = escape_into(out, c.encode_utf8(&mut buf), "");
    }
}

/// Writes one value as the element `name` (or, for a flattened list, as several).
struct ValueSerializer<'a> {
    out: &'a mut String,
    name: &'a str,
    style: &'a XmlStyle,
}

impl ValueSerializer<'_> {
    fn text(self, text: &str) -> Result<(), XmlError> {
        let _ = write!(self.out, "<{}>", self.name);
        escape_into(self.out, text, self.name)?;
        let _ = write!(self.out, "</{}>", self.name);
        Ok(())
    }

    fn display(self, value: impl fmt::Display) -> Result<(), XmlError> {
        // Numbers and bools hold no character that needs escaping.
        let _ = write!(self.out, "<{0}>{value}</{0}>", self.name);
        Ok(())
    }
}

impl<'a> ser::Serializer for ValueSerializer<'a> {
    type Ok = ();
    type Error = XmlError;
    type SerializeSeq = Seq<'a>;
    type SerializeTuple = Seq<'a>;
    type SerializeTupleStruct = Seq<'a>;
    type SerializeTupleVariant = Impossible<(), XmlError>;
    type SerializeMap = Map<'a>;
    type SerializeStruct = Struct<'a>;
    type SerializeStructVariant = Impossible<(), XmlError>;

    fn serialize_bool(self, value: bool) -> Result<(), XmlError> {
        self.display(value)
    }
    fn serialize_i8(self, value: i8) -> Result<(), XmlError> {
        self.display(value)
    }
    fn serialize_i16(self, value: i16) -> Result<(), XmlError> {
        self.display(value)
    }
    fn serialize_i32(self, value: i32) -> Result<(), XmlError> {
        self.display(value)
    }
    fn serialize_i64(self, value: i64) -> Result<(), XmlError> {
        self.display(value)
    }
    fn serialize_u8(self, value: u8) -> Result<(), XmlError> {
        self.display(value)
    }
    fn serialize_u16(self, value: u16) -> Result<(), XmlError> {
        self.display(value)
    }
    fn serialize_u32(self, value: u32) -> Result<(), XmlError> {
        self.display(value)
    }
    fn serialize_u64(self, value: u64) -> Result<(), XmlError> {
        self.display(value)
    }
    fn serialize_f32(self, value: f32) -> Result<(), XmlError> {
        self.display(value)
    }
    fn serialize_f64(self, value: f64) -> Result<(), XmlError> {
        self.display(value)
    }
    fn serialize_char(self, value: char) -> Result<(), XmlError> {
        let mut buf = [0; 4];
        self.text(value.encode_utf8(&mut buf))
    }
    fn serialize_str(self, value: &str) -> Result<(), XmlError> {
        self.text(value)
    }
    fn serialize_bytes(self, value: &[u8]) -> Result<(), XmlError> {
        self.text(&BASE64.encode(value))
    }
    fn serialize_none(self) -> Result<(), XmlError> {
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), XmlError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), XmlError> {
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), XmlError> {
        Ok(())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), XmlError> {
        self.text(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), XmlError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _value: &T,
    ) -> Result<(), XmlError> {
        Err(XmlError::Unsupported(format!(
            "variant {variant} with data has no XML form"
        )))
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Seq<'a>, XmlError> {
        let item = match self.style.lists {
            ListStyle::Flattened => self.name.to_owned(),
            ListStyle::Member => {
                let _ = write!(self.out, "<{}>", self.name);
                "member".to_owned()
            }
        };
        Ok(Seq {
            out: self.out,
            name: self.name.to_owned(),
            item,
            style: self.style,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq<'a>, XmlError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Seq<'a>, XmlError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, XmlError> {
        Err(XmlError::Unsupported(format!(
            "variant {variant} with data has no XML form"
        )))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Map<'a>, XmlError> {
        if !self.style.maps.flattened {
            let _ = write!(self.out, "<{}>", self.name);
        }
        Ok(Map {
            out: self.out,
            name: self.name.to_owned(),
            style: self.style,
        })
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Struct<'a>, XmlError> {
        let _ = write!(self.out, "<{}>", self.name);
        Ok(Struct {
            out: self.out,
            name: self.name.to_owned(),
            style: self.style,
        })
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, XmlError> {
        Err(XmlError::Unsupported(format!(
            "variant {variant} with data has no XML form"
        )))
    }
}

struct Seq<'a> {
    out: &'a mut String,
    name: String,
    item: String,
    style: &'a XmlStyle,
}

impl ser::SerializeSeq for Seq<'_> {
    type Ok = ();
    type Error = XmlError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), XmlError> {
        value.serialize(ValueSerializer {
            out: self.out,
            name: &self.item,
            style: self.style,
        })
    }

    fn end(self) -> Result<(), XmlError> {
        if self.style.lists == ListStyle::Member {
            let _ = write!(self.out, "</{}>", self.name);
        }
        Ok(())
    }
}

impl ser::SerializeTuple for Seq<'_> {
    type Ok = ();
    type Error = XmlError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), XmlError> {
        ser::SerializeSeq::serialize_element(self, value)
    }

    fn end(self) -> Result<(), XmlError> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for Seq<'_> {
    type Ok = ();
    type Error = XmlError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), XmlError> {
        ser::SerializeSeq::serialize_element(self, value)
    }

    fn end(self) -> Result<(), XmlError> {
        ser::SerializeSeq::end(self)
    }
}

struct Map<'a> {
    out: &'a mut String,
    name: String,
    style: &'a XmlStyle,
}

impl ser::SerializeMap for Map<'_> {
    type Ok = ();
    type Error = XmlError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), XmlError> {
        let entry = if self.style.maps.flattened {
            self.name.as_str()
        } else {
            "entry"
        };
        let _ = write!(self.out, "<{entry}>");
        key.serialize(ValueSerializer {
            out: self.out,
            name: self.style.maps.key,
            style: self.style,
        })
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), XmlError> {
        value.serialize(ValueSerializer {
            out: self.out,
            name: self.style.maps.value,
            style: self.style,
        })?;
        let entry = if self.style.maps.flattened {
            self.name.as_str()
        } else {
            "entry"
        };
        let _ = write!(self.out, "</{entry}>");
        Ok(())
    }

    fn end(self) -> Result<(), XmlError> {
        if !self.style.maps.flattened {
            let _ = write!(self.out, "</{}>", self.name);
        }
        Ok(())
    }
}

struct Struct<'a> {
    out: &'a mut String,
    name: String,
    style: &'a XmlStyle,
}

impl ser::SerializeStruct for Struct<'_> {
    type Ok = ();
    type Error = XmlError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), XmlError> {
        let name = self.style.element_name(key);
        value.serialize(ValueSerializer {
            out: self.out,
            name,
            style: self.style,
        })
    }

    fn end(self) -> Result<(), XmlError> {
        let _ = write!(self.out, "</{}>", self.name);
        Ok(())
    }
}

#[cfg(test)]
mod tests;

//! Reading JSON in place, for the few large bodies that are not worth a full decode: a
//! [`Cursor`] over the bytes whose every step answers `None` on anything it does not handle
//! (escapes in keys, a value of another kind), so its caller can fall back to serde.
//!
//! It does not validate what it skips beyond its shape, and strings are taken up to the next
//! quote: callers refuse backslashes in what they keep ([`Cursor::text`],
//! [`Cursor::unescaped`]), or keep only what a later check refuses them in (base64).
#![deny(clippy::indexing_slicing)]

/// Nesting deeper than this, inside a skipped value, answers `None`.
const DEPTH_MAX: usize = 32;

/// A position in a JSON text.
#[derive(Debug)]
pub struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    /// At the start of `bytes`.
    #[must_use]
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, at: 0 }
    }

    /// Whether only whitespace is left.
    pub fn at_end(&mut self) -> bool {
        self.skip_whitespace();
        self.at == self.bytes.len()
    }

    /// JSON's whitespace, as serde_json skips it.
    fn skip_whitespace(&mut self) {
        while matches!(self.bytes.get(self.at), Some(b' ' | b'\n' | b'\t' | b'\r')) {
            self.at += 1;
        }
    }

    /// The next byte after whitespace, not taken.
    pub fn peek(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.bytes.get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// `word` (`null`, `true`, `false`) if it comes next.
    pub fn literal(&mut self, word: &[u8]) -> bool {
        self.skip_whitespace();
        let found = self
            .bytes
            .get(self.at..)
            .is_some_and(|rest| rest.starts_with(word));
        if found {
            self.at += word.len();
        }
        found
    }

    /// A string's bytes between its quotes, up to the next quote: an escaped quote ends it
    /// early, so keep it only where a backslash is refused later.
    pub fn raw_string(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let rest = self.bytes.get(self.at..)?;
        let end = memchr::memchr(b'"', rest)?;
        self.at += end + 1;
        rest.get(..end)
    }

    /// A string without escapes.
    pub fn unescaped(&mut self) -> Option<&'a [u8]> {
        let raw = self.raw_string()?;
        memchr::memchr(b'\\', raw).is_none().then_some(raw)
    }

    /// A string with no escapes and no control characters, in UTF-8: what it reads is what
    /// serde_json reads.
    pub fn text(&mut self) -> Option<&'a str> {
        let raw = self.raw_string()?;
        if raw.iter().any(|&byte| byte == b'\\' || byte < 0x20) {
            return None;
        }
        std::str::from_utf8(raw).ok()
    }

    /// A non-negative integer.
    pub fn integer(&mut self) -> Option<u64> {
        self.skip_whitespace();
        let rest = self.bytes.get(self.at..)?;
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let value = std::str::from_utf8(rest.get(..digits)?)
            .ok()?
            .parse()
            .ok()?;
        self.at += digits;
        Some(value)
    }

    /// An object: `member` reads each value after its key ([`Self::text`]) and colon.
    pub fn object(
        &mut self,
        mut member: impl FnMut(&mut Self, &'a [u8]) -> Option<()>,
    ) -> Option<()> {
        self.items(b'{', b'}', |cursor| {
            let key = cursor.text()?.as_bytes();
            cursor.eat(b':')?;
            member(cursor, key)
        })
    }

    /// An array: `element` reads each element.
    pub fn array(&mut self, element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.items(b'[', b']', element)
    }

    /// `open`, items read by `item` and separated by commas, `close`.
    fn items(
        &mut self,
        open: u8,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
        self.eat(open)?;
        if self.peek()? == close {
            self.at += 1;
            return Some(());
        }
        loop {
            item(self)?;
            match self.peek()? {
                b',' => self.at += 1,
                byte if byte == close => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// Any value, passed over unread (strings without escapes only).
    pub fn skip(&mut self) -> Option<()> {
        self.skip_nested(0)
    }

    fn skip_nested(&mut self, depth: usize) -> Option<()> {
        if depth > DEPTH_MAX {
            return None;
        }
        match self.peek()? {
            b'"' => self.unescaped().map(|_| ()),
            b'{' => self.object(|cursor, _| cursor.skip_nested(depth + 1)),
            b'[' => self.array(|cursor| cursor.skip_nested(depth + 1)),
            b't' => self.literal(b"true").then_some(()),
            b'f' => self.literal(b"false").then_some(()),
            b'n' => self.literal(b"null").then_some(()),
            _ => {
                let rest = self.bytes.get(self.at..)?;
                let len = rest
                    .iter()
                    .take_while(|b| matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                    .count();
                (len > 0).then(|| self.at += len)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_skips_the_shapes_it_knows() {
        let body =
            br#" {"a" : [1, -2.5e3, true, false, null, {"b": ["c"]}], "s":"x y", "n": 42 } "#;
        let mut cursor = Cursor::new(body);
        let mut seen = Vec::new();
        cursor
            .object(|cursor, key| {
                seen.push(key.to_vec());
                match key {
                    b"a" => cursor.skip(),
                    b"s" => cursor.unescaped().map(|_| ()),
                    _ => cursor.integer().map(|n| assert_eq!(n, 42)),
                }
            })
            .unwrap_or_else(|| panic!("read"));
        assert!(cursor.at_end());
        assert_eq!(seen, [b"a".to_vec(), b"s".to_vec(), b"n".to_vec()]);
        // Control characters are not text; escapes are neither text nor unescaped.
        assert_eq!(Cursor::new(b"\"x\ty\"").text(), None);
        assert_eq!(Cursor::new(br#""x\"y""#).unescaped(), None);
        assert_eq!(Cursor::new(br#""x\/y""#).text(), None);
        // Unknown shapes, trailing commas and deep nesting are left to serde.
        assert!(Cursor::new(b"[1,]").skip().is_none());
        assert!(Cursor::new(b"{\"a\":1,}").skip().is_none());
        assert!(Cursor::new(&[b'['; 40]).skip().is_none());
        assert!(Cursor::new(b"nul").skip().is_none());
    }
}

//! The encoder: a buffer's records, each optionally followed by a newline, compressed as the
//! destination asks. Pure: the same records always give the same bytes.

use std::io::Write as _;

/// How delivered objects are compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// Records as they are.
    Uncompressed,
    /// One gzip member (`.gz`).
    Gzip,
    /// The Snappy framing format (`.snappy`).
    Snappy,
    /// One Zstandard frame (`.zst`); a Strata extension.
    Zstd,
}

impl Compression {
    /// Parses the `CompressionFormat` name; `ZIP` and `HADOOP_SNAPPY` are not supported yet.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "UNCOMPRESSED" => Some(Self::Uncompressed),
            "GZIP" => Some(Self::Gzip),
            "Snappy" => Some(Self::Snappy),
            "ZSTD" => Some(Self::Zstd),
            _ => None,
        }
    }

    /// The `CompressionFormat` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Uncompressed => "UNCOMPRESSED",
            Self::Gzip => "GZIP",
            Self::Snappy => "Snappy",
            Self::Zstd => "ZSTD",
        }
    }

    /// The object name's extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Uncompressed => "",
            Self::Gzip => ".gz",
            Self::Snappy => ".snappy",
            Self::Zstd => ".zst",
        }
    }
}

/// Joins `records` (each followed by `\n` when `delimiter`) and compresses the result.
pub fn encode<'a>(
    records: impl IntoIterator<Item = &'a [u8]>,
    delimiter: bool,
    compression: Compression,
) -> std::io::Result<Vec<u8>> {
    let mut joined = Vec::new();
    for record in records {
        joined.extend_from_slice(record);
        if delimiter {
            joined.push(b'\n');
        }
    }
    match compression {
        Compression::Uncompressed => Ok(joined),
        Compression::Gzip => {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(&joined)?;
            encoder.finish()
        }
        Compression::Snappy => {
            let mut encoder = snap::write::FrameEncoder::new(Vec::new());
            encoder.write_all(&joined)?;
            encoder
                .into_inner()
                .map_err(|error| std::io::Error::other(error.to_string()))
        }
        Compression::Zstd => zstd::encode_all(joined.as_slice(), 3),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    const RECORDS: [&[u8]; 3] = [b"alpha", b"", b"{\"k\":1}"];

    #[test]
    fn uncompressed_records_are_joined_with_optional_newlines() {
        let plain = encode(RECORDS, false, Compression::Uncompressed).expect("encodes");
        assert_eq!(plain, b"alpha{\"k\":1}");
        let lines = encode(RECORDS, true, Compression::Uncompressed).expect("encodes");
        assert_eq!(lines, b"alpha\n\n{\"k\":1}\n");
    }

    #[test]
    fn every_compression_round_trips() {
        let expected = b"alpha\n\n{\"k\":1}\n".to_vec();
        let gzip = encode(RECORDS, true, Compression::Gzip).expect("encodes");
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(gzip.as_slice())
            .read_to_end(&mut out)
            .expect("gunzips");
        assert_eq!(out, expected);

        let snappy = encode(RECORDS, true, Compression::Snappy).expect("encodes");
        let mut out = Vec::new();
        snap::read::FrameDecoder::new(snappy.as_slice())
            .read_to_end(&mut out)
            .expect("unsnaps");
        assert_eq!(out, expected);

        let zstd = encode(RECORDS, true, Compression::Zstd).expect("encodes");
        assert_eq!(
            zstd::decode_all(zstd.as_slice()).expect("unzstds"),
            expected
        );
    }

    #[test]
    fn compression_names_parse_back() {
        for compression in [
            Compression::Uncompressed,
            Compression::Gzip,
            Compression::Snappy,
            Compression::Zstd,
        ] {
            assert_eq!(Compression::parse(compression.as_str()), Some(compression));
        }
        assert_eq!(Compression::parse("gzip"), None);
        assert_eq!(Compression::parse("ZIP"), None);
    }

    #[test]
    fn encoding_is_deterministic() {
        for compression in [Compression::Gzip, Compression::Snappy, Compression::Zstd] {
            assert_eq!(
                encode(RECORDS, false, compression).expect("encodes"),
                encode(RECORDS, false, compression).expect("encodes")
            );
        }
    }
}

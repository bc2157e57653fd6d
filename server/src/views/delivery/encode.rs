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
    /// Hadoop's block format around raw Snappy (`.snappy`), as Hadoop's `SnappyCodec` reads:
    /// per block of at most [`HADOOP_BLOCK_BYTES`] input bytes, its length (u32 big-endian),
    /// then one compressed chunk: its length (u32 big-endian) and the raw Snappy bytes.
    HadoopSnappy,
    /// One Zstandard frame (`.zst`); a Strata extension.
    Zstd,
    /// A ZIP archive holding one deflated entry (`.zip`), named after the object.
    Zip,
}

impl Compression {
    /// Parses the `CompressionFormat` name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "UNCOMPRESSED" => Some(Self::Uncompressed),
            "GZIP" => Some(Self::Gzip),
            "Snappy" => Some(Self::Snappy),
            "HADOOP_SNAPPY" => Some(Self::HadoopSnappy),
            "ZIP" => Some(Self::Zip),
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
            Self::HadoopSnappy => "HADOOP_SNAPPY",
            Self::Zip => "ZIP",
            Self::Zstd => "ZSTD",
        }
    }

    /// The object name's extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Uncompressed => "",
            Self::Gzip => ".gz",
            Self::Snappy | Self::HadoopSnappy => ".snappy",
            Self::Zip => ".zip",
            Self::Zstd => ".zst",
        }
    }
}

/// Input bytes per block of [`Compression::HadoopSnappy`] (Hadoop's default buffer size).
pub const HADOOP_BLOCK_BYTES: usize = 256 * 1024;

fn hadoop_snappy(input: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = snap::raw::Encoder::new();
    let mut out = Vec::with_capacity(snap::raw::max_compress_len(input.len()) + 16);
    let length = |n: usize| {
        u32::try_from(n)
            .map(u32::to_be_bytes)
            .map_err(|_| std::io::Error::other("block too large"))
    };
    for block in input.chunks(HADOOP_BLOCK_BYTES) {
        let compressed = encoder
            .compress_vec(block)
            .map_err(|error| std::io::Error::other(error.to_string()))?;
        out.extend_from_slice(&length(block.len())?);
        out.extend_from_slice(&length(compressed.len())?);
        out.extend_from_slice(&compressed);
    }
    Ok(out)
}

/// One gzip member of the whole buffer at the default level (6), compressed in one call:
/// libdeflate needs no streaming state, so it runs about twice as fast as zlib on the same
/// input and level, for the same size.
fn gzip(input: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut compressor = libdeflater::Compressor::new(libdeflater::CompressionLvl::default());
    let mut out = vec![0; compressor.gzip_compress_bound(input.len())];
    let written = compressor
        .gzip_compress(input, &mut out)
        .map_err(std::io::Error::other)?;
    out.truncate(written);
    Ok(out)
}

/// A ZIP archive of one deflated entry. Its modification time is the format's epoch
/// (1980-01-01), so the same records always give the same archive.
fn zip_archive(entry_name: &str, input: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
        .large_file(input.len() >= 0xFFFF_FFFF);
    writer
        .start_file(entry_name, options)
        .map_err(std::io::Error::other)?;
    writer.write_all(input)?;
    Ok(writer.finish().map_err(std::io::Error::other)?.into_inner())
}

/// Joins `records` (each followed by `\n` when `delimiter`) and compresses the result;
/// `entry_name` names the file inside a ZIP archive.
pub fn encode<'a>(
    records: impl IntoIterator<Item = &'a [u8]>,
    delimiter: bool,
    compression: Compression,
    entry_name: &str,
) -> std::io::Result<Vec<u8>> {
    let records: Vec<&[u8]> = records.into_iter().collect();
    let bytes = records
        .iter()
        .map(|r| r.len() + usize::from(delimiter))
        .sum();
    let mut joined = Vec::with_capacity(bytes);
    for record in records {
        joined.extend_from_slice(record);
        if delimiter {
            joined.push(b'\n');
        }
    }
    match compression {
        Compression::Uncompressed => Ok(joined),
        Compression::Gzip => gzip(&joined),
        Compression::Snappy => {
            let mut encoder = snap::write::FrameEncoder::new(Vec::new());
            encoder.write_all(&joined)?;
            encoder
                .into_inner()
                .map_err(|error| std::io::Error::other(error.to_string()))
        }
        Compression::HadoopSnappy => hadoop_snappy(&joined),
        Compression::Zstd => zstd::encode_all(joined.as_slice(), 3),
        Compression::Zip => zip_archive(entry_name, &joined),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    const RECORDS: [&[u8]; 3] = [b"alpha", b"", b"{\"k\":1}"];

    #[test]
    fn uncompressed_records_are_joined_with_optional_newlines() {
        let plain = encode(RECORDS, false, Compression::Uncompressed, "e").expect("encodes");
        assert_eq!(plain, b"alpha{\"k\":1}");
        let lines = encode(RECORDS, true, Compression::Uncompressed, "e").expect("encodes");
        assert_eq!(lines, b"alpha\n\n{\"k\":1}\n");
    }

    #[test]
    fn every_compression_round_trips() {
        let expected = b"alpha\n\n{\"k\":1}\n".to_vec();
        let gzip = encode(RECORDS, true, Compression::Gzip, "e").expect("encodes");
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(gzip.as_slice())
            .read_to_end(&mut out)
            .expect("gunzips");
        assert_eq!(out, expected);

        let snappy = encode(RECORDS, true, Compression::Snappy, "e").expect("encodes");
        let mut out = Vec::new();
        snap::read::FrameDecoder::new(snappy.as_slice())
            .read_to_end(&mut out)
            .expect("unsnaps");
        assert_eq!(out, expected);

        let hadoop = encode(RECORDS, true, Compression::HadoopSnappy, "e").expect("encodes");
        assert_eq!(unhadoop(&hadoop), expected);

        let zip = encode(RECORDS, true, Compression::Zip, "records").expect("encodes");
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).expect("a zip");
        assert_eq!(archive.len(), 1);
        let mut entry = archive.by_index(0).expect("one entry");
        assert_eq!(entry.name().expect("a name"), "records");
        let mut out = Vec::new();
        entry.read_to_end(&mut out).expect("inflates");
        assert_eq!(out, expected);

        let zstd = encode(RECORDS, true, Compression::Zstd, "e").expect("encodes");
        assert_eq!(
            zstd::decode_all(zstd.as_slice()).expect("unzstds"),
            expected
        );
    }

    /// Reads Hadoop's block format back.
    fn unhadoop(mut bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut decoder = snap::raw::Decoder::new();
        let take = |bytes: &mut &[u8]| {
            let (head, rest) = bytes.split_at(4);
            *bytes = rest;
            u32::from_be_bytes(head.try_into().expect("4 bytes")) as usize
        };
        while !bytes.is_empty() {
            let raw = take(&mut bytes);
            let compressed = take(&mut bytes);
            let (chunk, rest) = bytes.split_at(compressed);
            bytes = rest;
            let block = decoder.decompress_vec(chunk).expect("valid snappy");
            assert_eq!(block.len(), raw);
            out.extend(block);
        }
        out
    }

    #[test]
    fn gzip_of_a_large_buffer_is_one_member_that_gunzips_to_it() {
        // Several MiB of text like the benchmark's: deflate blocks beyond the first, and
        // a size zlib reads back with its own decoder and CRC check.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let line: Vec<u8> = (0..3 * 1024 * 1024 + 17)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                b"abcdefghijklmnopqrstuvwxyz0123456789"[(state % 36) as usize]
            })
            .collect();
        let gzip =
            encode([line.as_slice(), b"tail"], true, Compression::Gzip, "e").expect("encodes");
        assert_eq!(&gzip[..3], [0x1f, 0x8b, 8], "a gzip member, deflate");
        assert!(
            gzip.len() < line.len() * 7 / 10,
            "compressed: {}",
            gzip.len()
        );
        let mut decoder = flate2::read::GzDecoder::new(gzip.as_slice());
        let mut out = Vec::new();
        decoder.read_to_end(&mut out).expect("gunzips");
        let mut expected = line.clone();
        expected.push(b'\n');
        expected.extend_from_slice(b"tail\n");
        assert_eq!(out, expected);
        // Nothing after the one member.
        assert!(decoder.into_inner().is_empty());
    }

    #[test]
    fn hadoop_snappy_splits_into_blocks() {
        let big: Vec<u8> = (0..HADOOP_BLOCK_BYTES * 2 + 10)
            .map(|i| (i % 251) as u8)
            .collect();
        let encoded =
            encode([big.as_slice()], false, Compression::HadoopSnappy, "e").expect("encodes");
        assert_eq!(
            u32::from_be_bytes(encoded[..4].try_into().expect("4 bytes")) as usize,
            HADOOP_BLOCK_BYTES
        );
        assert_eq!(unhadoop(&encoded), big);
    }

    #[test]
    fn compression_names_parse_back() {
        for compression in [
            Compression::Uncompressed,
            Compression::Gzip,
            Compression::Snappy,
            Compression::HadoopSnappy,
            Compression::Zstd,
            Compression::Zip,
        ] {
            assert_eq!(Compression::parse(compression.as_str()), Some(compression));
        }
        assert_eq!(Compression::parse("gzip"), None);
    }

    #[test]
    fn encoding_is_deterministic() {
        for compression in [
            Compression::Gzip,
            Compression::Snappy,
            Compression::HadoopSnappy,
            Compression::Zstd,
            Compression::Zip,
        ] {
            assert_eq!(
                encode(RECORDS, false, compression, "e").expect("encodes"),
                encode(RECORDS, false, compression, "e").expect("encodes")
            );
        }
    }
}

//! Any request: SigV4 verification answers `Ok` or an error, never panics, and accepts nothing
//! it did not compute a matching signature for; `verify_head` (every check but the signature,
//! run before a body is read) refuses exactly what `verify` refuses before the signature.
//!
//! The input is split at NUL bytes into up to seven fields: method, path, query,
//! `Authorization`, `X-Amz-Date`, an extra `name:value` header and the body. Fields the input
//! does not supply come from a request that botocore signed, so that the fuzzer starts at a
//! request that passes every check and mutates its way out from there.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::aws::sigv4::{RequestParts, SigV4Error, verify, verify_head};

const ACCESS_KEY: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// 20150830T123600Z, the signing time of the default request.
const NOW_MS: i64 = 1_440_938_160_000;

/// botocore's `kinesis.put_record(StreamName='clicks', Data=b'hello', PartitionKey='user-42')`.
const DEFAULTS: [&[u8]; 7] = [
    b"POST",
    b"/",
    b"",
    b"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/kinesis/aws4_request, \
      SignedHeaders=content-type;host;x-amz-date;x-amz-target, \
      Signature=dfdcfc881eb98df787501192b3bb0647ec6655e0a5d82fb59fa914588d51a5b7",
    b"20150830T123600Z",
    b"X-Amz-Target:Kinesis_20131202.PutRecord",
    br#"{"StreamName": "clicks", "Data": "aGVsbG8=", "PartitionKey": "user-42"}"#,
];

fuzz_target!(|data: &[u8]| {
    // An empty input is the signed request itself (`split` would give one empty field).
    let mut fields = (!data.is_empty())
        .then(|| data.split(|&byte| byte == 0))
        .into_iter()
        .flatten();
    let [method, path, query, authorization, date, extra, body] =
        DEFAULTS.map(|default| fields.next().unwrap_or(default));
    let (Ok(method), Ok(path), Ok(query)) = (
        std::str::from_utf8(method),
        std::str::from_utf8(path),
        std::str::from_utf8(query),
    ) else {
        return;
    };
    let (extra_name, extra_value) = match extra.iter().position(|&byte| byte == b':') {
        Some(colon) => {
            let (name, value) = extra.split_at(colon);
            (name, value.get(1..).unwrap_or_default())
        }
        None => (extra, &b""[..]),
    };
    let Ok(extra_name) = std::str::from_utf8(extra_name) else {
        return;
    };
    let headers: [(&str, &[u8]); 5] = [
        ("Host", b"127.0.0.1:4567"),
        ("Content-Type", b"application/x-amz-json-1.1"),
        ("Authorization", authorization),
        ("X-Amz-Date", date),
        (extra_name, extra_value),
    ];
    let request = RequestParts {
        method,
        path,
        query: (!query.is_empty()).then_some(query),
        headers: &headers,
        body,
    };
    let result = verify(
        &request,
        |key| (key == ACCESS_KEY).then(|| SECRET.to_owned()),
        NOW_MS,
    );
    if data.is_empty() {
        assert!(
            result.is_ok(),
            "the botocore request must verify: {result:?}"
        );
    }
    match &result {
        Ok(signer) => assert_eq!(signer.access_key, ACCESS_KEY),
        Err(error) => {
            // Every error maps to an AWS response.
            assert!(error.aws_code().ends_with("Exception"));
            assert_eq!(error.http_status(), 400);
            assert!(!error.message().is_empty());
        }
    }
    // The checks before the body agree with the full verification: whatever `verify`
    // accepts passes them, and whatever they refuse `verify` refuses the same way.
    let head = verify_head(
        &request,
        |key| (key == ACCESS_KEY).then(|| SECRET.to_owned()),
        NOW_MS,
    );
    match (&head, &result) {
        (Err(head_error), full) => assert_eq!(full.as_ref().err(), Some(head_error)),
        (Ok(_), Ok(_)) => {}
        (Ok(_), Err(error)) => assert!(
            matches!(error, SigV4Error::SignatureMismatch { .. }),
            "the head passed but {error:?}"
        ),
    }
    // With a secret no one signed with, nothing verifies.
    let other = verify(&request, |_| Some("another secret".to_owned()), NOW_MS);
    if let Err(error) = &other {
        let _ = error.message();
    }
    assert!(
        other.is_err(),
        "accepted a request under a secret nobody signed with: {other:?}"
    );
    if result.is_ok() {
        assert!(matches!(other, Err(SigV4Error::SignatureMismatch { .. })));
    }
});

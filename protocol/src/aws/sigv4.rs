//! AWS Signature Version 4 verification (pure): canonical request, string to sign, signature.

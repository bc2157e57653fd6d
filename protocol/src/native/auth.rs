//! The native handshake's authentication: an HMAC-SHA256 challenge–response over a nonce the
//! server picks per connection, keyed by the same access keys that sign AWS requests.
//!
//! Design constraints: the secret never crosses the wire; a proof is bound to one connection
//! (the nonce is fresh per connection, so a recorded `Authenticate` cannot be replayed on
//! another); and the check is constant-time. The proof is
//!
//! ```text
//! HMAC-SHA256(key = secret access key,
//!             message = "strata-native-auth-v1\n" || nonce (32 bytes) || "\n" || access key id)
//! ```

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Bytes of the server's nonce.
pub const NONCE_BYTES: usize = 32;
/// Bytes of a proof (an HMAC-SHA256 tag).
pub const PROOF_BYTES: usize = 32;
/// The first protocol version whose handshake carries a challenge.
pub const AUTH_VERSION_MIN: u16 = 2;

const DOMAIN: &[u8] = b"strata-native-auth-v1\n";

fn mac(secret: &[u8], nonce: &[u8; NONCE_BYTES], access_key_id: &str) -> Hmac<Sha256> {
    // HMAC takes keys of any length, so this constructor cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(DOMAIN);
    mac.update(nonce);
    mac.update(b"\n");
    mac.update(access_key_id.as_bytes());
    mac
}

/// The proof a client sends for `access_key_id` with `secret` over the server's `nonce`.
#[must_use]
pub fn proof(secret: &str, nonce: &[u8; NONCE_BYTES], access_key_id: &str) -> [u8; PROOF_BYTES] {
    mac(secret.as_bytes(), nonce, access_key_id)
        .finalize()
        .into_bytes()
        .into()
}

/// Whether `proof` is the right one (compared in constant time).
#[must_use]
pub fn verify(
    secret: &str,
    nonce: &[u8; NONCE_BYTES],
    access_key_id: &str,
    proof: &[u8; PROOF_BYTES],
) -> bool {
    mac(secret.as_bytes(), nonce, access_key_id)
        .verify_slice(proof)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::{proof, verify};

    #[test]
    fn a_proof_verifies_only_for_its_secret_nonce_and_key() {
        let nonce = [7u8; 32];
        let good = proof("secret", &nonce, "AKID");
        assert!(verify("secret", &nonce, "AKID", &good));
        assert!(!verify("other", &nonce, "AKID", &good));
        assert!(!verify("secret", &[8u8; 32], "AKID", &good));
        assert!(!verify("secret", &nonce, "AKID2", &good));
    }

    /// Pinned, so a client in another language can check its implementation.
    #[test]
    fn proof_is_pinned() {
        let nonce: [u8; 32] = std::array::from_fn(|i| u8::try_from(i).unwrap_or(0));
        let tag = proof("wJalrXUtnFEMI/K7MDENG", &nonce, "AKIDEXAMPLE");
        let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex.len(), 64);
        // Python: hmac.new(b"wJalrXUtnFEMI/K7MDENG",
        //     b"strata-native-auth-v1\n" + bytes(range(32)) + b"\nAKIDEXAMPLE", "sha256")
        assert_eq!(
            hex,
            "e9692984f0185e797c57b0c6a267946b79c69eeac2f8051bcc25b6b38c860b3c"
        );
    }
}

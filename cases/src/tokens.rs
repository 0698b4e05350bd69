//! Access tokens: JWTs signed with Ed25519 (`EdDSA`, the only algorithm accepted),
//! carrying a key id so keys can rotate. Keys live in the database, so every server
//! instance signs and verifies alike.

use std::collections::HashMap;

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use patrol_protocol::Id;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const ISSUER: &str = "patrol";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    /// The person.
    pub sub: Id,
    /// The device the login was made on.
    pub dev: Id,
    /// The login family (its refresh tokens): sign-out revokes the family, and an
    /// access token of a revoked family is refused at its next request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fam: Option<String>,
    pub iat: i64,
    pub exp: i64,
}

pub struct Keys {
    /// Keys refresh-token successors (`successor_token`); derived from the signing
    /// seed, so every instance derives the same successor.
    successor_key: [u8; 32],
    signing_kid: String,
    signing: EncodingKey,
    verifying: HashMap<String, DecodingKey>,
    /// Tokens verified lately, by their SHA-256: a phone's requests in a row (a day's
    /// photos, one after another) pay the signature check once, since the same bytes
    /// under the same keys verify the same way. Expiry is checked on every use; only
    /// genuine tokens are kept; emptied when `VERIFIED_KEPT` are held.
    verified: std::sync::Mutex<HashMap<[u8; 32], Claims>>,
}

/// Verified tokens kept at most (a few hundred bytes each).
pub const VERIFIED_KEPT: usize = 4096;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TokenError {
    #[error("the access token is not valid")]
    Invalid,
    #[error("the access token has expired")]
    Expired,
    #[error("the access token was signed by an unknown key")]
    UnknownKey,
}

impl Keys {
    /// Builds the key set from stored `(kid, seed hex)` pairs; the first one signs.
    pub fn from_stored(stored: &[(String, String)]) -> Result<Keys, String> {
        let mut verifying = HashMap::new();
        let mut signing = None;
        let mut successor_key = None;
        for (kid, seed_hex) in stored {
            let seed: [u8; 32] = hex::decode(seed_hex)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| format!("signing key {kid} is not a 32-byte hex seed"))?;
            let key = SigningKey::from_bytes(&seed);
            let der = key.to_pkcs8_der().map_err(|e| e.to_string())?;
            verifying.insert(kid.clone(), DecodingKey::from_ed_der(key.verifying_key().as_bytes()));
            if signing.is_none() {
                signing = Some((kid.clone(), EncodingKey::from_ed_der(der.as_bytes())));
                let mut h = Sha256::new();
                h.update(b"patrol refresh successor key\0");
                h.update(seed);
                successor_key = Some(h.finalize().into());
            }
        }
        let (signing_kid, signing) = signing.ok_or("no signing key in the database")?;
        let successor_key = successor_key.ok_or("no signing key in the database")?;
        Ok(Keys { successor_key, signing_kid, signing, verifying, verified: Default::default() })
    }

    /// A fresh random seed, hex, for a new key.
    pub fn new_seed_hex() -> String {
        use rand::RngCore;
        let mut seed = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut seed);
        hex::encode(seed)
    }

    /// The refresh token that replaces `token`: HMAC-SHA256 under a server key, so
    /// only the server can compute it, and the same old token always yields the same
    /// successor (a lost answer can be asked for again).
    pub fn successor_token(&self, token: &str) -> String {
        use base64::Engine;
        use hmac::Mac;
        let mut mac = hmac::Hmac::<Sha256>::new_from_slice(&self.successor_key).expect("HMAC takes any key");
        mac.update(token.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// `server_ms` signed for `device`: `v1.<ms>.<hmac hex>`. Given out with every
    /// sync answer and returned with the next push as clock evidence; only the
    /// server can make one, so a phone cannot claim the server said another time.
    pub fn time_token(&self, device: Id, server_ms: i64) -> String {
        format!("v1.{server_ms}.{}", hex::encode(self.time_mac(device, server_ms)))
    }

    /// The server time in a token this server gave `device`, if the token is genuine.
    pub fn verify_time_token(&self, device: Id, token: &str) -> Option<i64> {
        let (ms, mac) = token.strip_prefix("v1.")?.split_once('.')?;
        let server_ms: i64 = ms.parse().ok()?;
        let mac = hex::decode(mac).ok()?;
        let expected = self.time_mac(device, server_ms);
        // Constant time: every byte compared whatever the first difference.
        let same = mac.len() == expected.len() && mac.iter().zip(&expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
        same.then_some(server_ms)
    }

    fn time_mac(&self, device: Id, server_ms: i64) -> Vec<u8> {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<Sha256>::new_from_slice(&self.successor_key).expect("HMAC takes any key");
        mac.update(b"time\0");
        mac.update(device.as_bytes());
        mac.update(&server_ms.to_be_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    pub fn sign(&self, claims: &Claims) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.signing_kid.clone());
        jsonwebtoken::encode(&header, claims, &self.signing).expect("Ed25519 signing cannot fail")
    }

    /// Verifies signature, algorithm, issuer and expiry against `now_ms`.
    pub fn verify(&self, token: &str, now_ms: i64) -> Result<Claims, TokenError> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let kept = self.verified.lock().unwrap_or_else(|p| p.into_inner()).get(&digest).cloned();
        let claims = match kept {
            Some(claims) => claims,
            None => {
                let claims = self.verify_signed(token)?;
                let mut verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
                if verified.len() >= VERIFIED_KEPT {
                    verified.clear();
                }
                verified.insert(digest, claims.clone());
                claims
            }
        };
        if claims.exp * 1000 <= now_ms {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }

    /// Tokens verified and kept now (for tests and metrics).
    pub fn verified_kept(&self) -> usize {
        self.verified.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Signature, algorithm and issuer, without the expiry.
    fn verify_signed(&self, token: &str) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::Invalid);
        }
        let key = header.kid.as_ref().and_then(|k| self.verifying.get(k)).ok_or(TokenError::UnknownKey)?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.algorithms = vec![Algorithm::EdDSA];
        validation.set_issuer(&[ISSUER]);
        // Expiry is checked below against the server's clock, which tests control.
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        let data = jsonwebtoken::decode::<Claims>(token, key, &validation).map_err(|_| TokenError::Invalid)?;
        Ok(data.claims)
    }

    /// The raw Ed25519 public key of the signing key (what an attacker could know).
    pub fn public_key_bytes(&self) -> Vec<u8> {
        self.verifying.get(&self.signing_kid).map(|k| k.as_bytes().to_vec()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

    fn keys() -> Keys {
        Keys::from_stored(&[("k1".into(), Keys::new_seed_hex())]).unwrap()
    }

    fn claims(exp: i64) -> Claims {
        Claims { iss: ISSUER.into(), sub: Id::now_v7(), dev: Id::now_v7(), fam: Some("f".into()), iat: 0, exp }
    }

    #[test]
    fn a_signed_token_verifies_until_it_expires() {
        let k = keys();
        let t = k.sign(&claims(1000));
        assert!(k.verify(&t, 999_000).is_ok());
        assert_eq!(k.verify(&t, 1_000_000).unwrap_err(), TokenError::Expired);
    }

    /// The kept verifications never change a verdict: tokens genuine, expired, signed
    /// by another key, unknown key ids and every one-character change of a genuine one,
    /// asked in a shuffled order, twice, at times before and after their expiry, get
    /// from one key set (keeping what it verified) what a fresh key set of the same
    /// keys (keeping nothing yet) answers. And what is kept stays within its bound.
    #[test]
    fn kept_verifications_answer_as_a_fresh_check_does() {
        use rand::seq::SliceRandom;
        use rand::{Rng, SeedableRng};
        let seed = Keys::new_seed_hex();
        let stored = [("k1".to_string(), seed.clone()), ("k0".to_string(), Keys::new_seed_hex())];
        let k = Keys::from_stored(&stored).unwrap();
        let old_key = Keys::from_stored(&[("k0".into(), stored[1].1.clone())]).unwrap();
        let stranger = Keys::from_stored(&[("k1".into(), Keys::new_seed_hex())]).unwrap();
        let unknown = Keys::from_stored(&[("k9".into(), Keys::new_seed_hex())]).unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut tokens = Vec::new();
        for exp in [10, 1_000, 5_000] {
            let genuine = k.sign(&claims(exp));
            for _ in 0..12 {
                let mut bytes = genuine.clone().into_bytes();
                let at = rng.gen_range(0..bytes.len());
                bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
                tokens.push(String::from_utf8(bytes).unwrap());
            }
            tokens.extend([
                genuine,
                old_key.sign(&claims(exp)),
                stranger.sign(&claims(exp)),
                unknown.sign(&claims(exp)),
            ]);
        }
        let mut asked: Vec<(String, i64)> = tokens
            .iter()
            .flat_map(|t| [0, 9_999, 10_000, 999_999, 4_999_999, 5_000_000].map(|now| (t.clone(), now)))
            .collect();
        asked.extend(asked.clone());
        asked.shuffle(&mut rng);
        let mut genuine_seen = 0;
        for (token, now) in &asked {
            let fresh = Keys::from_stored(&stored).unwrap().verify(token, *now).map(|c| (c.sub, c.exp));
            let kept = k.verify(token, *now).map(|c| (c.sub, c.exp));
            assert_eq!(kept, fresh, "{token} at {now}");
            genuine_seen += usize::from(kept.is_ok());
        }
        assert!(genuine_seen > 0 && genuine_seen < asked.len(), "the matrix holds both verdicts");
        for _ in 0..VERIFIED_KEPT + 10 {
            k.verify(&k.sign(&claims(1_000)), 0).unwrap();
            assert!(k.verified_kept() <= VERIFIED_KEPT);
        }
    }

    #[test]
    fn a_token_signed_by_another_key_with_the_same_kid_is_refused() {
        let t = keys().sign(&claims(i64::MAX / 2000));
        assert_eq!(keys().verify(&t, 0).unwrap_err(), TokenError::Invalid);
    }

    #[test]
    fn time_tokens_verify_for_their_device_only() {
        let k = keys();
        let (a, b) = (Id::now_v7(), Id::now_v7());
        let t = k.time_token(a, 1_700_000_000_123);
        assert_eq!(k.verify_time_token(a, &t), Some(1_700_000_000_123));
        assert_eq!(k.verify_time_token(b, &t), None, "another device's token");
        let forged = t.replacen("1700000000123", "1700000999123", 1);
        assert_eq!(k.verify_time_token(a, &forged), None, "a changed time");
        assert_eq!(keys().verify_time_token(a, &t), None, "another server's key");
        for junk in ["", "v1.", "v1.x.y", "v2.1.00", "v1.1.zz"] {
            assert_eq!(k.verify_time_token(a, junk), None, "{junk}");
        }
    }

    #[test]
    fn alg_none_is_refused() {
        let k = keys();
        let header = B64.encode(br#"{"alg":"none","typ":"JWT","kid":"k1"}"#);
        let body = B64.encode(serde_json::to_vec(&claims(i64::MAX / 2000)).unwrap());
        for token in [format!("{header}.{body}."), format!("{header}.{body}")] {
            assert!(k.verify(&token, 0).is_err(), "{token}");
        }
    }

    #[test]
    fn hs256_signed_with_the_public_key_is_refused() {
        let k = keys();
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("k1".into());
        let forged =
            jsonwebtoken::encode(&header, &claims(i64::MAX / 2000), &EncodingKey::from_secret(&k.public_key_bytes()))
                .unwrap();
        assert_eq!(k.verify(&forged, 0).unwrap_err(), TokenError::Invalid);
    }
}

//! Proving a checkpoint visit: QR label, NFC tag, GPS position within the radius, or a
//! manual reason. A proof that does not match the checkpoint is refused, in zh and en.

use patrol_protocol::reason::{Metres, Named, Reason};
use patrol_protocol::record::CheckIn;
use patrol_protocol::{Checkpoint, limits, model::distance_m};

use crate::core::clean_text;
use crate::error::{Error, Result};

/// A GPS fix worse than this proves nothing about a checkpoint a few metres wide.
pub const GPS_ACCURACY_MAX_M: f64 = 100.0;

/// How the person proves they are at the checkpoint.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum CheckInMethod {
    /// The text of the checkpoint's QR label, as scanned.
    Qr { payload: String },
    /// The id of the NFC tag, as the platform reports it (any case, with or without ':').
    Nfc { tag_id: String },
    /// The phone's position and its reported accuracy (metres, 68 % radius).
    Gps { latitude: f64, longitude: f64, accuracy_m: f64 },
    /// No proof possible (label torn off, no signal); the reason is kept for the supervisor.
    Manual { reason: String },
}

fn named(cp: &Checkpoint) -> Named {
    Named::new(&cp.name_zh, &cp.name_en, &cp.code)
}

/// Checks the proof against the checkpoint; `route` holds the other checkpoints of the
/// run, so a QR label of the wrong checkpoint can be named.
pub fn prove(cp: &Checkpoint, route: &[Checkpoint], method: &CheckInMethod) -> Result<CheckIn> {
    match method {
        CheckInMethod::Qr { payload } => {
            let token = payload.trim();
            if token.is_empty() || token.len() > 256 {
                return Err(Error::invalid("qr", Reason::QrEmptyOrLong));
            }
            // The phone holds only the label's digest: it can tell a label, never make one.
            if cp.label_matches(token) {
                return Ok(CheckIn::Qr { token: token.to_string() });
            }
            match route.iter().find(|other| other.label_matches(token)) {
                Some(other) => {
                    Err(Error::invalid("qr", Reason::QrOfOtherCheckpoint { other: named(other), here: named(cp) }))
                }
                None => Err(Error::invalid("qr", Reason::QrNotLabelOf { checkpoint: named(cp) })),
            }
        }
        CheckInMethod::Nfc { tag_id } => {
            let scanned = normalise_tag(tag_id);
            if scanned.is_empty() || scanned.len() > 64 {
                return Err(Error::invalid("nfc", Reason::NfcEmptyOrLong));
            }
            match &cp.nfc_tag_id {
                None => Err(Error::invalid(
                    "nfc",
                    Reason::NoNfcTag { name_zh: cp.name_zh.clone(), name_en: cp.name_en.clone() },
                )),
                Some(expected) if normalise_tag(expected) == scanned => Ok(CheckIn::Nfc { tag_id: scanned }),
                Some(_) => Err(Error::invalid("nfc", Reason::NfcNotOf { checkpoint: named(cp) })),
            }
        }
        CheckInMethod::Gps { latitude, longitude, accuracy_m } => {
            let (lat, lon, acc) = (*latitude, *longitude, *accuracy_m);
            if !(lat.is_finite() && lon.is_finite() && acc.is_finite())
                || lat.abs() > 90.0
                || lon.abs() > 180.0
                || acc < 0.0
            {
                return Err(Error::invalid("position", Reason::PositionInvalid));
            }
            if acc > GPS_ACCURACY_MAX_M {
                return Err(Error::invalid(
                    "accuracy_m",
                    Reason::GpsNotGoodEnough { accuracy_m: Metres(acc), needed_m: Metres(GPS_ACCURACY_MAX_M) },
                ));
            }
            let d = distance_m(lat, lon, cp.latitude, cp.longitude);
            // The person may be anywhere within `acc` of the fix: accept when the
            // nearest such point is inside the radius.
            if d - acc > cp.radius_m {
                return Err(Error::invalid(
                    "position",
                    Reason::OutsideRadius {
                        name_zh: cp.name_zh.clone(),
                        name_en: cp.name_en.clone(),
                        distance_m: Metres(d),
                        accuracy_m: Metres(acc),
                        radius_m: Metres(cp.radius_m),
                    },
                ));
            }
            Ok(CheckIn::Gps { latitude: lat, longitude: lon, accuracy_m: acc, distance_m: (d * 100.0).round() / 100.0 })
        }
        CheckInMethod::Manual { reason } => {
            let reason = clean_text("reason", reason, limits::TEXT_MAX, true)
                .map_err(|_| Error::invalid("reason", Reason::ManualNeedsReason))?;
            Ok(CheckIn::Manual { reason })
        }
    }
}

use patrol_protocol::model::normalise_nfc_tag as normalise_tag;

#[cfg(test)]
mod tests {
    use super::*;
    use patrol_protocol::Id;

    fn cp() -> Checkpoint {
        Checkpoint {
            id: Id::nil(),
            site_id: Id::nil(),
            code: "PUMP".into(),
            name_zh: "水泵房".into(),
            name_en: "Pump room".into(),
            latitude: 31.2304,
            longitude: 121.4737,
            radius_m: 30.0,
            qr_token: "qr-pump-0001".into(),
            qr_digest: String::new(),
            nfc_tag_id: Some("04:A2:19:7F".into()),
            checklist: vec![],
        }
        .without_secret()
    }

    #[test]
    fn a_label_is_proven_by_its_digest_and_the_phone_holds_no_secret() {
        let held = cp();
        assert!(held.qr_token.is_empty(), "the phone's copy carries no secret");
        assert!(!held.qr_digest.contains("qr-pump-0001"));
        assert_eq!(
            prove(&held, &[], &CheckInMethod::Qr { payload: " qr-pump-0001 ".into() }).unwrap(),
            CheckIn::Qr { token: "qr-pump-0001".into() }
        );
        // Neither the digest itself nor a near miss is a label.
        for wrong in [held.qr_digest.clone(), "qr-pump-0002".into(), "QR-PUMP-0001".into()] {
            assert!(prove(&held, &[], &CheckInMethod::Qr { payload: wrong.clone() }).is_err(), "{wrong}");
        }
        // Another checkpoint's label is named as such.
        let mut other = cp();
        other.id = Id::from_u128(7);
        other.qr_digest = patrol_protocol::model::qr_digest(other.id, "qr-gate-0002");
        other.name_zh = "大门".into();
        let err = prove(&held, &[other], &CheckInMethod::Qr { payload: "qr-gate-0002".into() }).unwrap_err();
        assert!(matches!(err, Error::Invalid { ref zh, .. } if zh.contains("大门")), "{err:?}");
    }

    fn gps(north_m: f64, acc: f64) -> CheckInMethod {
        CheckInMethod::Gps { latitude: 31.2304 + north_m / 111_195.0, longitude: 121.4737, accuracy_m: acc }
    }

    #[test]
    fn a_fix_counts_when_its_accuracy_circle_reaches_the_radius() {
        assert!(prove(&cp(), &[], &gps(25.0, 5.0)).is_ok());
        assert!(prove(&cp(), &[], &gps(45.0, 20.0)).is_ok(), "45 m away ± 20 m reaches 30 m");
        let err = prove(&cp(), &[], &gps(60.0, 20.0)).unwrap_err();
        assert!(
            matches!(err, Error::Invalid { ref field, ref zh, .. } if field == "position" && zh.contains("超出")),
            "{err:?}"
        );
    }

    #[test]
    fn a_fix_too_vague_to_prove_anything_is_refused_even_next_to_the_checkpoint() {
        let err = prove(&cp(), &[], &gps(0.0, 150.0)).unwrap_err();
        assert!(matches!(err, Error::Invalid { ref field, .. } if field == "accuracy_m"), "{err:?}");
        assert!(prove(&cp(), &[], &gps(0.0, f64::NAN)).is_err());
    }

    #[test]
    fn nfc_ids_match_whatever_the_platform_spelling() {
        let ok = prove(&cp(), &[], &CheckInMethod::Nfc { tag_id: "04a2197f".into() }).unwrap();
        assert_eq!(ok, CheckIn::Nfc { tag_id: "04A2197F".into() });
        assert!(prove(&cp(), &[], &CheckInMethod::Nfc { tag_id: "04a21980".into() }).is_err());
    }

    #[test]
    fn a_manual_check_in_needs_a_reason() {
        assert!(prove(&cp(), &[], &CheckInMethod::Manual { reason: "  ".into() }).is_err());
        assert!(prove(&cp(), &[], &CheckInMethod::Manual { reason: "标签脱落".into() }).is_ok());
    }
}

//! Proving a checkpoint visit: QR label, NFC tag, GPS position within the radius, or a
//! manual reason. A proof that does not match the checkpoint is refused, in zh and en.

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

/// Checks the proof against the checkpoint; `route` holds the other checkpoints of the
/// run, so a QR label of the wrong checkpoint can be named.
pub fn prove(cp: &Checkpoint, route: &[Checkpoint], method: &CheckInMethod) -> Result<CheckIn> {
    match method {
        CheckInMethod::Qr { payload } => {
            let token = payload.trim();
            if token.is_empty() || token.len() > 256 {
                return Err(Error::invalid("qr", "the scanned code is empty or too long", "二维码内容为空或过长"));
            }
            // The phone holds only the label's digest: it can tell a label, never make one.
            if cp.label_matches(token) {
                return Ok(CheckIn::Qr { token: token.to_string() });
            }
            match route.iter().find(|other| other.label_matches(token)) {
                Some(other) => Err(Error::invalid(
                    "qr",
                    format!(
                        "this QR code belongs to checkpoint {} ({}), not {} ({})",
                        other.name_en, other.code, cp.name_en, cp.code
                    ),
                    format!("此二维码属于巡检点「{}」，不是「{}」", other.name_zh, cp.name_zh),
                )),
                None => Err(Error::invalid(
                    "qr",
                    format!("this QR code is not the label of checkpoint {} ({})", cp.name_en, cp.code),
                    format!("二维码与巡检点「{}」不符", cp.name_zh),
                )),
            }
        }
        CheckInMethod::Nfc { tag_id } => {
            let scanned = normalise_tag(tag_id);
            if scanned.is_empty() || scanned.len() > 64 {
                return Err(Error::invalid("nfc", "the tag id is empty or too long", "NFC 标签编号为空或过长"));
            }
            match &cp.nfc_tag_id {
                None => Err(Error::invalid(
                    "nfc",
                    format!("checkpoint {} has no NFC tag; scan its QR code", cp.name_en),
                    format!("巡检点「{}」未配置 NFC 标签，请扫码打卡", cp.name_zh),
                )),
                Some(expected) if normalise_tag(expected) == scanned => Ok(CheckIn::Nfc { tag_id: scanned }),
                Some(_) => Err(Error::invalid(
                    "nfc",
                    format!("this NFC tag is not the one at checkpoint {} ({})", cp.name_en, cp.code),
                    format!("NFC 标签与巡检点「{}」不符", cp.name_zh),
                )),
            }
        }
        CheckInMethod::Gps { latitude, longitude, accuracy_m } => {
            let (lat, lon, acc) = (*latitude, *longitude, *accuracy_m);
            if !(lat.is_finite() && lon.is_finite() && acc.is_finite())
                || lat.abs() > 90.0
                || lon.abs() > 180.0
                || acc < 0.0
            {
                return Err(Error::invalid("position", "not a valid position", "定位数据无效"));
            }
            if acc > GPS_ACCURACY_MAX_M {
                return Err(Error::invalid(
                    "accuracy_m",
                    format!(
                        "GPS accuracy ±{acc:.0} m is worse than the ±{GPS_ACCURACY_MAX_M:.0} m needed; wait for a better fix or scan the QR code"
                    ),
                    format!("定位精度 ±{acc:.0} 米，未达到 ±{GPS_ACCURACY_MAX_M:.0} 米的要求，请稍候重试或扫码打卡"),
                ));
            }
            let d = distance_m(lat, lon, cp.latitude, cp.longitude);
            // The person may be anywhere within `acc` of the fix: accept when the
            // nearest such point is inside the radius.
            if d - acc > cp.radius_m {
                return Err(Error::invalid(
                    "position",
                    format!(
                        "you are about {d:.0} m from checkpoint {} (±{acc:.0} m), outside its {:.0} m radius",
                        cp.name_en, cp.radius_m
                    ),
                    format!(
                        "您距巡检点「{}」约 {d:.0} 米（精度 ±{acc:.0} 米），超出 {:.0} 米范围",
                        cp.name_zh, cp.radius_m
                    ),
                ));
            }
            Ok(CheckIn::Gps { latitude: lat, longitude: lon, accuracy_m: acc, distance_m: (d * 100.0).round() / 100.0 })
        }
        CheckInMethod::Manual { reason } => {
            let reason = clean_text("reason", reason, limits::TEXT_MAX, true)
                .map_err(|_| Error::invalid("reason", "a manual check-in needs a reason", "手动打卡须填写原因"))?;
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

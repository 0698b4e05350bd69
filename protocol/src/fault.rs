//! Service-quality assessment (服务质量考核): staff fault notices (员工过失通知单) with
//! points deducted (扣分), the person's answer (signed for or refused), appeals (申诉)
//! one level up the chain and their decisions, and the organisation's scale (what a
//! month's points mean: fines, sanctions, the publish list, joint liability).
//!
//! What a fault notice is lives in its records (`FaultIssued`, `FaultActed`,
//! `AppealDecided`); what the numbers mean lives in the scale, which the organisation
//! edits. Nothing here holds a figure of the regulations: they are the demo's values.

use serde::{Deserialize, Serialize};

use crate::limits;
use crate::model::{FieldError, check_text};
use crate::reason::Reason;

/// The most points one fault notice deducts.
pub const POINTS_MAX: u32 = 100;
/// The most bands a scale holds.
pub const BANDS_MAX: usize = 10;
/// The most money a scale names (in fen): ¥1 000 000.
pub const FEN_MAX: u32 = 100_000_000;

/// What the person (or a supervisor) does to a fault notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum FaultAction {
    /// 签收: the person signs for receipt.
    Acknowledge,
    /// 拒签: the person refuses to sign (recorded; the points stand unless appealed).
    Refuse,
    /// 申诉: the person appeals, with a reason, one level up.
    Appeal,
    /// 作废: a supervisor voids it, with a reason; it keeps its number.
    Void,
}

impl FaultAction {
    pub const ALL: [FaultAction; 4] = [Self::Acknowledge, Self::Refuse, Self::Appeal, Self::Void];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Acknowledge => "acknowledge",
            Self::Refuse => "refuse",
            Self::Appeal => "appeal",
            Self::Void => "void",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
    pub fn name_zh(self) -> &'static str {
        match self {
            Self::Acknowledge => "签收",
            Self::Refuse => "拒签",
            Self::Appeal => "申诉",
            Self::Void => "作废",
        }
    }
    pub fn name_en(self) -> &'static str {
        match self {
            Self::Acknowledge => "Sign for receipt",
            Self::Refuse => "Refuse to sign",
            Self::Appeal => "Appeal",
            Self::Void => "Void",
        }
    }
    /// Actions whose record must say why.
    pub fn needs_reason(self) -> bool {
        matches!(self, Self::Appeal | Self::Void)
    }
}

/// The decision on an appeal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum AppealDecision {
    /// 维持: the points stand.
    Upheld,
    /// 减轻: fewer points (the decision says how many remain).
    Reduced,
    /// 撤销: no points.
    Cancelled,
}

impl AppealDecision {
    pub const ALL: [AppealDecision; 3] = [Self::Upheld, Self::Reduced, Self::Cancelled];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Upheld => "upheld",
            Self::Reduced => "reduced",
            Self::Cancelled => "cancelled",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
    pub fn name_zh(self) -> &'static str {
        match self {
            Self::Upheld => "维持",
            Self::Reduced => "减轻",
            Self::Cancelled => "撤销",
        }
    }
    pub fn name_en(self) -> &'static str {
        match self {
            Self::Upheld => "Upheld",
            Self::Reduced => "Reduced",
            Self::Cancelled => "Cancelled",
        }
    }
}

/// One band of a month's points: from `min_points` up to the next band's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ScaleBand {
    pub min_points: u32,
    /// What reaching it means ("行政处分").
    pub label_zh: String,
    pub label_en: String,
    /// A fine on top of the per-point fines, in fen (0 for none).
    pub extra_fine_fen: u32,
}

/// What a month's points mean, per organisation, edited with history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct FaultScale {
    /// The fine for each point, in fen.
    pub fine_per_point_fen: u32,
    /// Ascending by `min_points`.
    pub bands: Vec<ScaleBand>,
    /// Names with at least this many points in a month are published.
    pub publish_points: u32,
    /// The same rule this many times in a month by one person: published, and the
    /// direct superior shares the liability.
    pub repeat_count: u32,
    /// The person's share, in percent, of the points of a repeated rule; the direct
    /// superior carries the rest.
    pub person_share_pct: u32,
}

impl FaultScale {
    pub fn validate(&self) -> Result<(), FieldError> {
        let err = |field: &'static str, reason: Reason| Err(FieldError { field, reason });
        if self.fine_per_point_fen > FEN_MAX || self.bands.iter().any(|b| b.extra_fine_fen > FEN_MAX) {
            return err("fine", Reason::OutOfRange { min: 0.0, max: f64::from(FEN_MAX) });
        }
        if self.bands.len() > BANDS_MAX {
            return err("bands", Reason::TooMany { max: BANDS_MAX });
        }
        if !self.bands.windows(2).all(|w| w[0].min_points < w[1].min_points)
            || self.bands.first().is_some_and(|b| b.min_points == 0)
        {
            return err("bands", Reason::BandsAscending);
        }
        for b in &self.bands {
            check_text("label_zh", &b.label_zh, limits::NAME_MAX, true)?;
            check_text("label_en", &b.label_en, limits::NAME_MAX, true)?;
        }
        if !(1..=1000).contains(&self.publish_points) {
            return err("publish_points", Reason::OutOfRange { min: 1.0, max: 1000.0 });
        }
        if !(2..=31).contains(&self.repeat_count) {
            return err("repeat_count", Reason::OutOfRange { min: 2.0, max: 31.0 });
        }
        if self.person_share_pct > 100 {
            return err("person_share_pct", Reason::OutOfRange { min: 0.0, max: 100.0 });
        }
        Ok(())
    }

    /// The band a month's points reach (in tenths of a point), if any.
    pub fn band_of(&self, tenths: i64) -> Option<&ScaleBand> {
        self.bands.iter().rev().find(|b| tenths >= i64::from(b.min_points) * 10)
    }

    /// The fine for a month's points (tenths of a point), in fen: the per-point fine
    /// for each point (tenths pro rata, rounded to the fen) and the band's extra fine.
    pub fn fine_fen(&self, tenths: i64) -> i64 {
        let per_point = (tenths * i64::from(self.fine_per_point_fen) + 5) / 10;
        per_point + self.band_of(tenths).map_or(0, |b| i64::from(b.extra_fine_fen))
    }
}

/// The rule a fault notice cites, from the organisation's catalogue.
pub fn check_points(points: u32) -> Result<(), FieldError> {
    if points == 0 || points > POINTS_MAX {
        return Err(FieldError {
            field: "points",
            reason: Reason::OutOfRange { min: 1.0, max: f64::from(POINTS_MAX) },
        });
    }
    Ok(())
}

/// Tenths of a point as people read them: "4", "4.2".
pub fn tenths_text(tenths: i64) -> String {
    if tenths % 10 == 0 { format!("{}", tenths / 10) } else { format!("{}.{}", tenths / 10, (tenths % 10).abs()) }
}

/// A rule of the organisation's catalogue (考核条款), as it stands (its newest version).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct FaultRule {
    pub id: crate::Id,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    /// The points a fault notice citing it deducts unless the issuer says otherwise.
    pub points: u32,
    pub retired: bool,
    /// 1 for the first version, 2 after the first edit …
    pub version: u32,
    pub valid_from_ms: i64,
}

impl FaultRule {
    pub fn validate(&self) -> Result<(), FieldError> {
        check_text("code", &self.code, limits::CODE_MAX, true)?;
        check_text("name_zh", &self.name_zh, limits::NAME_MAX, true)?;
        check_text("name_en", &self.name_en, limits::NAME_MAX, true)?;
        check_points(self.points)
    }
}

/// One thing that happened to a fault notice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct FaultEvent {
    pub record_id: crate::Id,
    /// `issued`, a `FaultAction` or an `AppealDecision`.
    pub action: String,
    pub actor_id: crate::Id,
    pub actor_name: String,
    pub reason: String,
    /// The points that remain after a reduction.
    pub points: Option<u32>,
    pub applied: bool,
    pub refusal: Option<String>,
    pub at_ms: i64,
}

/// A fault notice as its readers see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct FaultView {
    pub id: crate::Id,
    pub number: String,
    pub site_id: crate::Id,
    /// YYYY-MM in the site's time, of when it was seen.
    pub month: String,
    pub person_id: crate::Id,
    pub person_name: String,
    pub superior_id: Option<crate::Id>,
    pub superior_name: Option<String>,
    pub rule_id: crate::Id,
    pub rule_code: String,
    pub rule_name_zh: String,
    pub rule_name_en: String,
    /// Deducted when issued.
    pub points: u32,
    /// What counts now (after an appeal's decision; 0 when voided).
    pub points_now: u32,
    pub seen: String,
    pub location: String,
    pub photos: Vec<String>,
    pub run_id: Option<crate::Id>,
    pub notice_id: Option<crate::Id>,
    pub issuer_id: crate::Id,
    pub issuer_name: String,
    pub seen_ms: i64,
    pub received_ms: i64,
    /// `pending`, `signed` or `refused`.
    pub receipt: String,
    /// None, `open`, or the decision (`upheld`, `reduced`, `cancelled`).
    pub appeal: Option<String>,
    /// Who may decide its open appeal.
    pub deciders: Vec<crate::Id>,
    pub voided: bool,
    pub events: Vec<FaultEvent>,
}

/// A person's month at one site, by the scale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PersonMonth {
    pub person_id: crate::Id,
    pub name: String,
    /// Fault notices counted (not voided, not cancelled).
    pub notices: u32,
    /// Points of their own notices, in tenths of a point.
    pub own_tenths: i64,
    /// Of those, what their superior carries for repeated rules.
    pub shared_tenths: i64,
    /// Charged to them as the direct superior of someone who repeated a rule.
    pub charged_tenths: i64,
    /// own − shared + charged.
    pub total_tenths: i64,
    pub band_zh: Option<String>,
    pub band_en: Option<String>,
    pub fine_fen: i64,
    /// On the publish list (points at or over the scale's, or a rule repeated).
    pub published: bool,
    pub repeats: Vec<Repeat>,
}

/// A rule one person broke `count` times in the month, at or over the repeat count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Repeat {
    pub rule_id: crate::Id,
    pub rule_code: String,
    pub rule_name_zh: String,
    pub rule_name_en: String,
    pub count: u32,
    pub numbers: Vec<String>,
    /// The root-cause notes written on it, oldest first.
    pub notes: Vec<String>,
}

/// Joint liability: the superior's share of a person's repeated rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Charge {
    pub superior_id: crate::Id,
    pub superior_name: String,
    pub person_id: crate::Id,
    pub person_name: String,
    pub rule_code: String,
    pub rule_name_zh: String,
    /// The notices that caused it.
    pub numbers: Vec<String>,
    pub tenths: i64,
}

/// A site's month of fault notices (违规处理情况汇总).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MonthSheet {
    pub site_id: crate::Id,
    pub month: String,
    pub scale: Option<FaultScale>,
    pub scale_version: Option<u32>,
    pub people: Vec<PersonMonth>,
    pub charges: Vec<Charge>,
    /// Every fault notice of the month, voided ones included.
    pub faults: Vec<FaultView>,
}

/// Issue a fault notice from a desk or a script.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct IssueFaultRequest {
    pub site_id: crate::Id,
    pub person_id: crate::Id,
    pub rule_id: crate::Id,
    /// The rule's points unless given.
    #[serde(default)]
    pub points: Option<u32>,
    pub seen: String,
    #[serde(default)]
    pub location: String,
    /// The rectification notice it closes with points deducted, if any.
    #[serde(default)]
    pub notice_id: Option<crate::Id>,
}

/// The fault notice a rectification notice is closed with (扣分关闭).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ClosingFault {
    pub person_id: crate::Id,
    pub rule_id: crate::Id,
    /// The rule's points unless given.
    #[serde(default)]
    pub points: Option<u32>,
}

/// Sign for, refuse, appeal or void a fault notice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct FaultActionRequest {
    pub action: FaultAction,
    #[serde(default)]
    pub reason: String,
}

/// Decide a fault notice's appeal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct AppealDecisionRequest {
    pub decision: AppealDecision,
    /// What remains when reduced; 0 (or absent) otherwise.
    #[serde(default)]
    pub points: u32,
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scale() -> FaultScale {
        FaultScale {
            fine_per_point_fen: 1000,
            bands: vec![
                ScaleBand { min_points: 5, label_zh: "罚款".into(), label_en: "Fine".into(), extra_fine_fen: 10000 },
                ScaleBand {
                    min_points: 11,
                    label_zh: "行政处分".into(),
                    label_en: "Sanction".into(),
                    extra_fine_fen: 0,
                },
                ScaleBand {
                    min_points: 20, label_zh: "辞退".into(), label_en: "Dismissal".into(), extra_fine_fen: 0
                },
            ],
            publish_points: 5,
            repeat_count: 3,
            person_share_pct: 70,
        }
    }

    #[test]
    fn bands_are_reached_at_their_minimum_and_not_a_tenth_before() {
        let s = scale();
        for (tenths, band) in
            [(0, None), (49, None), (50, Some(5)), (109, Some(5)), (110, Some(11)), (199, Some(11)), (200, Some(20))]
        {
            assert_eq!(s.band_of(tenths).map(|b| b.min_points), band, "{tenths}");
        }
        assert_eq!(s.fine_fen(42), 4200);
        assert_eq!(s.fine_fen(50), 5000 + 10000);
    }

    #[test]
    fn a_scale_with_bands_out_of_order_or_shares_over_100_is_refused() {
        let mut s = scale();
        assert!(s.validate().is_ok());
        s.bands.swap(0, 1);
        assert_eq!(s.validate().unwrap_err().field, "bands");
        let mut s = scale();
        s.person_share_pct = 101;
        assert_eq!(s.validate().unwrap_err().field, "person_share_pct");
        let mut s = scale();
        s.repeat_count = 1;
        assert_eq!(s.validate().unwrap_err().field, "repeat_count");
    }

    #[test]
    fn tenths_read_as_decimals() {
        assert_eq!(tenths_text(42), "4.2");
        assert_eq!(tenths_text(50), "5");
        assert_eq!(tenths_text(0), "0");
    }
}

//! Rectification notices (整改通知单): severity, states, actions and the one table that
//! says who may do what in which state. Phone and server both decide with `decide`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Severity {
    /// 一般
    General,
    /// 严重不合格: needs a corrective-action report (纠正措施报告) before closing.
    Serious,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum NoticeState {
    /// 已下发: routed to the department's heads, not yet signed for.
    Issued,
    /// 已签收: a head signed for receipt.
    Acknowledged,
    /// 有异议: the head says it is not the department's; a supervisor decides.
    Disputed,
    /// 已整改: the fix was reported with after-photos, waiting for verification.
    Rectified,
    /// 已关闭: verified on site.
    Closed,
    /// 已作废: voided by a supervisor with a reason; keeps its number.
    Voided,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum NoticeAction {
    /// 签收
    Acknowledge,
    /// 提出异议 (not our department)
    Dispute,
    /// 报告整改完成, with after-photos
    ReportFix,
    /// 验证通过
    VerifyPass,
    /// 验证不通过: back to the department
    VerifyFail,
    /// 改派 to another department
    Reassign,
    /// 作废
    Void,
    /// 纠正措施报告 for serious non-conformities
    CorrectiveAction,
    /// 扣分关闭: closed, and the responsible person is issued a fault notice with
    /// points deducted in the same step (the fault notice names this notice). A
    /// supervisor's: they are who issue fault notices.
    CloseWithPoints,
}

/// The actor's relation to one notice, worked out by the server's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum NoticeRole {
    /// Raised the notice.
    Issuer,
    /// Head of the department the notice is addressed to, at its site.
    Head,
    /// Supervisor of the notice's site or of the organisation.
    Supervisor,
    /// Anyone else.
    Other,
}

impl NoticeState {
    pub const ALL: [NoticeState; 6] =
        [Self::Issued, Self::Acknowledged, Self::Disputed, Self::Rectified, Self::Closed, Self::Voided];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Issued => "issued",
            Self::Acknowledged => "acknowledged",
            Self::Disputed => "disputed",
            Self::Rectified => "rectified",
            Self::Closed => "closed",
            Self::Voided => "voided",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
    pub fn name_zh(self) -> &'static str {
        match self {
            Self::Issued => "已下发",
            Self::Acknowledged => "已签收",
            Self::Disputed => "有异议",
            Self::Rectified => "已整改待验证",
            Self::Closed => "已关闭",
            Self::Voided => "已作废",
        }
    }
    pub fn name_en(self) -> &'static str {
        match self {
            Self::Issued => "Issued",
            Self::Acknowledged => "Acknowledged",
            Self::Disputed => "Disputed",
            Self::Rectified => "Fixed, to verify",
            Self::Closed => "Closed",
            Self::Voided => "Voided",
        }
    }
    /// Open notices can still become overdue.
    pub fn is_open(self) -> bool {
        !matches!(self, Self::Closed | Self::Voided)
    }
}

impl NoticeAction {
    pub const ALL: [NoticeAction; 9] = [
        Self::Acknowledge,
        Self::Dispute,
        Self::ReportFix,
        Self::VerifyPass,
        Self::VerifyFail,
        Self::Reassign,
        Self::Void,
        Self::CorrectiveAction,
        Self::CloseWithPoints,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Acknowledge => "acknowledge",
            Self::Dispute => "dispute",
            Self::ReportFix => "report_fix",
            Self::VerifyPass => "verify_pass",
            Self::VerifyFail => "verify_fail",
            Self::Reassign => "reassign",
            Self::Void => "void",
            Self::CorrectiveAction => "corrective_action",
            Self::CloseWithPoints => "close_with_points",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
    pub fn name_zh(self) -> &'static str {
        match self {
            Self::Acknowledge => "签收",
            Self::Dispute => "提出异议",
            Self::ReportFix => "报告整改完成",
            Self::VerifyPass => "验证通过",
            Self::VerifyFail => "验证不通过",
            Self::Reassign => "改派",
            Self::Void => "作废",
            Self::CorrectiveAction => "纠正措施报告",
            Self::CloseWithPoints => "扣分关闭",
        }
    }
    pub fn name_en(self) -> &'static str {
        match self {
            Self::Acknowledge => "Sign for receipt",
            Self::Dispute => "Dispute",
            Self::ReportFix => "Report the fix",
            Self::VerifyPass => "Verify: passed",
            Self::VerifyFail => "Verify: failed",
            Self::Reassign => "Reassign",
            Self::Void => "Void",
            Self::CorrectiveAction => "Corrective-action report",
            Self::CloseWithPoints => "Close with points deducted",
        }
    }
    /// Actions whose record must carry a reason people can read later.
    pub fn needs_reason(self) -> bool {
        matches!(
            self,
            Self::Dispute
                | Self::Void
                | Self::Reassign
                | Self::VerifyFail
                | Self::CorrectiveAction
                | Self::CloseWithPoints
        )
    }
    /// Actions that must carry at least one photo.
    pub fn needs_photos(self) -> bool {
        matches!(self, Self::ReportFix)
    }
}

impl NoticeRole {
    pub const ALL: [NoticeRole; 4] = [Self::Issuer, Self::Head, Self::Supervisor, Self::Other];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Issuer => "issuer",
            Self::Head => "head",
            Self::Supervisor => "supervisor",
            Self::Other => "other",
        }
    }
}

use NoticeAction as A;
use NoticeRole as R;
use NoticeState as S;

/// The whole state machine: (state, action, role) → next state. Anything not listed
/// is refused. Keep this the only place that says who may do what.
pub const TRANSITIONS: &[(NoticeState, NoticeAction, NoticeRole, NoticeState)] = &[
    (S::Issued, A::Acknowledge, R::Head, S::Acknowledged),
    (S::Issued, A::Dispute, R::Head, S::Disputed),
    (S::Acknowledged, A::Dispute, R::Head, S::Disputed),
    (S::Acknowledged, A::ReportFix, R::Head, S::Rectified),
    (S::Acknowledged, A::CorrectiveAction, R::Head, S::Acknowledged),
    (S::Acknowledged, A::CorrectiveAction, R::Supervisor, S::Acknowledged),
    (S::Rectified, A::CorrectiveAction, R::Head, S::Rectified),
    (S::Rectified, A::CorrectiveAction, R::Supervisor, S::Rectified),
    (S::Rectified, A::VerifyPass, R::Issuer, S::Closed),
    (S::Rectified, A::VerifyPass, R::Supervisor, S::Closed),
    (S::Rectified, A::VerifyFail, R::Issuer, S::Acknowledged),
    (S::Rectified, A::VerifyFail, R::Supervisor, S::Acknowledged),
    (S::Rectified, A::CloseWithPoints, R::Supervisor, S::Closed),
    (S::Issued, A::Reassign, R::Supervisor, S::Issued),
    (S::Acknowledged, A::Reassign, R::Supervisor, S::Issued),
    (S::Disputed, A::Reassign, R::Supervisor, S::Issued),
    (S::Issued, A::Void, R::Supervisor, S::Voided),
    (S::Acknowledged, A::Void, R::Supervisor, S::Voided),
    (S::Disputed, A::Void, R::Supervisor, S::Voided),
    (S::Rectified, A::Void, R::Supervisor, S::Voided),
];

/// Why an action on a notice was refused; shown to the person who tried it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "refusal", rename_all = "snake_case")]
pub enum Refusal {
    #[error("a notice that is {state:?} cannot be given the action {action:?}")]
    WrongState { state: NoticeState, action: NoticeAction },
    #[error("the {role:?} of a notice may not {action:?} it")]
    NotPermitted { role: NoticeRole, action: NoticeAction },
    #[error("a serious notice needs a corrective-action report before it can be closed")]
    NeedsCorrectiveActionReport,
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::WrongState { .. } => "wrong_state",
            Refusal::NotPermitted { .. } => "not_permitted",
            Refusal::NeedsCorrectiveActionReport => "needs_corrective_action_report",
        }
    }
    /// The reason in Chinese, for the person's screen.
    pub fn message_zh(&self) -> String {
        match self {
            Refusal::WrongState { state, .. } => {
                format!("通知单当前状态为「{}」，不能执行此操作", state.name_zh())
            }
            Refusal::NotPermitted { .. } => "您无权对此通知单执行此操作".to_string(),
            Refusal::NeedsCorrectiveActionReport => "严重不合格项须先提交纠正措施报告才能关闭".to_string(),
        }
    }
}

/// Looks one (state, action, role) up in the table.
pub fn next_state(state: NoticeState, action: NoticeAction, role: NoticeRole) -> Result<NoticeState, Refusal> {
    if let Some(row) = TRANSITIONS.iter().find(|r| r.0 == state && r.1 == action && r.2 == role) {
        return Ok(row.3);
    }
    if TRANSITIONS.iter().any(|r| r.0 == state && r.1 == action) {
        Err(Refusal::NotPermitted { role, action })
    } else {
        Err(Refusal::WrongState { state, action })
    }
}

/// Decides an action for an actor who may hold several relations to the notice
/// (an issuer who is also a supervisor), including the serious-notice guard.
pub fn decide(
    state: NoticeState,
    action: NoticeAction,
    roles: &[NoticeRole],
    severity: Severity,
    has_corrective_action_report: bool,
) -> Result<NoticeState, Refusal> {
    let mut refusal = None;
    for &role in roles {
        match next_state(state, action, role) {
            Ok(next) => {
                let closes = matches!(action, A::VerifyPass | A::CloseWithPoints);
                if closes && severity == Severity::Serious && !has_corrective_action_report {
                    return Err(Refusal::NeedsCorrectiveActionReport);
                }
                return Ok(next);
            }
            Err(e) => refusal = Some(e),
        }
    }
    Err(refusal.unwrap_or(Refusal::NotPermitted { role: R::Other, action }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The state machine of DESIGN.md written as prose, one allowed move a line. The
    /// test below checks the table against it for every combination.
    const SPEC: &str = "
        issued       acknowledge       head       -> acknowledged
        issued       dispute           head       -> disputed
        acknowledged dispute           head       -> disputed
        acknowledged report_fix        head       -> rectified
        acknowledged corrective_action head       -> acknowledged
        acknowledged corrective_action supervisor -> acknowledged
        rectified    corrective_action head       -> rectified
        rectified    corrective_action supervisor -> rectified
        rectified    verify_pass       issuer     -> closed
        rectified    verify_pass       supervisor -> closed
        rectified    verify_fail       issuer     -> acknowledged
        rectified    verify_fail       supervisor -> acknowledged
        rectified    close_with_points supervisor -> closed
        issued       reassign          supervisor -> issued
        acknowledged reassign          supervisor -> issued
        disputed     reassign          supervisor -> issued
        issued       void              supervisor -> voided
        acknowledged void              supervisor -> voided
        disputed     void              supervisor -> voided
        rectified    void              supervisor -> voided
    ";

    fn spec() -> Vec<(String, String, String, String)> {
        SPEC.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                assert_eq!(w.len(), 5, "bad spec line {l}");
                (w[0].into(), w[1].into(), w[2].into(), w[4].into())
            })
            .collect()
    }

    #[test]
    fn every_state_action_role_combination_matches_the_written_rules() {
        let spec = spec();
        let mut walked = 0;
        for state in NoticeState::ALL {
            for action in NoticeAction::ALL {
                for role in NoticeRole::ALL {
                    walked += 1;
                    let expected = spec
                        .iter()
                        .find(|r| r.0 == state.as_str() && r.1 == action.as_str() && r.2 == role.as_str())
                        .map(|r| NoticeState::parse(&r.3).expect("spec names a state"));
                    let got = next_state(state, action, role);
                    match expected {
                        Some(next) => assert_eq!(got, Ok(next), "{state:?} {action:?} {role:?}"),
                        None => {
                            let err = got.expect_err("not in the rules, must be refused");
                            let someone_may = spec.iter().any(|r| r.0 == state.as_str() && r.1 == action.as_str());
                            if someone_may {
                                assert_eq!(err, Refusal::NotPermitted { role, action });
                            } else {
                                assert_eq!(err, Refusal::WrongState { state, action });
                            }
                        }
                    }
                }
            }
        }
        assert_eq!(walked, 6 * 9 * 4);
        assert_eq!(spec.len(), TRANSITIONS.len());
    }

    #[test]
    fn closed_and_voided_notices_accept_nothing() {
        for state in [NoticeState::Closed, NoticeState::Voided] {
            for action in NoticeAction::ALL {
                for role in NoticeRole::ALL {
                    assert!(matches!(next_state(state, action, role), Err(Refusal::WrongState { .. })));
                }
            }
        }
    }

    #[test]
    fn a_serious_notice_closes_only_after_a_corrective_action_report() {
        let r = decide(S::Rectified, A::VerifyPass, &[R::Issuer], Severity::Serious, false);
        assert_eq!(r, Err(Refusal::NeedsCorrectiveActionReport));
        let r = decide(S::Rectified, A::VerifyPass, &[R::Issuer], Severity::Serious, true);
        assert_eq!(r, Ok(S::Closed));
        let r = decide(S::Rectified, A::VerifyPass, &[R::Issuer], Severity::General, false);
        assert_eq!(r, Ok(S::Closed));
    }

    #[test]
    fn an_issuer_who_is_also_supervisor_may_use_either_right() {
        let r = decide(S::Disputed, A::Reassign, &[R::Issuer, R::Supervisor], Severity::General, false);
        assert_eq!(r, Ok(S::Issued));
        let r = decide(S::Disputed, A::Reassign, &[R::Issuer], Severity::General, false);
        assert!(matches!(r, Err(Refusal::NotPermitted { .. })));
    }
}

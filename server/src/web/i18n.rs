//! The console's languages and every string it shows, in one table with the
//! Chinese (the default) and the English side by side.

/// The language a page is rendered in: zh-CN unless the `lang` cookie says `en`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

pub const LANG_COOKIE: &str = "patrol_lang";

impl Lang {
    /// From the cookie value; anything but `en` is Chinese.
    pub fn from_cookie(v: Option<&str>) -> Lang {
        match v {
            Some("en") => Lang::En,
            _ => Lang::Zh,
        }
    }

    /// The value of `<html lang>`.
    pub fn html_code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn cookie_value(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    pub fn t(self, key: K) -> &'static str {
        match self {
            Lang::Zh => key.zh(),
            Lang::En => key.en(),
        }
    }

    /// Picks a name entered in both languages; an empty English name falls back to
    /// the Chinese one, which is always required.
    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::En if !en.trim().is_empty() => en,
            _ => zh,
        }
    }
}

/// Declares the keys and both translations at once, so that a key without a
/// translation cannot compile.
macro_rules! strings {
    ($($key:ident => $zh:literal, $en:literal;)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum K { $($key),* }
        impl K {
            pub const ALL: &'static [K] = &[$(K::$key),*];
            pub fn zh(self) -> &'static str { match self { $(K::$key => $zh),* } }
            pub fn en(self) -> &'static str { match self { $(K::$key => $en),* } }
        }
    };
}

strings! {
    Brand => "巡检管理", "Patrol console";
    Faults => "过失通知单", "Fault notices";
    FaultNotice => "员工过失通知单", "Staff fault notice";
    FaultNumber => "编号", "Number";
    IssueFault => "开具过失通知单", "Issue a fault notice";
    FaultRule => "违反条款", "Rule broken";
    FaultRules => "考核条款", "Assessment rules";
    FaultScale => "考核标准", "Assessment scale";
    Points => "扣分", "Points";
    PointsNow => "现扣分", "Points now";
    PointsDefault => "扣分（留空按条款）", "Points (empty: the rule's)";
    Seen => "违规事实", "What was seen";
    SeenAt => "违规时间", "Seen at";
    Receipt => "签收", "Receipt";
    ReceiptPending => "待签收", "Not yet signed";
    ReceiptSigned => "已签收", "Signed for";
    ReceiptRefused => "拒签", "Refused to sign";
    AppealWord => "申诉", "Appeal";
    AppealOpen => "申诉待处理", "Appeal open";
    AppealNone => "未申诉", "Not appealed";
    AppealReason => "申诉理由", "Reason for the appeal";
    DecideAppeal => "处理申诉", "Decide the appeal";
    Decision => "处理结果", "Decision";
    PointsRemaining => "减轻后扣分", "Points remaining";
    DecidedBy => "由谁处理", "Decided by";
    Superior => "直接上级", "Direct superior";
    VoidFault => "作废", "Void";
    SignFault => "签收", "Sign for receipt";
    RefuseFault => "拒签", "Refuse to sign";
    FaultMonth => "违规处理情况汇总", "Monthly fault summary";
    OwnShare => "本人承担", "Own share";
    Charged => "连带扣分", "Charged as superior";
    TotalPoints => "合计扣分", "Total points";
    Consequence => "处理", "Consequence";
    FineYuan => "罚款（元）", "Fine (yuan)";
    PublishList => "通报名单", "Publish list";
    Published => "通报", "Published";
    Repeats => "重复问题", "Repeated problems";
    Times => "次数", "Times";
    JointLiability => "连带责任", "Joint liability";
    CausedBy => "相关通知单", "Caused by";
    RootCause => "原因分析及预防措施", "Root cause and prevention";
    AddNote => "添加", "Add";
    Appeals => "申诉情况", "Appeals";
    FaultCount => "过失单数", "Notices";
    FinePerPoint => "每分罚款（元）", "Fine per point (yuan)";
    PublishPoints => "通报分数线", "Publish from (points)";
    RepeatCount => "重复次数（连带）", "Repeat count (joint liability)";
    PersonShare => "本人承担比例（%）", "Person's share (%)";
    Bands => "分档", "Bands";
    BandsHint => "每行一档：分数 中文 英文 加罚元，例如：5 加罚 Extra-fine 100", "One band a line: points, Chinese, English, extra fine in yuan, e.g. 5 加罚 Extra-fine 100";
    ScaleVersion => "标准版本", "Scale version";
    NoScale => "本单位尚未设定考核标准：只统计扣分。", "No scale yet: points are totalled, nothing more.";
    PreparedBy => "制表人", "Prepared by";
    ApprovedBy => "审核人", "Approved by";
    PersonSignature => "被通知人签字", "Signature of the person";
    IssuerSignature => "开单人签字", "Signature of the issuer";
    AnyMonth => "全部月份", "Any month";
    Month => "月份", "Month";
    ClosesNotice => "关联整改通知单", "Closes rectification notice";
    YourFaults => "我的过失通知单", "My fault notices";
    SerialNo => "序号", "No.";
    Aye => "是", "Yes";
    NewDue => "二次整改期限（留空不变）", "New due time for the second rectification (empty: unchanged)";
    SecondRectifications => "二次整改", "Second rectifications";
    Nay => "否", "No";
    SwitchLang => "English", "中文";
    SignIn => "登录", "Sign in";
    SignOut => "退出登录", "Sign out";
    Login => "用户名", "Login";
    Password => "密码", "Password";
    SignInTitle => "登录巡检管理平台", "Sign in to the Patrol console";
    SignInHint => "请使用管理员分配的账号登录。", "Use the account your administrator gave you.";
    WrongPassword => "用户名或密码错误。", "Wrong login or password.";
    TooManyAttempts => "密码错误次数过多，请一分钟后再试。", "Too many wrong passwords; wait a minute and try again.";
    Home => "首页", "Home";
    Welcome => "您好", "Hello";
    YourRoles => "您的角色", "Your roles";
    YourSites => "您可查看的项目", "Sites you can see";
    Administration => "系统设置", "Administration";
    Sites => "项目", "Sites";
    Site => "项目", "Site";
    People => "人员", "People";
    Departments => "部门", "Departments";
    Department => "部门", "Department";
    Checkpoints => "巡检点", "Checkpoints";
    Routes => "巡检路线", "Routes";
    Schedules => "巡检计划", "Schedules";
    SitePlan => "项目平面图", "Site plan";
    Code => "编号", "Code";
    NameZh => "中文名称", "Name (Chinese)";
    NameEn => "英文名称", "Name (English)";
    Name => "名称", "Name";
    UtcOffset => "时区（相对 UTC 的分钟数）", "Time zone (minutes from UTC)";
    Create => "新建", "Create";
    Save => "保存", "Save";
    Upload => "上传", "Upload";
    Import => "导入", "Import";
    Open => "打开", "Open";
    Actions => "操作", "Actions";
    Nothing => "暂无数据", "Nothing yet";
    Saved => "已保存。", "Saved.";
    EditHistory => "修改 · 历史", "Edit · history";
    EditObject => "修改", "Edit";
    History => "历史版本", "History";
    Version => "版本", "Version";
    ValidFrom => "生效时间", "In force from";
    ChangedBy => "修改人", "Changed by";
    Content => "内容", "Content";
    Retired => "已停用", "Retired";
    Retire => "停用", "Retire";
    RetireHint => "停用后不再出现在手机和列表中；历史版本和引用它的记录都保留，正在进行的巡检照常完成。", "Once retired it leaves the phones and the lists; its history and the records that name it stay, and runs under way finish as usual.";
    SaveChanges => "保存修改", "Save changes";
    NewSite => "新建项目", "New site";
    SiteCodeHint => "1–8 位大写字母或数字，用于整改通知单编号。", "1–8 upper-case letters or digits, used in notice numbers.";
    Kind => "类型", "Kind";
    NewDepartment => "新建部门", "New department";
    Latitude => "纬度", "Latitude";
    Longitude => "经度", "Longitude";
    RadiusM => "半径（米）", "Radius (m)";
    QrToken => "二维码令牌", "QR token";
    QrTokenHint => "留空则自动生成。", "Leave empty to generate one.";
    NfcTag => "NFC 标签号", "NFC tag id";
    Checklist => "检查项（每行一项）", "Checklist (one item per line)";
    ChecklistItems => "检查项", "Checklist items";
    NewCheckpoint => "新建巡检点", "New checkpoint";
    PrintLabels => "打印全部二维码标签（PDF）", "Print all QR labels (PDF)";
    PrintLabel => "标签", "Label";
    ImportCsv => "从 CSV 批量导入", "Import from CSV";
    CsvFile => "CSV 文件（UTF-8）", "CSV file (UTF-8)";
    CheckpointCsvHint => "表头：code,name_zh,name_en,latitude,longitude,radius_m,qr_token,nfc_tag_id,checklist（检查项以 | 分隔）。全部正确才会导入。", "Header: code,name_zh,name_en,latitude,longitude,radius_m,qr_token,nfc_tag_id,checklist (items separated by |). Nothing is imported unless every row is valid.";
    PeopleCsvHint => "表头：login,display_name,password,role,site_code,department_kind。角色：administrator、org_supervisor、site_supervisor、department_head、department_staff、patrol_staff。全部正确才会导入。", "Header: login,display_name,password,role,site_code,department_kind. Roles: administrator, org_supervisor, site_supervisor, department_head, department_staff, patrol_staff. Nothing is imported unless every row is valid.";
    ImportFailed => "导入失败，未导入任何数据。请修正以下各行后重试：", "Import failed; nothing was imported. Fix these rows and try again:";
    Row => "行", "Row";
    Problem => "问题", "Problem";
    Imported => "已导入", "Imported";
    Rows => "行", "rows";
    NewRoute => "新建巡检路线", "New route";
    RouteOrderHint => "在巡检点前填写巡检顺序（1, 2, 3 …），留空表示不经过。", "Number the checkpoints in walking order (1, 2, 3 …); leave the others empty.";
    Order => "顺序", "Order";
    CheckpointCount => "巡检点数", "Checkpoints";
    Route => "路线", "Route";
    NewSchedule => "新建巡检计划", "New schedule";
    Days => "星期", "Days";
    Windows => "时段", "Time windows";
    WindowsHint => "每行一个时段：开始-结束 次数，例如 08:00-10:00 1；结束早于开始即跨夜到次日，例如 23:00-01:00 1", "One window per line: start-end runs, e.g. 08:00-10:00 1; an end before the start is on the next day, e.g. 23:00-01:00 1";
    Mon => "一", "Mon";
    Tue => "二", "Tue";
    Wed => "三", "Wed";
    Thu => "四", "Thu";
    Fri => "五", "Fri";
    Sat => "六", "Sat";
    Sun => "日", "Sun";
    Runs => "次", "runs";
    DisplayName => "姓名", "Name";
    Roles => "角色", "Roles";
    Active => "状态", "Status";
    Enabled => "在职", "Active";
    Disabled => "停用", "Disabled";
    NewPerson => "新建人员", "New person";
    AddRole => "添加角色", "Add role";
    Deactivate => "停用", "Deactivate";
    Reactivate => "启用", "Reactivate";
    ResetPassword => "重置密码", "Reset password";
    OneTimePassword => "临时密码", "One-time password";
    OneTimePasswordHint => "请当面交给本人。此密码只显示这一次，本人登录后须立即修改；其所有登录已被注销。", "Hand it over in person. It is shown only this once and must be changed at the next sign-in; every login of the person has been ended.";
    ChangePassword => "修改密码", "Change password";
    CurrentPassword => "当前密码", "Current password";
    NewPassword => "新密码", "New password";
    MustChangePassword => "您正在使用临时密码，请先设置新密码。", "You signed in with a one-time password: choose a new one first.";
    PasswordPolicyHint => "至少 8 个字符，须同时包含字母和数字（或符号），不能包含登录名。", "At least 8 characters, letters together with digits (or signs), not containing your login.";
    PasswordChanged => "密码已修改，您在其他设备上的登录已注销。", "Password changed; your sign-ins on other devices were ended.";
    Role => "角色", "Role";
    NoSiteNeeded => "（不限项目）", "(no site)";
    NoDepartment => "（不适用）", "(not applicable)";
    RoleAdministrator => "系统管理员", "Administrator";
    RoleOrgSupervisor => "管理处经理（全部项目）", "Organisation supervisor";
    RoleSiteSupervisor => "项目主管", "Site supervisor";
    RoleDepartmentHead => "部门负责人", "Department head";
    RolePatrolStaff => "巡检人员", "Patrol staff";
    RoleDepartmentStaff => "部门员工", "Department staff";
    PlanCorners => "平面图边界坐标", "Plan edges (latitude / longitude)";
    North => "北边纬度", "North latitude";
    South => "南边纬度", "South latitude";
    West => "西边经度", "West longitude";
    East => "东边经度", "East longitude";
    PlanFile => "图片（PNG 或 JPEG，不超过 5 MB）", "Image (PNG or JPEG, at most 5 MB)";
    NoPlan => "尚未上传平面图。", "No plan uploaded yet.";
    Forbidden => "无权访问", "Access denied";
    ForbiddenText => "您的账号没有权限查看此页面。如需访问，请联系系统管理员。", "Your account may not open this page. Ask your administrator if you need it.";
    NotFound => "页面不存在", "Not found";
    BadInput => "输入有误", "Please check your input";
    TooLarge => "文件过大", "Too large";
    SessionRefused => "请求已被拒绝", "Request refused";
    CsrfText => "表单已过期或来源不明，请返回刷新页面后重试。", "The form was stale or came from elsewhere. Go back, reload the page and try again.";
    ServerError => "服务器出错", "Server error";
    ServerErrorText => "出现了意外错误，已记录。请稍后再试。", "Something went wrong and has been logged. Please try again later.";
    Back => "返回", "Back";
    GoHome => "回到首页", "Go to the home page";
    SignInAgain => "以其他账号登录", "Sign in as someone else";
    SignInAgainTitle => "请重新登录", "Please sign in again";
    Notices => "整改通知", "Notices";
    Inbox => "整改通知单", "Notice inbox";
    Dashboard => "今日巡检看板", "Today's dashboard";
    AllNotices => "全部", "All";
    OpenNotices => "未关闭", "Open";
    Overdue => "已超期", "Overdue";
    AwaitingReceipt => "待签收", "Awaiting receipt";
    Fixing => "整改中", "Being fixed";
    Disputed => "有异议", "Disputed";
    AwaitingVerification => "待验证", "Awaiting verification";
    NoNotices => "没有需要处理的整改通知单。", "No notices to handle.";
    InAll => "共计", "In all";
    FirstPage => "第一页", "First page";
    NextPage => "下一页", "Next page";
    Search => "搜索", "Search";
    SearchHint => "编号、问题描述或地点", "Number, description or location";
    AnySite => "全部项目", "All sites";
    AnyDepartment => "全部部门", "All departments";
    AnySeverity => "全部", "Any";
    FoundFrom => "发现日期自", "Found from";
    FoundTo => "至", "Found until";
    OverdueOnly => "只看已超期", "Overdue only";
    ApplyFilter => "筛选", "Filter";
    ClearFilter => "清除条件", "Clear";
    Matching => "符合条件", "Matching";
    Register => "整改通知台账", "Notice register";
    FoundOn => "发现日期", "Found on";
    ClosedOn => "关闭时间", "Closed on";
    OverdueYes => "超期", "Overdue";
    ClosedNotices => "已关闭", "Closed";
    NoticeNumber => "编号", "Number";
    NumberPending => "编号待定", "Number pending";
    Location => "地点", "Location";
    Description => "问题描述", "Description";
    State => "状态", "State";
    Due => "整改期限", "Due";
    Serious => "严重不合格", "Serious";
    General => "一般", "General";
    Severity => "严重程度", "Severity";
    Issuer => "下发人", "Issued by";
    RaisedAt => "发现时间", "Found at";
    ReceivedAt => "下发时间", "Issued at";
    DeviceTime => "手机时间", "Device time";
    ServerTime => "服务器时间", "Server time";
    CorrectiveActionReport => "纠正措施报告", "Corrective-action report";
    Yes => "已提交", "Submitted";
    No => "未提交", "Not submitted";
    BeforePhotos => "整改前照片", "Before photos";
    AfterPhotos => "整改后照片", "After photos";
    NoPhotos => "暂无照片", "No photos";
    Photo => "照片", "Photo";
    PhotoMarkedUp => "照片上有标注（原图未改动）", "Photo with markup (the original is unchanged)";
    Photos => "照片", "Photos";
    PhotosUploading => "部分照片仍在上传中", "Some photos are still uploading";
    Timeline => "处理记录", "Timeline";
    Person => "人员", "Person";
    Action => "操作", "Action";
    Result => "结果", "Result";
    Reason => "原因/说明", "Reason / note";
    Applied => "已生效", "Applied";
    Refused => "未生效", "Refused";
    NoActions => "您目前无需对此通知单进行操作。", "There is nothing for you to do on this notice now.";
    NeedsCarFirst => "严重不合格项须先提交纠正措施报告才能验证通过。", "A serious notice needs its corrective-action report before it can pass verification.";
    AfterPhotosUpload => "整改后照片（JPEG 或 PNG，可多选，每张不超过 8 MB）", "After photos (JPEG or PNG, several allowed, at most 8 MB each)";
    FixNote => "整改说明", "What was done";
    CorrectiveActionText => "纠正措施及预防措施", "Corrective and preventive action";
    RectificationNotice => "整改通知单", "Rectification notice";
    PrintNotice => "打印通知单（PDF）", "Print notice (PDF)";
    LiveNote => "页面会在有新记录时自动更新。", "This page updates by itself when new records arrive.";
    DailyLog => "巡检日志", "Daily log";
    MonthlySummary => "月度汇总", "Monthly summary";
    ExpectedRuns => "应巡次数", "Expected runs";
    DoneRuns => "按时完成", "Done on time";
    LateRuns => "迟巡", "Late";
    MissedRuns => "漏巡", "Missed";
    PendingRuns => "待巡", "Still to come";
    CheckpointsCovered => "已覆盖巡检点", "Checkpoints covered";
    TodaysWindows => "今日巡检时段", "Today's windows";
    Window => "时段", "Window";
    NoScheduleToday => "今日没有巡检计划。", "No patrols scheduled today.";
    TodaysRuns => "今日巡检记录", "Today's runs";
    Started => "开始时间", "Started";
    FinishedAt => "结束时间", "Finished";
    Visits => "打卡", "Visits";
    NoRunsYet => "暂无巡检记录。", "No runs yet.";
    ShowingLatest => "显示最近的记录", "Showing the latest";
    AllInDailyLog => "全部记录见巡检日志", "every run is in the daily log";
    NoticesByDepartment => "各部门整改通知", "Notices per department";
    UnsignedLogs => "近 7 日未审阅签字的巡检日志", "Unsigned logs of the last 7 days";
    AllSigned => "近 7 日的巡检日志均已签字。", "Every log of the last 7 days is signed.";
    InProgress => "进行中", "In progress";
    Incomplete => "漏检", "Checkpoints missed";
    Finished => "已完成", "Finished";
    PatrolRun => "巡检记录", "Patrol run";
    MissedCheckpoints => "漏检巡检点", "Missed checkpoints";
    TrackPoints => "轨迹点", "Track points";
    Visited => "已打卡", "Visited";
    Missed => "漏巡与迟巡", "Missed and late";
    GpsTrack => "GPS 轨迹", "GPS track";
    MissedReason => "漏检原因", "Reason for missed checkpoints";
    Checkpoint => "巡检点", "Checkpoint";
    Method => "打卡方式", "Method";
    MethodQr => "扫二维码", "QR code";
    MethodNfc => "NFC", "NFC";
    MethodGps => "GPS 定位", "GPS";
    MethodManual => "手工（注明原因）", "Manual (with reason)";
    OutOfOrder => "顺序不符", "Out of order";
    AllOk => "正常", "OK";
    Problems => "项问题", "problems";
    NotApplicable => "不适用", "n/a";
    Done => "完成情况", "Done";
    Found => "发现的问题", "Found";
    NothingMissed => "当日没有漏巡或迟巡。", "Nothing missed or late that day.";
    NoScheduleThatDay => "当日没有生效的巡检计划，不计应巡次数。", "No schedule was in force that day: no runs were expected.";
    SchedulesSince => "本项目的巡检计划自此时起计：", "This site's schedules count from:";
    NoScheduleYet => "本项目尚未设置巡检计划。", "This site has no schedule yet.";
    SchedulesNoHistory => "巡检计划不保留历史版本：每个计划自创建时起计，新增计划不替换原有计划。", "Schedules keep no history: each counts from when it was created, and a new one does not replace an earlier one.";
    Unscheduled => "未计入计划", "Not counted by a schedule";
    UnscheduledHint => "不在任何计划时段内、或超出时段要求次数的巡检，不计入完成情况。", "Runs outside every schedule window, or beyond what a window asked for, do not count towards completion.";
    NextDay => "次日", "next day";
    NoticesRaised => "下发通知单", "Notices raised";
    ReviewSignature => "审阅签字", "Review signature";
    ChangedSinceSigned => "签字后日志内容有更新。", "The log changed after this signature.";
    NotSignedYet => "尚未审阅签字。", "Not signed yet.";
    Comment => "审阅意见", "Comment";
    SignLog => "审阅签字", "Sign the log";
    Overview => "概况", "Overview";
    PerDay => "每日", "Per day";
    Date => "日期", "Date";
    RunsWalked => "巡检次数", "Runs walked";
    CompletionPercent => "完成率（%）", "Completion (%)";
    CompletionNote => "完成率只计已到的时段：尚未到来的时段（待巡）不计入。", "Completion counts only windows that have come: those still to come are left out.";
    CoveragePercent => "巡检点覆盖率（%）", "Checkpoint coverage (%)";
    Raised => "下发", "Raised";
    Closed => "已关闭", "Closed";
    ClosedOnTime => "按期关闭", "Closed on time";
    Voided => "已作废", "Voided";
    MedianHoursToClose => "关闭用时中位数（小时）", "Median hours to close";
    CheckpointsVisited => "打卡巡检点", "Checkpoints visited";
    NoticeActions => "处理通知单操作", "Notice actions";
    RunsPerDay => "每日巡检次数", "Runs per day";
    ExportExcel => "导出 Excel", "Export Excel";
    ExportPdf => "导出 PDF", "Export PDF";
    Signatures => "签字", "Signatures";
    SignReceipt => "责任部门签收：", "Received by (department):";
    SignRectified => "整改完成确认：", "Fix confirmed by:";
    SignVerified => "验证人：", "Verified by:";
    PrintedFromConsole => "由巡检管理平台生成，记录不可涂改", "Printed from the Patrol console; records cannot be altered";
    ReassignTo => "改派至部门", "Reassign to";
    VerificationCode => "审计验证码", "Verification code";
    PageOf => "第 {n} / {total} 页", "Page {n} of {total}";
    Total => "合计", "Total";
}

/// A notice state in the reader's language.
pub fn state_name(lang: Lang, state: patrol_protocol::notice::NoticeState) -> &'static str {
    use patrol_protocol::notice::NoticeState as S;
    match lang {
        Lang::Zh => state.name_zh(),
        Lang::En => match state {
            S::Issued => "Issued",
            S::Acknowledged => "Acknowledged",
            S::Disputed => "Disputed",
            S::Rectified => "Fixed, to verify",
            S::Closed => "Closed",
            S::Voided => "Voided",
        },
    }
}

/// A timeline action (`raised` or a `NoticeAction` name) in the reader's language.
pub fn action_name(lang: Lang, action: &str) -> &'static str {
    let (zh, en) = match action {
        "raised" => ("下发", "Raised"),
        "acknowledge" => ("签收", "Sign for receipt"),
        "dispute" => ("提出异议", "Dispute"),
        "report_fix" => ("报告整改完成", "Report the fix"),
        "verify_pass" => ("验证通过", "Verify: passed"),
        "verify_fail" => ("验证不通过，二次整改", "Verify: failed, second rectification"),
        "reassign" => ("改派", "Reassign"),
        "void" => ("作废", "Void"),
        "corrective_action" => ("纠正措施报告", "Corrective-action report"),
        "close_with_points" => ("扣分关闭", "Closed with points deducted"),
        _ => ("其他", "Other"),
    };
    if lang == Lang::Zh { zh } else { en }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_string_has_both_languages_and_chinese_is_the_default() {
        for k in K::ALL {
            assert!(!k.zh().trim().is_empty(), "{k:?} has no Chinese");
            assert!(!k.en().trim().is_empty(), "{k:?} has no English");
        }
        assert_eq!(Lang::from_cookie(None), Lang::Zh);
        assert_eq!(Lang::from_cookie(Some("fr")), Lang::Zh);
        assert_eq!(Lang::from_cookie(Some("en")).t(K::SignIn), "Sign in");
        assert_eq!(Lang::En.pick("北门", ""), "北门");
        assert_eq!(Lang::En.pick("北门", "North gate"), "North gate");
    }
}

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
    ComingSoon => "整改通知、巡检看板和日志审阅将在同步功能上线后提供。", "Notices, the patrol dashboard and daily-log review arrive with sync.";
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
    PeopleCsvHint => "表头：login,display_name,password,role,site_code,department_kind。角色：administrator、org_supervisor、site_supervisor、department_head、patrol_staff。全部正确才会导入。", "Header: login,display_name,password,role,site_code,department_kind. Roles: administrator, org_supervisor, site_supervisor, department_head, patrol_staff. Nothing is imported unless every row is valid.";
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
    WindowsHint => "每行一个时段：开始-结束 次数，例如 08:00-10:00 1", "One window per line: start-end runs, e.g. 08:00-10:00 1";
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
    Role => "角色", "Role";
    NoSiteNeeded => "（不限项目）", "(no site)";
    NoDepartment => "（不适用）", "(not applicable)";
    RoleAdministrator => "系统管理员", "Administrator";
    RoleOrgSupervisor => "管理处经理（全部项目）", "Organisation supervisor";
    RoleSiteSupervisor => "项目主管", "Site supervisor";
    RoleDepartmentHead => "部门负责人", "Department head";
    RolePatrolStaff => "巡检人员", "Patrol staff";
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

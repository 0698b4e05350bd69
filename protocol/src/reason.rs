//! Why something was refused, as one typed `Reason` with its Chinese and English
//! texts side by side: the one place where a refusal a person reads is worded. The
//! server's API errors, console pages and CSV reports, the sync's record rejections
//! and the phone core's errors all carry a `Reason` and ask it for their text.

use std::borrow::Cow;

use crate::model::DepartmentKind;
use crate::notice::{NoticeAction, NoticeState, Refusal};

/// A value shown inside a reason, worded per language (a notice state is 已签收 in
/// Chinese and `acknowledged` in English; a number is the same in both). `sample`
/// gives a value for the test that reads every reason in both languages.
pub trait Wording {
    fn zh(&self) -> Cow<'_, str>;
    fn en(&self) -> Cow<'_, str>;
    fn sample() -> Self;
}

macro_rules! same_in_both {
    ($($t:ty = $sample:expr),*) => {$(
        impl Wording for $t {
            fn zh(&self) -> Cow<'_, str> { Cow::Owned(self.to_string()) }
            fn en(&self) -> Cow<'_, str> { Cow::Owned(self.to_string()) }
            fn sample() -> Self { $sample }
        }
    )*};
}

same_in_both!(usize = 7, u64 = 7, u32 = 7, i64 = -7, f64 = 1.5, String = "A1".to_string());

/// Values with a name of their own in each language.
macro_rules! named_in_each {
    ($($t:ty: $zh:ident, $en:ident, $sample:expr);* $(;)?) => {$(
        impl Wording for $t {
            fn zh(&self) -> Cow<'_, str> { Cow::Borrowed(self.$zh()) }
            fn en(&self) -> Cow<'_, str> { Cow::Borrowed(self.$en()) }
            fn sample() -> Self { $sample }
        }
    )*};
}

named_in_each!(
    NoticeState: name_zh, name_en, NoticeState::Acknowledged;
    NoticeAction: name_zh, name_en, NoticeAction::VerifyPass;
    DepartmentKind: name_zh, as_str, DepartmentKind::Engineering;
    Thing: name_zh, name_en, Thing::Checkpoint;
);

/// A reason inside a reason (a photo's name, then why it was refused).
impl Wording for Box<Reason> {
    fn zh(&self) -> Cow<'_, str> {
        Cow::Owned(Reason::zh(self))
    }
    fn en(&self) -> Cow<'_, str> {
        Cow::Owned(Reason::en(self))
    }
    fn sample() -> Self {
        Box::new(Reason::Required)
    }
}

/// A distance in metres, shown rounded to the metre.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metres(pub f64);

impl Wording for Metres {
    fn zh(&self) -> Cow<'_, str> {
        Cow::Owned(format!("{:.0}", self.0))
    }
    fn en(&self) -> Cow<'_, str> {
        Cow::Owned(format!("{:.0}", self.0))
    }
    fn sample() -> Self {
        Metres(12.4)
    }
}

/// Something named in both languages with its code (a checkpoint): the Chinese name
/// in Chinese, `English name (code)` in English. Boxed, so a reason stays small.
#[derive(Debug, Clone, PartialEq)]
pub struct Named(Box<[String; 3]>);

impl Named {
    pub fn new(name_zh: &str, name_en: &str, code: &str) -> Named {
        Named(Box::new([name_zh.to_string(), name_en.to_string(), code.to_string()]))
    }
}

impl Wording for Named {
    fn zh(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.0[0])
    }
    fn en(&self) -> Cow<'_, str> {
        Cow::Owned(format!("{} ({})", self.0[1], self.0[2]))
    }
    fn sample() -> Self {
        Named::new("北门岗亭", "North gate", "GATE-N")
    }
}

/// What was not found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Thing {
    Site,
    SitePlan,
    Department,
    Checkpoint,
    Route,
    Person,
    Role,
    Notice,
    Run,
    Photo,
    Waiver,
    Channel,
    Record,
    Page,
    Endpoint,
    Schedule,
}

impl Thing {
    pub const ALL: [Thing; 16] = [
        Thing::Site,
        Thing::SitePlan,
        Thing::Department,
        Thing::Checkpoint,
        Thing::Route,
        Thing::Person,
        Thing::Role,
        Thing::Notice,
        Thing::Run,
        Thing::Photo,
        Thing::Waiver,
        Thing::Channel,
        Thing::Record,
        Thing::Page,
        Thing::Endpoint,
        Thing::Schedule,
    ];

    pub fn name_zh(self) -> &'static str {
        match self {
            Thing::Site => "项目",
            Thing::SitePlan => "项目平面图",
            Thing::Department => "部门",
            Thing::Checkpoint => "巡检点",
            Thing::Route => "巡检路线",
            Thing::Person => "人员",
            Thing::Role => "角色",
            Thing::Notice => "整改通知单",
            Thing::Run => "巡检记录",
            Thing::Photo => "照片",
            Thing::Waiver => "不巡检申请",
            Thing::Channel => "通知渠道",
            Thing::Record => "记录",
            Thing::Page => "页面",
            Thing::Endpoint => "接口",
            Thing::Schedule => "巡检计划",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            Thing::Site => "site",
            Thing::SitePlan => "site plan",
            Thing::Department => "department",
            Thing::Checkpoint => "checkpoint",
            Thing::Route => "route",
            Thing::Person => "person",
            Thing::Role => "role",
            Thing::Notice => "notice",
            Thing::Run => "patrol run",
            Thing::Photo => "photo",
            Thing::Waiver => "waiver",
            Thing::Channel => "channel",
            Thing::Record => "record",
            Thing::Page => "page",
            Thing::Endpoint => "endpoint",
            Thing::Schedule => "schedule",
        }
    }
}

impl Wording for Refusal {
    fn zh(&self) -> Cow<'_, str> {
        Cow::Owned(self.message_zh())
    }
    fn en(&self) -> Cow<'_, str> {
        Cow::Owned(self.to_string())
    }
    fn sample() -> Self {
        Refusal::WrongState { state: NoticeState::Closed, action: NoticeAction::Dispute }
    }
}

/// Declares `Reason` from one table: variant and fields, the stable code clients may
/// match on, the Chinese text and the English text (format strings naming the
/// fields). A reason without both texts cannot compile.
macro_rules! reasons {
    ($(
        $(#[$doc:meta])*
        $name:ident $({ $($f:ident : $t:ty),* $(,)? })? => $code:literal, $zh:literal, $en:literal;
    )*) => {
        /// Why something was refused. See the module comment.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Reason {
            $( $(#[$doc])* $name $({ $($f: $t),* })? ),*
        }

        impl Reason {
            /// A stable snake_case code for programs (the texts may be reworded).
            pub fn code(&self) -> &'static str {
                match self { $( Self::$name { .. } => $code ),* }
            }

            /// The text in Chinese.
            #[allow(unused_variables)]
            pub fn zh(&self) -> String {
                match self {
                    $( Self::$name $({ $($f),* })? => { $($( let $f = Wording::zh($f); )*)? format!($zh) } ),*
                }
            }

            /// The text in English.
            #[allow(unused_variables)]
            pub fn en(&self) -> String {
                match self {
                    $( Self::$name $({ $($f),* })? => { $($( let $f = Wording::en($f); )*)? format!($en) } ),*
                }
            }

            /// One of every reason, with sample values: for tests that read them all.
            pub fn samples() -> Vec<Reason> {
                vec![ $( Self::$name $({ $($f: Wording::sample()),* })? ),* ]
            }
        }
    };
}

reasons! {
    // Text people type.
    Required => "required", "不能为空", "must not be empty";
    TooLong { max: usize } => "too_long", "不能超过 {max} 个字符", "longer than {max} characters";
    LengthBetween { min: usize, max: usize } => "length", "须为 {min} 至 {max} 个字符", "{min} to {max} characters";
    ControlCharacters => "control_characters", "含有不可见的控制字符", "contains control characters";
    NotUtf8Text => "not_utf8", "不是 UTF-8 文本", "is not UTF-8 text";
    NotNumber => "not_a_number", "须为数字", "is not a number";
    OutOfRange { min: f64, max: f64 } => "out_of_range", "须在 {min} 至 {max} 之间", "must be between {min} and {max}";
    NotFinite => "not_finite", "须为有效数字", "must be finite numbers";
    DateFormat => "date_format", "日期格式应为 YYYY-MM-DD（年-月-日）", "a date as YYYY-MM-DD";
    MonthFormat => "month_format", "月份格式应为 YYYY-MM（年-月）", "a month as YYYY-MM";
    DayYears => "day_years", "日期须在 2000 至 2200 年之间", "a day between the years 2000 and 2200";
    TimeYears => "time_years", "时间须在 2000 至 2200 年之间", "a time between 2000 and 2200";
    LastDayBeforeFirst => "last_before_first", "结束日期早于开始日期", "the last day comes before the first";
    LastDayRange => "last_day_range", "须不早于 first_day，且在一年之内", "on or after first_day, within a year";
    SearchText { max: usize } => "search_text", "搜索内容不超过 {max} 个字符，且不含控制字符", "a search of at most {max} characters, without control characters";
    SeverityChoice => "severity_choice", "应为一般或严重不合格", "general or serious";
    NotAChoice => "not_a_choice", "不是可选的选项", "not one of the choices";
    OneOf { allowed: String } => "not_one_of", "须为以下之一：{allowed}", "one of {allowed}";
    UnknownValue { value: String, allowed: String } => "unknown_value", "不认识的取值 {value}，须为以下之一：{allowed}", "unknown value {value}; one of {allowed}";
    OneOrMoreOf { allowed: String } => "not_some_of", "须为以下一项或多项：{allowed}", "one or more of {allowed}";
    ZeroOrOne => "zero_or_one", "须为 0 或 1", "0 or 1";
    OneOrNothing => "one_or_nothing", "须为 1 或留空", "1 or nothing";
    TooMany { max: usize } => "too_many", "最多 {max} 项", "at most {max} items";
    CountBetween { min: usize, max: usize } => "count", "须为 {min} 至 {max} 项", "{min} to {max} items";
    AppearsTwice { what: String } => "appears_twice", "{what} 重复出现", "{what} appears twice";
    NotAPlaceInList => "not_a_place", "不是列表中的有效位置", "not a place in the list";
    NotACursor => "not_a_cursor", "不是本服务器给出的同步游标", "not a cursor this server gave out";
    ChooseFile => "choose_file", "请选择文件", "choose a file";
    ChooseRoute => "choose_route", "请选择巡检路线", "choose a route";
    ChooseDepartment => "choose_department", "请选择部门", "choose a department";
    CloseNeedsFault => "close_needs_fault", "扣分关闭须先对责任人开具过失通知单", "closing with points deducted needs a fault notice to the responsible person first";
    OnlySecondRectificationDue => "only_second_rectification_due", "只有“验证不通过（二次整改）”可另定整改期限", "only a failed verification (a second rectification) sets a new due time";
    BandsAscending => "bands_ascending", "各档分数须从小到大且大于 0", "bands ascend from more than 0 points";
    NoScaleYet => "no_scale", "本单位尚未设定考核标准", "the organisation has no assessment scale yet";

    // CSV files.
    CsvTooLarge { max_kb: usize } => "csv_too_large", "文件超过 {max_kb} KB", "the file is larger than {max_kb} KB";
    CsvNotUtf8 => "csv_not_utf8", "文件不是 UTF-8 编码，请另存为“CSV UTF-8”", "the file is not UTF-8: save it as “CSV UTF-8”";
    CsvHeaderUnreadable { detail: String } => "csv_header", "无法读取表头（第一行）", "cannot read the header: {detail}";
    CsvUnknownColumn { name: String, known: String } => "csv_unknown_column", "未知的列 {name}；可用的列：{known}", "unknown column {name}; known: {known}";
    CsvMissingColumn { name: String } => "csv_missing_column", "缺少列 {name}", "missing column {name}";
    CsvTooManyRows { max: usize } => "csv_too_many_rows", "超过 {max} 行，请分批导入", "more than {max} rows; split the file";
    CsvRowUnreadable { detail: String } => "csv_row", "此行无法读取（列数与表头不符，或引号不成对）", "the row does not read: {detail}";
    CsvNoRows => "csv_no_rows", "文件中没有数据行", "the file has no data rows";
    CodeTwiceInFile { code: String } => "code_twice", "编号 {code} 在文件中重复出现", "code {code} appears twice in the file";
    QrTokenTwiceInFile => "qr_token_twice", "二维码令牌 qr_token 在文件中重复出现", "qr_token appears twice in the file";
    LoginTwiceInFile { login: String } => "login_twice", "登录名 {login} 在文件中重复出现", "login {login} appears twice in the file";

    // Reference data.
    SiteCode => "site_code", "须为 1 至 8 位大写字母或数字", "1 to 8 upper-case letters or digits";
    QrDigest => "qr_digest", "未给出二维码密钥时须附 64 位十六进制摘要", "a withheld QR secret needs its 64-hex-digit digest";
    Weekdays => "weekdays", "须为星期一（1）至星期日（7），至少一天", "ISO weekdays 1 (Monday) to 7 (Sunday), at least one";
    WindowSpan => "window_span", "每个时段须有开始和结束（结束早于开始即到次日），且短于一天", "each window starts before it ends (an earlier end is the next day), shorter than a day";
    WindowLine { line: String } => "window_line", "“{line}”格式不对，应如 08:00-10:00 1", "“{line}”: write e.g. 08:00-10:00 1";
    SameOrderNumber => "same_order", "两个巡检点的顺序号相同", "two checkpoints have the same number";
    RouteNotOfSite => "route_not_of_site", "不是本项目的巡检路线", "not a route of this site";
    CheckpointNotOfSite { id: String } => "checkpoint_not_of_site", "{id} 不是本项目的巡检点", "{id} is not a checkpoint of this site";
    SiteNotOfOrg { id: String } => "site_not_of_org", "{id} 不是本单位的项目", "{id} is not a site of this organisation";
    DepartmentNotOfSite => "department_not_of_site", "不是该项目的部门", "not a department of that site";
    NoSiteWithCode { code: String } => "no_site_with_code", "没有编号为 {code} 的项目", "no site with code {code}";
    DepartmentNeedsSite => "department_needs_site", "指定部门时须同时指定项目", "a department needs its site";
    SiteLacksDepartment { site: String, kind: DepartmentKind } => "site_lacks_department", "项目 {site} 没有{kind}", "{site} has no {kind} department";
    RoleNeedsSite { role: String } => "role_needs_site", "角色 {role} 须指定项目", "role {role} needs a site";
    HeadNeedsDepartment => "head_needs_department", "部门负责人须指定部门", "a department head needs a department";
    LoginFormat => "login_format", "须为 2 至 64 个字母、数字或 . _ - @", "2 to 64 letters, digits, '.', '_', '-' or '@'";
    ManagerBeforeSupervisor => "step_order", "不能早于主管一级的提醒", "not before the supervisor's step";
    EmailList => "email_list", "须为 1 至 20 个以逗号分隔的电子邮箱地址", "1 to 20 comma-separated e-mail addresses";
    HttpUrl => "http_url", "须为以 http:// 或 https:// 开头的网址", "an http:// or https:// URL";
    ChannelKindFixed => "channel_kind_fixed", "通知渠道的类型不能修改，请另建一个", "a channel keeps its kind; make a new one";
    PlanLatitudes => "plan_latitudes", "纬度须在 ±90 之内，且北边大于南边", "latitudes within ±90, north above south";
    PlanLongitudes => "plan_longitudes", "经度须在 ±180 之内，且东边大于西边", "longitudes within ±180, east of west";
    CodeTaken { code: String } => "code_taken", "编号 {code} 在本项目已存在", "code {code} already exists at this site";
    QrTokenTaken => "qr_token_taken", "二维码令牌已被使用", "qr_token is already in use";
    // Reference data edited and retired over time (server/src/api/versions.rs).
    ObjectRetired { thing: Thing } => "object_retired", "该{thing}已停用，不能再修改", "the {thing} is retired and cannot change";
    SiteNotRetiredHere => "site_not_retired", "项目不能在此停用：请停用其线路和计划，项目的记录保留", "a site is not retired here: retire its routes and schedules; its records stay";
    CheckpointOnRoutes { routes: String, count: usize } => "checkpoint_on_routes", "该巡检点仍在线路中：{routes}。请先从线路中移除", "the checkpoint is still on {count} route(s): take it off them first";
    DepartmentHasOpenNotices { open: i64 } => "department_has_open_notices", "该部门还有 {open} 张未关闭的整改通知单，请先改派或关闭", "the department still has {open} open notice(s): reassign or close them first";
    NoSuchKind => "no_such_kind", "没有这类对象", "no such kind of object";
    KindMismatch => "kind_mismatch", "对象类型不符", "not an object of this kind";
    ReassignRetired => "reassign_retired", "改派的部门已停用", "the new department was retired";
    RetiredNotImported { code: String } => "retired_not_imported", "巡检点 {code} 已停用，不能通过导入修改", "checkpoint {code} is retired and cannot be changed by an import";
    LoginTaken { login: String } => "login_taken", "登录名 {login} 已被占用", "login {login} is already taken";

    // Records and photos.
    Sha256 => "sha256", "须为小写十六进制的 SHA-256", "a lower-case hex SHA-256";
    PositionOutOfRange => "position", "定位坐标超出范围", "position out of range";
    TrackPoints => "track_points", "轨迹点坐标须为有效数字且在范围之内", "positions must be finite and in range";
    PixelsPerSide { max: u32 } => "pixels_per_side", "每边须为 1 至 {max} 像素", "1 to {max} pixels a side";
    MarkOutsidePhoto { max: u32 } => "mark_outside_photo", "标注须在照片之内（坐标 0 至 {max}，圆的半径至少为 1）", "marks must lie on the photo (coordinates 0 to {max}, a circle's radius at least 1)";
    PhotoNotYoursToMark => "photo_not_viewable", "您无权查看此照片，不能在上面标注", "you may not see this photo, so you cannot mark it up";
    MarkArrowLength => "mark_arrow_length", "箭头的起点和终点不能重合", "an arrow's ends must differ";
    NeedsPhoto => "needs_photo", "此操作至少需要一张照片", "this action needs at least one photo";
    OnlyFixCarriesPhotos => "only_fix_has_photos", "只有报告整改完成时可附照片", "only a fix report carries photos";
    ReassignTarget => "reassign_target", "改派时须指定部门，其他操作不能指定", "given exactly when reassigning";
    SeqStartsAtOne => "seq_from_one", "序号从 1 开始", "starts at 1";
    GenesisHash => "genesis_hash", "第一条记录须接在创世哈希之后", "the first record chains to the genesis hash";
    NotJpegOrPng => "not_jpeg_or_png", "不是 JPEG 或 PNG 图片", "not a JPEG or PNG image";
    NoPixels => "no_pixels", "图片尺寸为零", "the image has no pixels";
    ImageTooBig { width: u32, height: u32, max_side: u32 } => "image_too_big", "图片尺寸 {width}×{height} 超出上限（单边 {max_side} 像素、总计 5000 万像素）", "the image claims {width}×{height} pixels, more than the {max_side} px a side / 50 megapixels accepted";
    PngNoHeader => "png_header", "PNG 文件头损坏", "a PNG without its IHDR header";
    JpegNoFrame => "jpeg_header", "JPEG 文件头损坏", "a JPEG without a frame header";
    JpegCutShort => "jpeg_cut_short", "JPEG 文件不完整", "the JPEG is cut short (no end marker)";
    JpegNoImageData => "jpeg_no_data", "JPEG 文件没有图像数据", "the JPEG has no image data after its header";
    PhotoNotJpeg => "photo_not_jpeg", "照片不是 JPEG 格式", "the photo is not a JPEG";
    PhotoNotWhole => "photo_not_whole", "照片不完整（缺少结束标记）", "the photo is not a whole JPEG (no end-of-image marker)";
    PhotoDoesNotDecode { detail: String } => "photo_broken", "照片文件已损坏或不完整，请重新拍摄", "the photo does not decode cleanly (damaged or cut short: {detail}); take it again";
    SizeDiffersFromHeader => "size_differs", "图片尺寸与文件头不符", "the image's size differs from its header";
    ImageUnreadable { detail: String } => "image_unreadable", "图片无法完整读取", "the image cannot be read whole: {detail}";
    PhotoRefused { why: Box<Reason> } => "photo_refused", "照片未被接受：{why}", "photo refused: {why}";
    InFile { name: String, why: Box<Reason> } => "in_file", "{name}：{why}", "{name}: {why}";
    HashMismatch => "hash_mismatch", "上传的内容与其 SHA-256 不符，请从头重新上传", "the uploaded bytes do not have this SHA-256; upload again from the start";
    ChunkPastEnd { size: u64 } => "chunk_past_end", "照片共 {size} 字节，此块超出了末尾", "the photo has {size} bytes; this chunk goes past its end";
    OffsetMismatch { received: u64, size: u64 } => "offset_mismatch", "offset_mismatch：服务器已收到 {received} / {size} 字节", "offset_mismatch: the server has {received} of {size} bytes";
    UploadMovedOn => "offset_moved_on", "offset_mismatch：此照片的另一次上传已推进，请重新查询", "offset_mismatch: another upload of this photo moved on; ask again";

    // Requests as a whole.
    MalformedRequest => "malformed_request", "请求格式不正确", "the request is malformed";
    NeedsJson => "needs_json", "请求内容须为 JSON（Content-Type: application/json）", "expected a JSON body (Content-Type: application/json)";
    JsonSyntax { line: usize, column: usize } => "json_syntax", "JSON 格式错误（第 {line} 行第 {column} 列）", "the JSON does not parse (line {line}, column {column})";
    JsonCutShort => "json_cut_short", "JSON 内容不完整", "the JSON ends too early";
    JsonMissingField { name: String } => "missing_field", "缺少字段 {name}", "missing field {name}";
    JsonUnknownField { name: String } => "unknown_field", "不认识的字段 {name}", "unknown field {name}";
    JsonUnknownChoice { value: String } => "unknown_choice", "不认识的取值 {value}", "unknown value {value}";
    WrongType { detail: String } => "wrong_type", "值的类型或格式不对", "wrong type or shape: {detail}";
    BadPathPart { name: String } => "bad_path", "网址中的 {name} 格式不正确", "{name} in the address is not valid";
    BadQuery { detail: String } => "bad_query", "网址中的查询参数不正确", "the query does not fit: {detail}";
    ExpectedForm => "expected_form", "请求应为表单", "expected a form";
    FormUnreadable => "form_unreadable", "表单无法读取，请重新提交", "the form could not be read; send it again";
    TooManyFields => "too_many_fields", "表单字段过多", "too many fields";
    RequestTooLarge => "request_too_large", "请求内容过大", "the request is too large";
    BodyTooLarge { max_kb: usize } => "body_too_large", "内容过大，最多 {max_kb} KB", "too large: at most {max_kb} KB";
    FileTooLarge { max_mb: usize } => "file_too_large", "文件过大，最多 {max_mb} MB", "the file may be at most {max_mb} MB";
    ChunkTooLarge { max: usize } => "chunk_too_large", "每次上传最多 {max} 字节", "a chunk carries at most {max} bytes";
    PushTooLarge { max_mib: usize } => "push_too_large", "单次同步数据过大（最多 {max_mib} MiB），请分批发送", "a push carries at most {max_mib} MiB; send fewer records at a time";
    MethodNotAllowed => "method_not_allowed", "此地址不支持这种请求方式", "this method is not allowed here";
    NotFound { thing: Thing } => "not_found", "{thing}不存在", "{thing} not found";
    NoLeaf => "no_leaf", "该记录在审计日志中没有条目", "no leaf for this record";
    NotWitnessed => "not_witnessed", "尚无检查点获得见证策略要求的见证方联署", "no checkpoint is cosigned by the witnesses the policy requires";
    PhotoNotCited => "photo_not_cited", "您的记录中没有引用此照片，请先同步记录", "no record of yours cites this photo; push the records first";
    PhotoNotArrived => "photo_not_arrived", "照片尚未上传完成", "the photo has not arrived yet";
    NoThumbnail => "no_thumbnail", "此照片无法生成缩略图", "no thumbnail can be made of this photo (it does not decode)";
    ConsistencyBounds { size: u64 } => "consistency_bounds", "须满足 1 ≤ first ≤ second ≤ {size}（日志大小）", "need 1 <= first <= second <= {size} (the log's size)";
    InclusionBounds { size: u64 } => "inclusion_bounds", "须满足 index < tree_size ≤ {size}（日志大小）", "need index < tree_size <= {size} (the log's size)";
    IndexOrRecordId => "index_or_record_id", "index 与 record_id 须且只能给出一个", "give either index or record_id";
    VerificationCodeFormat => "code_format", "验证码格式应如 17-42-3fa9c01b", "a verification code looks like 17-42-3fa9c01b";
    ExportTooBig { total: usize, max: usize } => "export_too_big", "符合条件的通知单有 {total} 张，超过一次导出的上限 {max} 张，请缩小筛选范围", "{total} notices match, more than the {max} one export may hold: narrow the filter";

    // Signing in and access.
    WrongCredentials => "invalid_credentials", "用户名或密码错误", "wrong login or password";
    TooManyWrongPasswords => "too_many_attempts", "密码错误次数过多，请一分钟后再试", "too many wrong passwords; wait a minute and try again";
    SignInBusy => "sign_in_busy", "登录繁忙，请几秒后重试", "the server is busy signing people in; try again in a few seconds";
    AccountDisabled => "account_disabled", "账号已停用", "this account is disabled";
    SignInAgain => "sign_in_again", "请重新登录", "sign in again";
    SignInFirst => "sign_in_first", "请先登录", "sign in first";
    BearerExpected => "bearer_expected", "请先登录（须带 Bearer 令牌）", "expected a Bearer token";
    TokenExpired => "token_expired", "登录已过期，请刷新", "the access token has expired; refresh it";
    TokenInvalid => "token_invalid", "登录凭证无效", "the access token is not valid";
    SignedOut => "signed_out", "此登录已结束，请重新登录", "this login was ended; sign in again";
    PasswordChangeRequired => "password_change_required", "请先修改临时密码", "change the one-time password first";
    PasswordLength => "password_length", "密码须为 8 至 256 个字符", "a password has 8 to 256 characters";
    PasswordHasLogin => "password_has_login", "密码不能包含登录名", "a password may not contain the login";
    PasswordTooCommon => "password_common", "该密码过于常见，请另选", "this password is among the first ones guessed; choose another";
    PasswordNeedsMix => "password_mix", "密码须同时包含字母和数字（或符号）", "use letters and digits (or signs) together";
    PasswordUnchanged => "password_unchanged", "新密码须与原密码不同", "the new password must differ from the current one";
    CurrentPasswordWrong => "current_password_wrong", "当前密码不正确", "the current password is wrong";
    Forbidden => "forbidden", "您无权访问此内容", "you may not do this here";
    StaleForm => "stale_form", "表单已过期或来源不明，请返回刷新页面后重试", "the form was stale or came from elsewhere; go back, reload the page and try again";
    CannotDeactivateSelf => "deactivate_self", "不能停用自己的账号", "you cannot deactivate yourself";
    CannotDropOwnAdmin => "drop_own_admin", "不能移除自己的管理员角色", "you cannot remove your own administrator role";
    UpdateApp { version: u32 } => "protocol_version", "服务器使用协议版本 {version}，请更新应用", "this server speaks protocol {version}; please update the app";

    // Sync.
    SyncGap { expected: u64, got: u64 } => "sync_gap", "sync_gap：序号应为 {expected}，收到的是 {got}；请查询同步状态后重发", "sync_gap: expected seq {expected}, got {got}; ask /api/v1/sync/status and resend";
    SyncForkContradicts { seq: u64 } => "sync_fork", "sync_fork：第 {seq} 条记录与服务器已接收的不一致，已提交稽核", "sync_fork: record {seq} contradicts the one the server accepted; flagged for audit";
    SyncForkChain { seq: u64 } => "sync_fork", "sync_fork：第 {seq} 条记录与服务器保存的记录链接不上，已提交稽核", "sync_fork: record {seq} does not follow the chain the server holds (prev_hash); flagged for audit";
    PushOtherDevice => "push_other_device", "只能同步本机登录的设备的记录链", "push the chain of the device you signed in on";
    RecordsNotYours => "records_not_yours", "记录须为登录本人在本设备上所产生", "records must be the signed-in person's, from this device";
    DeviceClockWrong => "device_clock", "手机日期时间有误（早于 2020 年或比服务器快一周以上），请校正后再同步", "the device clock is wrong (before 2020 or more than a week ahead of the server); set the phone's date and time";
    ChainOfOtherPerson => "chain_of_other_person", "此设备的记录链属于他人", "this device's chain belongs to someone else";
    TimeTokenForeign => "time_token_foreign", "不是服务器给本设备的时间", "not a time this server gave this device";
    ElapsedTooLong => "elapsed_too_long", "经过时间超出实际", "more time than has passed since the server's answer";

    // Record rejections: kept on the server and shown to the person who made the record.
    // Their English texts (and the notice refusals' `Refusal` texts) are written into
    // the transparency log and compared by `audit verify` when records are applied
    // again: never reword them, or every stored rejection reads as edited.
    SiteUnknown => "unknown_site", "项目不存在", "unknown site";
    RunUnknown => "unknown_run", "巡检记录不存在", "unknown run";
    NoticeUnknown => "unknown_notice", "通知单不存在", "unknown notice";
    WaiverUnknown => "unknown_waiver", "不巡检申请不存在", "unknown waiver";
    RunNotYours => "run_not_yours", "这不是您的巡检", "the run is someone else's";
    RunFinished => "run_finished", "该巡检已结束", "the run is already finished";
    RunStarted => "run_started", "该巡检已开始", "the run was already started";
    RouteOfOtherSite => "route_of_other_site", "线路不属于该项目", "the route is not one of this site";
    NoRoleAtSite => "no_role_at_site", "您在该项目没有岗位", "you have no role at this site";
    NoRoleToRaise => "no_role_to_raise", "您在该项目没有岗位，不能下发整改通知单", "you have no role at this site";
    CheckpointOfOtherSite => "checkpoint_of_other_site", "巡检点不属于该项目", "the checkpoint is not one of this site";
    DepartmentOfOtherSite => "department_of_other_site", "责任部门不属于该项目", "the department is not one of this site";
    ReassignOfOtherSite => "reassign_of_other_site", "改派的部门不属于该项目", "the new department is not one of this site";
    RunOfOtherSite => "run_of_other_site", "巡检记录不属于该项目", "the patrol run is not one of this site";
    VisitRecorded => "visit_recorded", "该打卡已记录", "the visit was already recorded";
    MissedWithoutReason { missed: usize } => "missed_without_reason", "漏检 {missed} 个巡检点，须填写原因", "{missed} checkpoints were missed and no reason was given";
    OnlySupervisorSigns => "only_supervisor_signs", "只有该项目主管可签阅巡检日志", "only a supervisor of the site signs its daily log";
    CorrectionNotYours => "correction_not_yours", "更正只能针对您本人的记录", "a correction must point at one of your own records";
    ObjectExists => "object_exists", "记录中的对象已存在，未予采用", "it names an object that already exists";
    NoticeExists => "notice_exists", "该通知单已存在", "a notice with this id already exists";
    PhotoNotFromDevice { sha: String } => "photo_not_from_device", "引用的照片不是本机先前拍摄的", "photo {sha} was not taken on this device before the record";
    PhotoSizeRange { bytes: u64 } => "photo_size", "照片大小超出范围", "a photo of {bytes} bytes is outside 1 byte to 15 MiB";
    PhotoOfOtherDevice => "photo_other_device", "该照片已由其他设备记录", "this photo was recorded by another device";
    PhotoSizeChanged => "photo_size_changed", "照片大小与此前记录不符", "this photo was recorded before with another size";
    OnlyStaffWaive => "only_staff_waive", "只有该项目的巡检人员可申请不巡检", "only the site's patrol staff may waive a patrol";
    NothingExpected => "nothing_expected", "该线路在此时段没有计划巡检", "no patrol of this route is expected in a window starting then";
    AlreadyWaived => "already_waived", "该时段已申请不巡检", "this window was already waived";
    OnlySupervisorDecides => "only_supervisor_decides", "只有该项目主管可审批不巡检申请", "only a supervisor of the site decides on waivers";
    WaiverAccepted => "waiver_accepted", "该申请已批准", "the waiver was already accepted";
    WaiverRejected => "waiver_rejected", "该申请已驳回", "the waiver was already rejected";
    QrNotThisCheckpoint { name: String } => "qr_mismatch", "二维码与巡检点「{name}」不符", "the QR code is not this checkpoint's";
    NfcNotThisCheckpoint { name: String } => "nfc_mismatch", "NFC 标签与巡检点「{name}」不符", "the NFC tag is not this checkpoint's";
    GpsTooPoor { accuracy_m: Metres } => "gps_too_poor", "定位精度 {accuracy_m} 米，误差过大", "GPS accuracy {accuracy_m} m is too poor";
    TooFarAway { distance_m: Metres, radius_m: Metres } => "too_far", "距巡检点 {distance_m} 米，超出 {radius_m} 米范围", "{distance_m} m from the checkpoint, outside its {radius_m} m radius";
    NoticeRefused { refusal: Refusal } => "notice_refused", "{refusal}", "{refusal}";
    NoticeHeadedElsewhere { dept_zh: String, dept_en: String } => "notice_reassigned", "该通知单已改派至{dept_zh}，您的操作未生效", "the notice is now addressed to {dept_en} ({dept_zh}); your action was not applied";
    FaultUnknown => "unknown_fault", "过失通知单不存在", "unknown fault notice";
    FaultExists => "fault_exists", "该过失通知单已存在", "a fault notice with this id already exists";
    FaultRuleUnknown => "unknown_fault_rule", "考核条款不存在或已停用", "the rule is not in the organisation's catalogue, or is retired";
    NoRoleToIssueFault => "no_role_to_issue_fault", "只有项目主管（对本项目人员）和部门负责人（对本部门员工）可开具过失通知单", "only a site's supervisors (for anyone at the site) and department heads (for their department's staff) issue fault notices";
    FaultToSelf => "fault_to_self", "不能给自己开具过失通知单", "you cannot issue a fault notice to yourself";
    PersonNotAtSite => "person_not_at_site", "该人员在此项目没有岗位", "the person has no role at this site";
    FaultNotYours => "fault_not_yours", "只有被开单人本人可签收、拒签或申诉", "only the person named signs for, refuses or appeals a fault notice";
    FaultAnswered => "fault_answered", "该过失通知单已签收或拒签", "the fault notice was already signed for or refused";
    FaultVoided => "fault_voided", "该过失通知单已作废", "the fault notice is void";
    AppealAlreadyMade => "appeal_made", "该过失通知单已申诉过", "the fault notice was already appealed";
    NoOpenAppeal => "no_open_appeal", "该过失通知单没有待处理的申诉", "the fault notice has no open appeal";
    NotTheAppealDecider => "not_appeal_decider", "此申诉应由被申诉人的上一级处理，您不能处理", "this appeal is decided one level up the chain, not by you";
    OnlySupervisorVoidsFault => "only_supervisor_voids_fault", "只有项目主管可作废过失通知单", "only a supervisor of the site voids a fault notice";
    ReducedPoints { max: u32 } => "reduced_points", "减轻后的扣分须少于原扣分（1 至 {max} 分）", "reduced points are fewer than before (1 to {max})";
    RuleOfOtherOrg => "rule_of_other_org", "考核条款不属于本单位", "the rule is not one of this organisation's";

    // The phone: checking in, walking, raising notices, photos, its own store and sync.
    QrEmptyOrLong => "qr_empty_or_long", "二维码内容为空或过长", "the scanned code is empty or too long";
    QrOfOtherCheckpoint { other: Named, here: Named } => "qr_other_checkpoint", "此二维码属于巡检点「{other}」，不是「{here}」", "this QR code belongs to checkpoint {other}, not {here}";
    QrNotLabelOf { checkpoint: Named } => "qr_not_label", "二维码与巡检点「{checkpoint}」不符", "this QR code is not the label of checkpoint {checkpoint}";
    NfcEmptyOrLong => "nfc_empty_or_long", "NFC 标签编号为空或过长", "the tag id is empty or too long";
    NoNfcTag { name_zh: String, name_en: String } => "no_nfc_tag", "巡检点「{name_zh}」未配置 NFC 标签，请扫码打卡", "checkpoint {name_en} has no NFC tag; scan its QR code";
    NfcNotOf { checkpoint: Named } => "nfc_not_of", "NFC 标签与巡检点「{checkpoint}」不符", "this NFC tag is not the one at checkpoint {checkpoint}";
    PositionInvalid => "position_invalid", "定位数据无效", "not a valid position";
    GpsNotGoodEnough { accuracy_m: Metres, needed_m: Metres } => "gps_not_good_enough", "定位精度 ±{accuracy_m} 米，未达到 ±{needed_m} 米的要求，请稍候重试或扫码打卡", "GPS accuracy ±{accuracy_m} m is worse than the ±{needed_m} m needed; wait for a better fix or scan the QR code";
    OutsideRadius { name_zh: String, name_en: String, distance_m: Metres, accuracy_m: Metres, radius_m: Metres } => "outside_radius", "您距巡检点「{name_zh}」约 {distance_m} 米（精度 ±{accuracy_m} 米），超出 {radius_m} 米范围", "you are about {distance_m} m from checkpoint {name_en} (±{accuracy_m} m), outside its {radius_m} m radius";
    ManualNeedsReason => "manual_needs_reason", "手动打卡须填写原因", "a manual check-in needs a reason";
    RunOver => "run_over", "本次巡检已结束", "this run is already finished";
    RunOfSomeoneElse => "run_of_someone_else", "本次巡检由他人发起", "this run was started by someone else";
    CheckpointNotOnRoute => "checkpoint_not_on_route", "该巡检点不在本线路上", "this checkpoint is not on the run's route";
    AlreadyCheckedIn => "already_checked_in", "本次巡检已在该点打卡", "already checked in at this checkpoint in this run";
    CheckInFirst => "check_in_first", "请先在该巡检点打卡", "check in at this checkpoint first";
    ItemNotOnChecklist => "item_not_on_checklist", "该检查项不属于此巡检点", "not an item of this checkpoint's checklist";
    TrackBatch { max: usize } => "track_batch", "每批轨迹点须为 1 至 {max} 个", "1 to {max} points a batch";
    MissedNeedsReason { missed: usize } => "missed_needs_reason", "有 {missed} 个巡检点未巡检，须填写原因才能结束本次巡检", "{missed} checkpoint(s) were not visited; give a reason to finish the run";
    TimeOutOfRange => "time_out_of_range", "时间超出范围", "time out of range";
    NotATime => "not_a_time", "时间无效", "not a time";
    BundleTooLarge { max_mb: usize } => "bundle_too_large", "参考数据超过 {max_mb} MB", "larger than {max_mb} MB";
    BundleShape { detail: String } => "bundle_shape", "参考数据格式不正确", "not the server's JSON shape: {detail}";
    BundleTooMany { max: usize } => "bundle_too_many", "参考数据条目过多（每类最多 {max} 条）", "more than {max} items of one kind";
    UtcOffsetHours => "utc_offset_hours", "时区偏移须在 ±14 小时之内", "between -14 and +14 hours";
    RouteCheckpoints { max: usize } => "route_checkpoints", "每条线路须有 1 至 {max} 个巡检点", "1 to {max} checkpoints a route";
    RouteCheckpointsOfSite => "route_checkpoints_of_site", "线路的巡检点须属于同一项目", "a route's checkpoints belong to its site";
    RouteCheckpointTwice => "route_checkpoint_twice", "线路中巡检点重复", "a checkpoint appears twice on a route";
    DataDirNeeded => "data_dir_needed", "须指定数据目录", "must name a directory";
    DataDirOfOtherDevice { device: String } => "data_dir_other_device", "此数据目录属于设备 {device}", "this data directory belongs to device {device}";
    StoreKeyWrong => "store_key_wrong", "无法用此密钥打开本机数据（密钥不符或文件不是巡检数据），数据未作任何改动", "the phone's store does not open with this key (a wrong key, or not a Patrol store); nothing was changed";
    StoreKeyLength { len: usize } => "store_key_length", "存储密钥须为 32 字节", "the store key must be 32 bytes, not {len}";
    StoreKeyHex => "store_key_hex", "存储密钥须为 64 位十六进制数字", "the store key must be 64 hex digits";
    StoreKeySame => "store_key_same", "新密钥与当前密钥相同", "the new key is the key in use";
    ServerUrl => "server_url", "服务器地址应以 http:// 或 https:// 开头", "an http(s) address";
    ServerHoldsOtherRecord { detail: String } => "server_holds_other_record", "服务器上的记录与本机不一致，已报告审计，请联系管理员", "the server holds a different record at this position: {detail}";
    PhotoUploadState => "photo_upload_state", "照片上传状态异常", "the server has more of this photo than exists";
    PhotoListedTwice => "photo_listed_twice", "照片重复", "the same photo is listed twice";
    DueWithinYear => "due_within_year", "整改期限须在未来一年之内", "the due time must be in the coming year";
    DepartmentNotHere => "department_not_here", "该部门不属于此项目", "the department is not at this site";
    CheckpointNotHere => "checkpoint_not_here", "该巡检点不属于此项目", "the checkpoint is not at this site";
    RunNotHere => "run_not_here", "该巡检不属于此项目", "the run is at another site";
    FixNeedsAfterPhoto => "fix_needs_after_photo", "报告整改完成须附整改后照片", "reporting a fix needs at least one after-photo";
    ReassignNotHere => "reassign_not_here", "该部门不属于此项目", "the department is not at this notice's site";
    FontUnusable { detail: String } => "font_unusable", "水印字体文件无法使用", "the watermark font cannot be used: {detail}";
    PhotoFileUnreadable { detail: String } => "photo_file_unreadable", "照片文件无法读取", "the photo file cannot be read: {detail}";
    PhotoTooLarge { max_mb: usize } => "photo_too_large", "照片超过 {max_mb} MB", "larger than {max_mb} MB";
    LatLonPair => "lat_lon_pair", "经纬度须成对且有效", "latitude and longitude go together, in range";
    PhotoUnreadable { detail: String } => "photo_unreadable", "照片无法读取", "the image cannot be read: {detail}";
    NotAnId { shown: String } => "not_an_id", "编号格式不正确", "{shown} is not an id (a UUID such as 0190f1c2-…)";
    NotSignedIn => "not_signed_in", "本机尚未登录，请先登录", "nobody is signed in on this device";
    NoConnection { detail: String } => "no_connection", "网络不可用，稍后自动重试", "no connection to the server; will retry later ({detail})";
    StorageFull { detail: String } => "storage_full", "手机存储空间不足，本次操作未保存，请清理空间后重试", "the phone's storage is full; nothing of this action was saved. Free some space and try again ({detail})";
    StorageFailed { detail: String } => "storage_failed", "手机存储出错，请重启应用；如仍出错请联系管理员", "the phone's storage failed: {detail}";
    ServerAnswered { status: u32 } => "server_answered", "服务器返回错误（HTTP {status}），请稍后重试", "the server answered HTTP {status}";
    NotFoundHere { thing: Thing, id: String } => "not_found_here", "{thing}不存在", "{thing} {id} not found";

    // The server itself.
    Conflict => "conflict", "与已保存的内容冲突（可能重复提交），本次未作任何修改", "this conflicts with something already stored (sent twice at once?); nothing was changed";
    Internal => "internal", "服务器出现意外错误，已记录，请稍后再试", "something went wrong on the server; it has been logged, please try again later";
    PhotoStoreDown => "photo_store_down", "照片存储暂不可用，手机会保留照片稍后重试", "the photo store cannot take the photo now; the phone keeps it and tries again";
    TookTooLong { seconds: u64 } => "took_too_long", "服务器处理此请求超过 {seconds} 秒，已停止，请稍后重试", "the server gave up on this request after {seconds} s; try again later";
}

/// A text in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Texts {
    pub zh: String,
    pub en: String,
}

impl Reason {
    pub fn texts(&self) -> Texts {
        Texts { zh: self.zh(), en: self.en() }
    }

    /// The texts with the field they are about: `latitude（纬度）：须在 -90 至 90 之间`
    /// and `latitude: must be between -90 and 90`. The field's own name comes
    /// first in both, since forms and CSV headers use it.
    pub fn about(&self, field: &str) -> Texts {
        if field.is_empty() {
            return self.texts();
        }
        let zh = match field_label_zh(field) {
            Some(label) => format!("{field}（{label}）：{}", self.zh()),
            None => format!("{field}：{}", self.zh()),
        };
        Texts { zh, en: format!("{field}: {}", self.en()) }
    }
}

impl std::fmt::Display for Reason {
    /// English, for logs and Rust callers' `to_string()`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.en())
    }
}

/// What a field of the API and the console's forms is called in Chinese, for the
/// field's name in a Chinese text. Unknown fields are shown by name alone.
pub fn field_label_zh(field: &str) -> Option<&'static str> {
    let last = field.rsplit('.').next().unwrap_or(field);
    Some(match last {
        "code" => "编号",
        "name_zh" => "中文名称",
        "name_en" => "英文名称",
        "name" => "名称",
        "latitude" => "纬度",
        "longitude" => "经度",
        "radius_m" => "半径（米）",
        "qr_token" => "二维码令牌",
        "qr_digest" => "二维码摘要",
        "nfc_tag_id" | "tag_id" => "NFC 标签号",
        "checklist" | "text_zh" | "text_en" => "检查项",
        "utc_offset_minutes" => "时区",
        "login" => "用户名",
        "display_name" => "姓名",
        "password" | "new_password" => "密码",
        "current_password" => "当前密码",
        "role" | "roles" => "角色",
        "site" | "site_id" | "site_code" => "项目",
        "department" | "department_id" | "department_kind" | "reassign_to" => "部门",
        "kind" => "类型",
        "route_id" => "巡检路线",
        "checkpoint_ids" => "巡检点",
        "order" => "顺序",
        "days_of_week" => "星期",
        "windows" => "时段",
        "runs" => "次数",
        "plan" => "平面图",
        "north" => "北边纬度",
        "south" => "南边纬度",
        "west" => "西边经度",
        "east" => "东边经度",
        "file" => "文件",
        "photos" | "photo" => "照片",
        "reason" => "原因",
        "note" => "说明",
        "comment" => "审阅意见",
        "description" => "问题描述",
        "location" => "地点",
        "action" => "操作",
        "day" | "first_day" | "last_day" => "日期",
        "from" => "发现日期自",
        "to" => "发现日期至",
        "month" => "月份",
        "state" => "状态",
        "severity" => "严重程度",
        "overdue" => "超期",
        "q" => "搜索",
        "limit" => "每页条数",
        "before" | "after" | "cursor" => "列表位置",
        "active" => "状态",
        "target" => "发送目标",
        "events" => "事件",
        "missed_reason" => "漏检原因",
        "body" => "请求内容",
        "form" => "表单",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_cjk(c: char) -> bool {
        matches!(c, '\u{3000}'..='\u{303F}' | '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{FF00}'..='\u{FFEF}')
    }

    /// Words a Chinese text may hold in Latin letters: codes programs match on,
    /// field names, formats and the names of file types and protocols.
    const LATIN_ALLOWED: &[&str] = &[
        "sync_gap",
        "sync_fork",
        "offset_mismatch",
        "first_day",
        "record_id",
        "tree_size",
        "index",
        "first",
        "second",
        "YYYY",
        "MM",
        "DD",
        "JPEG",
        "PNG",
        "SHA",
        "UTF",
        "CSV",
        "JSON",
        "NFC",
        "KB",
        "MB",
        "MiB",
        "Content",
        "Type",
        "application",
        "json",
        "http",
        "https",
        "HTTP",
        "Bearer",
        "IHDR",
        "GPS",
        "QR",
        "ID",
    ];

    #[test]
    fn every_reason_reads_in_chinese_and_in_english() {
        let samples = Reason::samples();
        assert!(samples.len() > 100, "the table is read whole");
        for r in samples {
            let (zh, en) = (r.zh(), r.en());
            assert!(!zh.trim().is_empty() && !en.trim().is_empty(), "{r:?}");
            assert!(zh.chars().any(is_cjk), "{r:?}: the Chinese text has no Chinese: {zh}");
            assert!(!en.chars().any(is_cjk), "{r:?}: the English text has Chinese: {en}");
            let stray: Vec<&str> = zh
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| w.chars().filter(char::is_ascii_alphabetic).count() >= 2)
                // Codes and sample values carry digits; field names carry underscores.
                .filter(|w| !LATIN_ALLOWED.contains(w) && !w.contains('_') && !w.bytes().any(|b| b.is_ascii_digit()))
                .collect();
            assert!(stray.is_empty(), "{r:?}: English words {stray:?} in the Chinese text: {zh}");
            assert!(
                !r.code().is_empty()
                    && r.code().bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{r:?}"
            );
        }
    }

    #[test]
    fn a_field_is_named_in_both_languages_with_its_chinese_label() {
        let t = Reason::OutOfRange { min: -90.0, max: 90.0 }.about("latitude");
        assert_eq!(t.zh, "latitude（纬度）：须在 -90 至 90 之间");
        assert_eq!(t.en, "latitude: must be between -90 and 90");
        assert_eq!(Reason::Required.about("checklist.text_zh").zh, "checklist.text_zh（检查项）：不能为空");
        assert_eq!(Reason::Required.about("mystery").zh, "mystery：不能为空");
        for t in Thing::ALL {
            assert!(t.name_zh().chars().all(is_cjk) && !t.name_en().chars().any(is_cjk), "{t:?}");
        }
    }
}

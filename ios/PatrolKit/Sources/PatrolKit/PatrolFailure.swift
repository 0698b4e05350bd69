// What the screens show when a call fails: the core's typed error turned into a public
// value with the text in Chinese and English (the generated `PatrolError` is internal
// to this module, so this is the one mapping the app sees).
import Foundation

public struct PatrolFailure: Error, Equatable, Identifiable {
    public enum Kind: Equatable { case invalidInput, conflict, notFound, signInAgain, offline, storage, updateApp, wrongStoreKey, unknown }

    public let kind: Kind
    public let zh: String
    public let en: String
    /// For invalid input: the field to mark (`qr`, `position`, `description` …).
    public let field: String?
    public var id: String { "\(kind)-\(field ?? "")-\(zh)" }

    public init(kind: Kind, zh: String, en: String, field: String?) {
        self.kind = kind
        self.zh = zh
        self.en = en
        self.field = field
    }

    public func text(_ lang: Lang) -> String { lang == .en ? en : zh }

    public static func from(_ error: Error) -> PatrolFailure {
        guard let e = error as? PatrolError else {
            return PatrolFailure(kind: .unknown, zh: "出错了：\(error.localizedDescription)", en: "Something went wrong: \(error.localizedDescription)", field: nil)
        }
        switch e {
        case let .InvalidInput(field, reason, reasonZh):
            return PatrolFailure(kind: .invalidInput, zh: reasonZh, en: reason, field: field)
        case let .Conflict(reason, reasonZh):
            return PatrolFailure(kind: .conflict, zh: reasonZh, en: reason, field: nil)
        case let .NotFound(_, _, reason, reasonZh):
            return PatrolFailure(kind: .notFound, zh: reasonZh, en: reason, field: nil)
        case let .Unauthorized(detail, detailZh):
            return PatrolFailure(kind: .signInAgain, zh: detailZh, en: detail, field: nil)
        case let .Network(detail, detailZh):
            return PatrolFailure(kind: .offline, zh: detailZh, en: detail, field: nil)
        case let .Storage(detail, detailZh):
            return PatrolFailure(kind: .storage, zh: detailZh, en: detail, field: nil)
        case let .Outdated(detail, detailZh):
            return PatrolFailure(kind: .updateApp, zh: detailZh, en: detail, field: nil)
        case let .WrongKey(detail, detailZh):
            return PatrolFailure(kind: .wrongStoreKey, zh: detailZh, en: detail, field: nil)
        }
    }
}

public enum Lang { case zh, en
    /// English only for a phone set to English; Chinese otherwise.
    public static var current: Lang { Locale.preferredLanguages.first?.hasPrefix("en") == true ? .en : .zh }
    public func pick(_ zh: String, _ en: String) -> String { self == .en && !en.isEmpty ? en : zh }
}

/// NFC ids in the protocol's one spelling: hex, upper case, no separators.
public func nfcSpelling(_ id: Data) -> String { id.map { String(format: "%02X", $0) }.joined() }
public func nfcSpelling(_ tag: String) -> String { tag.filter { $0 != ":" && $0 != "-" && $0 != " " }.uppercased() }

public enum Formats {
    public static func clock(_ ms: Int64, offsetMinutes: Int32) -> String {
        let f = DateFormatter()
        f.dateFormat = "HH:mm"
        f.timeZone = TimeZone(secondsFromGMT: Int(offsetMinutes) * 60)
        return f.string(from: Date(timeIntervalSince1970: TimeInterval(ms) / 1000))
    }
    public static func dayClock(_ ms: Int64, offsetMinutes: Int32) -> String {
        let f = DateFormatter()
        f.dateFormat = "MM-dd HH:mm"
        f.timeZone = TimeZone(secondsFromGMT: Int(offsetMinutes) * 60)
        return f.string(from: Date(timeIntervalSince1970: TimeInterval(ms) / 1000))
    }
    public static func window(_ start: Int64, _ end: Int64, offsetMinutes: Int32) -> String {
        "\(clock(start, offsetMinutes: offsetMinutes))–\(clock(end, offsetMinutes: offsetMinutes))"
    }
    public static func bytes(_ n: UInt64) -> String {
        ByteCountFormatter.string(fromByteCount: Int64(n), countStyle: .file)
    }
}

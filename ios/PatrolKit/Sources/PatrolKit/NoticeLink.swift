// Links that open a notice, as app-logic's DeepLinkRouter (Kotlin) takes them, with the
// same rules: https://<console host>/notices/<uuid> (a universal link; query and fragment
// ignored, port 443 only) and patrol://notice/<uuid>; anything else is refused. Written
// by hand, not with URLComponents, which percent-decodes the path.
import Foundation

public enum NoticeLink {
    /// The notice id (lower-case) [url] leads to, or nil. [hosts]: the associated domains.
    public static func route(_ url: String, hosts: [String]) -> String? {
        if url.isEmpty || url.count > 2048 { return nil }
        if url.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value >= 0x7f }) { return nil }
        let bare = String(url.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
            .split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0])
        guard let sep = bare.range(of: "://"), sep.lowerBound != bare.startIndex else { return nil }
        let scheme = bare[..<sep.lowerBound].lowercased()
        let rest = bare[sep.upperBound...]
        let authority = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)[0]
        let path = rest.dropFirst(authority.count)
        if authority.contains("@") { return nil }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        switch scheme {
        case "https":
            var host = String(authority)
            if let colon = host.lastIndex(of: ":") {
                if host[host.index(after: colon)...] != "443" { return nil }
                host = String(host[..<colon])
            }
            guard !host.isEmpty, host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") }) else { return nil }
            var h = host.lowercased()
            while h.hasSuffix(".") { h.removeLast() }
            let allowed = Set(hosts.map { $0.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: ".")) })
            guard allowed.contains(h), parts.count == 3, parts[0] == "", parts[1] == "notices" else { return nil }
            return uuid(parts[2])
        case "patrol":
            guard authority.lowercased() == "notice", parts.count == 2, parts[0] == "" else { return nil }
            return uuid(parts[1])
        default:
            return nil
        }
    }

    static func uuid(_ s: String) -> String? {
        let groups = s.split(separator: "-", omittingEmptySubsequences: false)
        guard groups.map(\.count) == [8, 4, 4, 4, 12],
              groups.allSatisfy({ $0.allSatisfy { $0.isHexDigit && $0.isASCII } }) else { return nil }
        return s.lowercased()
    }
}

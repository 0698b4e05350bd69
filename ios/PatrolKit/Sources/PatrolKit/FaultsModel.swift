// Staff fault notices (员工过失通知单), as FaultsModel in Android's app-logic: the
// signed-in person's notices of a month (newest first) and their month (notices that
// count, points after appeals, appeals open); sign for, refuse and appeal one's own; and,
// for supervisors and department heads, issue one offline (rule, person, what was seen,
// where), numbered by the server at the next sync.
import Foundation

/// Someone a fault notice can be issued to, as this phone knows them.
public struct FaultPerson: Identifiable, Equatable {
    public let personId: String
    public let name: String
    public var id: String { personId }
}

public extension FaultView {
    /// The person named may still sign for (or refuse) it.
    func canAnswer(_ me: String?) -> Bool { !voided && personId == me && receipt == "pending" }
    /// The person named may still appeal it (once).
    func canAppeal(_ me: String?) -> Bool { !voided && personId == me && appeal == nil }
    func ruleName(_ lang: Lang) -> String { lang.pick(ruleNameZh, ruleNameEn) }
}

public extension SignedInPerson {
    /// The sites where this person may issue fault notices (as the core checks).
    func faultSites(_ all: [Site]) -> [Site] {
        if roles.contains(where: { if case .orgSupervisor = $0 { return true } else { return false } }) { return all }
        let ids: Set<String> = Set(roles.compactMap { role -> String? in
            switch role {
            case let .siteSupervisor(siteId): return siteId
            case let .departmentHead(siteId, _): return siteId
            default: return nil
            }
        })
        return all.filter { ids.contains($0.id) }
    }

    /// A supervisor (of a site or the organisation) or a department head: may issue.
    var mayIssueFaults: Bool {
        roles.contains { role in
            switch role {
            case .siteSupervisor, .orgSupervisor, .departmentHead: return true
            default: return false
            }
        }
    }
}

/// YYYY-MM months as the server counts fault notices (in the site's time).
public enum FaultMonths {
    public static func month(_ ms: Int64, offsetMinutes: Int32) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.calendar = Calendar(identifier: .gregorian)
        f.dateFormat = "yyyy-MM"
        f.timeZone = TimeZone(secondsFromGMT: Int(offsetMinutes) * 60)
        return f.string(from: Date(timeIntervalSince1970: TimeInterval(ms) / 1000))
    }

    /// The month `by` months from `month` (YYYY-MM); nil if it is not one.
    public static func shift(_ month: String, by: Int) -> String? {
        let parts = month.split(separator: "-")
        guard parts.count == 2, let y = Int(parts[0]), let m = Int(parts[1]), (1...12).contains(m) else { return nil }
        let total = y * 12 + (m - 1) + by
        return String(format: "%04ld-%02ld", total / 12, total % 12 + 1)
    }
}

@MainActor
public final class FaultsModel: ScreenModel {
    @Published public private(set) var me: SignedInPerson?
    /// YYYY-MM shown; empty until the first refresh picks this month in the site's time.
    @Published public private(set) var month = ""
    /// The person's own notices of the month, newest first.
    @Published public private(set) var mine: [FaultView] = []
    /// The notices the person issued in the month, newest first.
    @Published public private(set) var issued: [FaultView] = []
    @Published public private(set) var summary: FaultMonth?
    @Published public private(set) var selected: FaultView?
    @Published public private(set) var canIssue = false
    /// People this phone knows from the notices its person issued: the picker's choices.
    @Published public private(set) var people: [FaultPerson] = []

    // The form.
    @Published public private(set) var sites: [Site] = []
    @Published public var siteId: String?
    @Published public private(set) var rules: [FaultRule] = []
    @Published public var ruleId: String? { didSet { if ruleId != oldValue { points = nil } } }
    /// Points deducted; nil takes the rule's.
    @Published public var points: UInt32?
    @Published public var personId: String?
    @Published public var personName = ""
    @Published public var seen = ""
    @Published public var location = ""
    @Published public var runId: String?
    @Published public private(set) var photos: [String] = []
    /// The notice just issued from the form (its number comes with the next sync).
    @Published public private(set) var issuedId: String?

    public var rule: FaultRule? { rules.first { $0.id == ruleId } }
    public var pointsShown: UInt32? { points ?? rule?.points }

    /// Reloads; awaited by pull to refresh, started in a `Task` elsewhere.
    public func refresh() async { await attempt { try await self.reload() } }

    public func previousMonth() { shift(-1) }
    public func nextMonth() { shift(1) }

    private func shift(_ by: Int) {
        act {
            var current = self.month
            if current.isEmpty { current = try await self.currentMonth() }
            if let m = FaultMonths.shift(current, by: by) { self.month = m }
            try await self.reload()
        }
    }

    private func currentMonth() async throws -> String {
        await service.reloadSites()
        let roleSite: String? = me?.roles.lazy.compactMap { role -> String? in
            switch role {
            case let .patrolStaff(siteId), let .siteSupervisor(siteId): return siteId
            case let .departmentHead(siteId, _), let .departmentStaff(siteId, _): return siteId
            case .orgSupervisor: return nil
            }
        }.first
        let sites = try await service.read { try $0.sites() }
        let site = sites.first { $0.id == roleSite } ?? sites.first
        return FaultMonths.month(Int64(Date().timeIntervalSince1970 * 1000), offsetMinutes: site?.utcOffsetMinutes ?? 480)
    }

    private func reload() async throws {
        let person = try await service.read { try $0.signedInPerson() }
        me = person
        canIssue = person?.mayIssueFaults ?? false
        if month.isEmpty { month = try await currentMonth() }
        let m = month
        let myId = person?.personId
        let list = try await service.read { try $0.listFaults(month: m, limit: 500) }
        mine = list.filter { $0.personId == myId }
        issued = list.filter { $0.issuerId == myId && $0.personId != myId }
        if person != nil {
            summary = try await service.read { try $0.myFaultMonth(month: m) }
        } else {
            summary = nil
        }
        var seenIds = Set<String>()
        people = try await service.read { try $0.listFaults(month: nil, limit: 500) }
            .filter { $0.issuerId == myId && $0.personId != myId }
            .compactMap { f in seenIds.insert(f.personId).inserted ? FaultPerson(personId: f.personId, name: f.personName) : nil }
            .sorted { $0.name < $1.name }
        if let s = selected { selected = (try? await service.read { try $0.fault(faultId: s.id) }) ?? s }
    }

    public func select(_ id: String) { act { self.selected = try await self.service.read { try $0.fault(faultId: id) } } }

    /// Opens a notice that may not be on this phone yet: one sync first if the core does
    /// not know it, then the core's not-found failure if it still does not.
    public func open(_ id: String) {
        selected = nil
        act {
            do {
                self.selected = try await self.service.read { try $0.fault(faultId: id) }
            } catch let f as PatrolFailure where f.kind == .notFound {
                _ = try await self.service.write { try $0.sync(listener: nil, cancel: nil) }
                self.selected = try await self.service.read { try $0.fault(faultId: id) }
            }
            try await self.reload()
        }
    }

    /// 签收
    public func signFor() { act { try await self.perform(.acknowledge, "") } }
    /// 拒签 (the points stand unless appealed)
    public func refuse(reason: String) { act { try await self.perform(.refuse, reason) } }
    /// 申诉: once, with a reason, to one level above the issuer.
    public func appeal(reason: String) { act { try await self.perform(.appeal, reason) } }

    private func perform(_ action: FaultAction, _ reason: String) async throws {
        guard let id = selected?.id else { return }
        try await service.write { try $0.actOnFault(faultId: id, action: action, reason: reason) }
        selected = try await service.read { try $0.fault(faultId: id) }
        try await reload()
    }

    // Issuing

    /// Opens the form: the sites where one may issue, the rules in force; from a run, its site and place.
    public func openForm(siteId: String? = nil, runId: String? = nil, location: String = "") {
        issuedId = nil; ruleId = nil; points = nil; personId = nil; personName = ""; seen = ""; photos = []
        self.siteId = siteId; self.runId = runId; self.location = location
        act {
            let person = try await self.service.read { try $0.signedInPerson() }
            let all = try await self.service.read { try $0.sites() }
            self.sites = person?.faultSites(all) ?? []
            if self.siteId == nil { self.siteId = self.sites.first?.id }
            self.rules = try await self.service.read { try $0.faultRules() }
        }
    }

    public func choose(_ person: FaultPerson) { personId = person.personId; personName = person.name }

    public func addPhoto(_ data: Data, fix: Fix?) {
        let ctx = PhotoContext(runId: runId, checkpointId: nil, noticeId: nil)
        let site = siteId
        act {
            let input = PhotoInput(source: .bytes(data: data), context: ctx, siteId: site, capturedAtMs: nil, latitude: fix?.latitude, longitude: fix?.longitude)
            let sha = try await self.service.write { try $0.addPhoto(input: input) }.sha256
            if !self.photos.contains(sha) { self.photos.append(sha) }
        }
    }

    public func submit() {
        guard let site = siteId else {
            failure = PatrolFailure(kind: .invalidInput, zh: "没有可开单的项目：请先同步", en: "No site where you may issue: sync first", field: "site_id")
            return
        }
        guard let rule = ruleId else {
            failure = PatrolFailure(kind: .invalidInput, zh: "请选择考核条款", en: "Choose the rule", field: "rule_id")
            return
        }
        guard let person = personId, !person.isEmpty else {
            failure = PatrolFailure(kind: .invalidInput, zh: "请选择被开单人", en: "Choose the person", field: "person_id")
            return
        }
        let draft = FaultDraft(siteId: site, personId: person, ruleId: rule, points: points, seen: seen, location: location,
                               runId: runId, photos: photos)
        act {
            self.issuedId = try await self.service.write { try $0.issueFault(draft: draft) }
            self.ruleId = nil; self.points = nil; self.personId = nil; self.personName = ""; self.seen = ""; self.photos = []
            try await self.reload()
        }
    }
}

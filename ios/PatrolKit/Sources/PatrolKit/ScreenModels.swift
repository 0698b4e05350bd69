// The screen models of the iOS app, the same as Android's app-logic: each holds its
// screen's state, runs calls through PatrolService and keeps the last failure.
import Foundation

@MainActor
public class ScreenModel: ObservableObject {
    public let service: PatrolService
    @Published public var busy = false
    @Published public var failure: PatrolFailure?

    public init(service: PatrolService) { self.service = service }

    /// Runs a call the person started; a failure lands in `failure`, never in a crash.
    func act(_ body: @escaping () async throws -> Void) {
        Task { await self.attempt(body) }
    }

    /// The same, for a caller that waits for the end (pull to refresh keeps its spinner
    /// until the data is there).
    func attempt(_ body: () async throws -> Void) async {
        busy = true
        defer { busy = false }
        do {
            try await body()
            failure = nil
        } catch {
            failure = (error as? PatrolFailure) ?? PatrolFailure.from(error)
        }
    }
}

@MainActor
public final class SessionModel: ScreenModel {
    @Published public private(set) var person: SignedInPerson?

    public func restore() { act { self.person = try await self.service.read { try $0.signedInPerson() } } }

    public func signIn(server: String, login: String, password: String) {
        act {
            let url = server.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            let who = try await self.service.write { try $0.login(serverUrl: url, login: login.trimmingCharacters(in: .whitespaces), password: password) }
            // The first pull brings the reference data; offline, the background sync brings it later.
            _ = try? await self.service.write { try $0.sync(listener: nil, cancel: nil) }
            await self.service.reloadSites()
            self.person = who
        }
    }

    public func signOut() { act { try await self.service.write { try $0.logout() }; self.person = nil } }
}

public struct PlanLine: Identifiable {
    public let planned: PlannedRun
    public let window: String
    public var id: String { "\(planned.scheduleId)-\(planned.windowStartMs)-\(planned.slot)" }
    public var canStart: Bool { planned.status == .pending || planned.status == .missed }
    public var canResume: Bool { planned.status == .inProgress && planned.runId != nil }
}

@MainActor
public final class TodayModel: ScreenModel {
    @Published public private(set) var plan: [PlanLine] = []
    @Published public var openRun: String?

    /// Reloads the plan; awaited by pull to refresh, started in a `Task` elsewhere.
    public func refresh() async {
        await attempt {
            await self.service.reloadSites()
            let plan = try await self.service.read { try $0.todayPlan() }
            self.plan = plan.map { PlanLine(planned: $0, window: Formats.window($0.windowStartMs, $0.windowEndMs, offsetMinutes: self.service.offset(of: $0.siteId))) }
        }
    }

    public func startOrResume(_ line: PlanLine) {
        act {
            if line.canResume, let id = line.planned.runId {
                self.openRun = id
            } else {
                let route = line.planned.routeId
                self.openRun = try await self.service.write { try $0.startRun(routeId: route) }.runId
            }
        }
    }
}

public struct Fix: Equatable {
    public let latitude: Double, longitude: Double, accuracyM: Double, timeMs: Int64
    public init(latitude: Double, longitude: Double, accuracyM: Double, timeMs: Int64) {
        self.latitude = latitude; self.longitude = longitude; self.accuracyM = accuracyM; self.timeMs = timeMs
    }
}

@MainActor
public final class RunModel: ScreenModel {
    @Published public private(set) var detail: RunDetail?
    @Published public private(set) var lastVisit: Visit?
    @Published public private(set) var summary: RunSummary?
    private var checkpoints: [Checkpoint] = []
    private var buffer: [TrackPoint] = []

    public func load(_ runId: String) { act { try await self.reload(runId) } }

    private func reload(_ runId: String) async throws {
        let d = try await service.read { try $0.runDetail(runId: runId) }
        if checkpoints.isEmpty { checkpoints = try await service.read { try $0.routeCheckpoints(routeId: d.routeId) } }
        detail = d
    }

    public var progress: (visited: Int, total: Int) {
        guard let d = detail else { return (0, 0) }
        return (d.checkpoints.filter { $0.visit != nil }.count, d.checkpoints.count)
    }

    public var next: RunCheckpoint? { detail?.checkpoints.first { $0.visit == nil } }
    public var isOpen: Bool { detail?.finishedMs == nil && detail != nil }

    /// The checkpoint a scanned code belongs to, else the next one due (the core then
    /// refuses a wrong code with a reason).
    func checkpoint(forQr payload: String) -> String? {
        checkpoints.first { qrLabelMatches(checkpoint: $0, payload: payload) }?.id ?? next?.checkpoint.checkpointId
    }
    func checkpoint(forNfc tag: String) -> String? {
        checkpoints.first { $0.nfcTagId.map(nfcSpelling) == nfcSpelling(tag) }?.id ?? next?.checkpoint.checkpointId
    }

    public func checkInQr(_ payload: String) { checkIn(checkpoint(forQr: payload), .qr(payload: payload)) }
    public func checkInNfc(_ tag: String) { checkIn(checkpoint(forNfc: tag), .nfc(tagId: tag)) }
    public func checkInGps(_ checkpointId: String, _ fix: Fix) {
        checkIn(checkpointId, .gps(latitude: fix.latitude, longitude: fix.longitude, accuracyM: fix.accuracyM))
    }
    public func checkInManual(_ checkpointId: String, reason: String) { checkIn(checkpointId, .manual(reason: reason)) }

    private func checkIn(_ checkpointId: String?, _ method: CheckInMethod) {
        guard let run = detail?.runId, let cp = checkpointId else { return }
        act {
            self.lastVisit = try await self.service.write { try $0.checkIn(runId: run, checkpointId: cp, method: method) }
            try await self.reload(run)
        }
    }

    public func record(_ checkpointId: String, item: String, _ outcome: ItemOutcome, note: String = "") {
        guard let run = detail?.runId else { return }
        act {
            try await self.service.write { try $0.recordItem(runId: run, checkpointId: checkpointId, itemId: item, outcome: outcome, note: note) }
            try await self.reload(run)
        }
    }

    public func addPhoto(_ data: Data, checkpointId: String?, fix: Fix?) {
        guard let d = detail else { return }
        act {
            let input = PhotoInput(source: .bytes(data: data), context: PhotoContext(runId: d.runId, checkpointId: checkpointId, noticeId: nil),
                                   siteId: d.siteId, capturedAtMs: nil, latitude: fix?.latitude, longitude: fix?.longitude)
            _ = try await self.service.write { try $0.addPhoto(input: input) }
            try await self.reload(d.runId)
        }
    }

    /// Location samples during the run, written in batches of 30 (one record each).
    public func track(_ fix: Fix) {
        guard let run = detail?.runId, isOpen, fix.accuracyM <= 100 else { return }
        buffer.append(TrackPoint(timeMs: fix.timeMs, latitude: fix.latitude, longitude: fix.longitude, accuracyM: fix.accuracyM))
        if buffer.count >= 30 { flushTrack(run) }
    }

    public func flushTrack() { if let run = detail?.runId { flushTrack(run) } }

    private func flushTrack(_ run: String) {
        let batch = buffer
        buffer = []
        guard !batch.isEmpty else { return }
        Task { _ = try? await self.service.write { try $0.appendTrackPoints(runId: run, points: batch) } }
    }

    public func finish(missedReason: String?) {
        guard let run = detail?.runId else { return }
        flushTrack(run)
        act {
            let reason = missedReason?.isEmpty == false ? missedReason : nil
            self.summary = try await self.service.write { try $0.finishRun(runId: run, missedReason: reason) }
            try await self.reload(run)
        }
    }
}

@MainActor
public final class NoticeFormModel: ScreenModel {
    public static let dueChoices = [4, 24, 48, 72, 168]
    @Published public var siteId: String?
    @Published public var runId: String?
    @Published public var checkpointId: String?
    @Published public private(set) var departments: [Department] = []
    @Published public var departmentId: String?
    @Published public var severity: Severity = .general { didSet { if severity == .serious { dueInHours = min(dueInHours, 24) } } }
    @Published public var dueInHours = 48
    @Published public var location = ""
    @Published public var text = ""
    @Published public private(set) var photos: [String] = []
    @Published public private(set) var created: NoticeView?

    public func open(siteId: String? = nil, runId: String? = nil, checkpointId: String? = nil, location: String = "") {
        created = nil; photos = []; text = ""; departmentId = nil; severity = .general; dueInHours = 48
        self.runId = runId; self.checkpointId = checkpointId; self.location = location
        act {
            var site = siteId
            if site == nil { site = try await self.service.read { try $0.sites() }.first?.id }
            self.siteId = site
            if let site { self.departments = try await self.service.read { try $0.departments(siteId: site) } }
        }
    }

    public func addPhoto(_ data: Data, fix: Fix?) {
        let ctx = PhotoContext(runId: runId, checkpointId: checkpointId, noticeId: nil)
        let site = siteId
        act {
            let input = PhotoInput(source: .bytes(data: data), context: ctx, siteId: site, capturedAtMs: nil, latitude: fix?.latitude, longitude: fix?.longitude)
            let sha = try await self.service.write { try $0.addPhoto(input: input) }.sha256
            if !self.photos.contains(sha) { self.photos.append(sha) }
        }
    }

    public func submit() {
        guard let site = siteId else { return }
        guard let dept = departmentId else {
            failure = PatrolFailure(kind: .invalidInput, zh: "请选择责任部门", en: "Choose the department", field: "department_id")
            return
        }
        let draft = NoticeDraft(siteId: site, departmentId: dept, checkpointId: checkpointId, location: location, runId: runId,
                                description: text, severity: severity,
                                dueMs: Int64(Date().timeIntervalSince1970 * 1000) + Int64(dueInHours) * 3_600_000, photos: photos)
        act { self.created = try await self.service.write { try $0.createNotice(draft: draft) } }
    }
}

public enum InboxFilter: CaseIterable { case toDo, open, all }

/// Overdue first, then what waits for me, then by due time; closed and voided last.
public func inbox(_ list: [NoticeView], _ filter: InboxFilter) -> [NoticeView] {
    func finished(_ n: NoticeView) -> Bool { n.state == .closed || n.state == .voided }
    return list.filter { n in
        switch filter {
        case .toDo: return !n.allowedActions.isEmpty
        case .open: return !finished(n)
        case .all: return true
        }
    }.sorted { a, b in
        if a.overdue != b.overdue { return a.overdue }
        if finished(a) != finished(b) { return !finished(a) }
        if a.allowedActions.isEmpty != b.allowedActions.isEmpty { return !a.allowedActions.isEmpty }
        return a.dueMs < b.dueMs
    }
}

@MainActor
public final class InboxModel: ScreenModel {
    @Published public var filter: InboxFilter = .toDo { didSet { notices = inbox(all, filter) } }
    @Published public private(set) var notices: [NoticeView] = []
    @Published public private(set) var selected: NoticeView?
    @Published public private(set) var afterPhotos: [String] = []
    private var all: [NoticeView] = []

    /// Reloads the list; awaited by pull to refresh, started in a `Task` elsewhere.
    public func refresh() async { await attempt { try await self.reload() } }

    private func reload() async throws {
        all = try await service.read { try $0.listNotices(limit: 200) }
        notices = inbox(all, filter)
        if let s = selected { selected = all.first { $0.noticeId == s.noticeId } ?? s }
    }

    public func select(_ id: String) {
        afterPhotos = []
        act { self.selected = try await self.service.read { try $0.notice(noticeId: id) } }
    }

    /// Opens a notice from a message link (NoticeLink), which may come before the
    /// background pull brought it: then one sync first. As NoticesModel.open in app-logic.
    public func open(_ id: String) {
        afterPhotos = []
        selected = nil
        act {
            do {
                self.selected = try await self.service.read { try $0.notice(noticeId: id) }
            } catch let f as PatrolFailure where f.kind == .notFound {
                _ = try await self.service.write { try $0.sync(listener: nil, cancel: nil) }
                self.selected = try await self.service.read { try $0.notice(noticeId: id) }
            }
        }
    }

    /// Signs for receipt; the drawn signature (PNG) is kept as the action's photo.
    public func signForReceipt(signaturePng: Data?) {
        guard let n = selected else { return }
        act {
            var photos: [String] = []
            if let png = signaturePng {
                let input = PhotoInput(source: .bytes(data: png), context: PhotoContext(runId: nil, checkpointId: nil, noticeId: n.noticeId),
                                       siteId: n.siteId, capturedAtMs: nil, latitude: nil, longitude: nil)
                photos.append(try await self.service.write { try $0.addPhoto(input: input) }.sha256)
            }
            try await self.perform(.acknowledge, "", photos)
        }
    }

    public func addAfterPhoto(_ data: Data, fix: Fix?) {
        guard let n = selected else { return }
        act {
            let input = PhotoInput(source: .bytes(data: data), context: PhotoContext(runId: nil, checkpointId: n.checkpointId, noticeId: n.noticeId),
                                   siteId: n.siteId, capturedAtMs: nil, latitude: fix?.latitude, longitude: fix?.longitude)
            let sha = try await self.service.write { try $0.addPhoto(input: input) }.sha256
            if !self.afterPhotos.contains(sha) { self.afterPhotos.append(sha) }
        }
    }

    public func reportFix(note: String) { act { try await self.perform(.reportFix, note, self.afterPhotos) } }
    public func dispute(reason: String) { act { try await self.perform(.dispute, reason, []) } }
    public func verify(pass: Bool, reason: String) { act { try await self.perform(pass ? .verifyPass : .verifyFail, reason, self.afterPhotos) } }
    public func correctiveAction(report: String) { act { try await self.perform(.correctiveAction, report, []) } }

    private func perform(_ action: NoticeAction, _ reason: String, _ photos: [String]) async throws {
        guard let id = selected?.noticeId else { return }
        selected = try await service.write { try $0.actOnNotice(noticeId: id, action: action, reason: reason, photos: photos, reassignTo: nil) }
        if !photos.isEmpty { afterPhotos.removeAll { photos.contains($0) } }
        try await reload()
    }
}

@MainActor
public final class SyncModel: ScreenModel {
    @Published public private(set) var state: SyncState?
    @Published public private(set) var progress: SyncProgress?
    @Published public private(set) var report: SyncReport?
    @Published public private(set) var rejections: [RejectionLine] = []
    private var cancelHandle: SyncCancel?

    public func refresh() {
        act {
            self.state = try await self.service.read { try $0.syncState() }
            self.rejections = try await self.service.read { try $0.rejections(limit: 100) }
        }
    }

    public func syncNow() {
        let cancel = SyncCancel()
        cancelHandle = cancel
        progress = nil
        let relay = ProgressRelay { p in Task { @MainActor [weak self] in self?.progress = p } }
        act {
            defer { self.cancelHandle = nil }
            do {
                self.report = try await self.service.write { try $0.sync(listener: relay, cancel: cancel) }
            } catch {
                self.state = try? await self.service.read { try $0.syncState() }
                throw error
            }
            self.state = try await self.service.read { try $0.syncState() }
            self.rejections = try await self.service.read { try $0.rejections(limit: 100) }
        }
    }

    public func cancel() { cancelHandle?.cancel() }
}

@MainActor
public final class HistoryModel: ScreenModel {
    @Published public private(set) var runs: [RunListItem] = []
    @Published public private(set) var rejections: [RejectionLine] = []

    public func refresh() {
        act {
            self.runs = try await self.service.read { try $0.listRuns(limit: 100) }.sorted { $0.startedMs > $1.startedMs }
            self.rejections = try await self.service.read { try $0.rejections(limit: 100) }
        }
    }
}

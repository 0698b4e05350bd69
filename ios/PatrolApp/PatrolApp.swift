// The app: opens the core in Application Support, keeps the per-install secret in the
// Keychain, registers the background sync, and shows sign-in or the four tabs.
import BackgroundTasks
import PatrolKit
import SwiftUI

@main
struct PatrolApp: App {
    @StateObject private var app = AppModel()
    @Environment(\.scenePhase) private var phase

    // At launch, before any window: iOS may launch the app in the background only to run
    // a sync task, and the handlers must be registered before launching ends. They take
    // the core from AppCore, not from AppModel (made with the first window).
    init() { BackgroundSync.register() }

    var body: some Scene {
        WindowGroup {
            RootView().environmentObject(app)
        }
        .onChange(of: phase) { newPhase in
            if newPhase == .background { BackgroundSync.schedule() }
        }
    }
}

/// The one service and the screen models, alive as long as the app.
@MainActor
final class AppModel: ObservableObject {
    let service: PatrolService
    let session: SessionModel
    let today: TodayModel
    let run: RunModel
    let form: NoticeFormModel
    let inbox: InboxModel
    let sync: SyncModel
    let history: HistoryModel

    init() {
        // A core that cannot open its own directory leaves nothing to show: fail loudly.
        service = PatrolService(core: try! AppCore.get())
        session = SessionModel(service: service)
        today = TodayModel(service: service)
        run = RunModel(service: service)
        form = NoticeFormModel(service: service)
        inbox = InboxModel(service: service)
        sync = SyncModel(service: service)
        history = HistoryModel(service: service)
        session.restore()
    }
}

/// The app's one core, opened on first use by whoever needs it first: the first window's
/// AppModel, or a background task iOS launched the app for while no window exists (its
/// handler runs on a background queue). Opened under a lock, once; a failed open (files
/// still locked by data protection, say) is tried again by the next caller.
final class AppCore: @unchecked Sendable {
    private static let shared = AppCore()
    private let lock = NSLock()
    private var core: PatrolCore?

    static func get() throws -> PatrolCore { try shared.openOnce() }

    private func openOnce() throws -> PatrolCore {
        lock.lock()
        defer { lock.unlock() }
        if let core { return core }
        // The store key; without it (the Keychain unreadable before the first unlock)
        // the store is not opened: the next caller tries again.
        guard let key = Keychain.deviceSecret() else {
            throw PatrolFailure(kind: .storage, zh: "请先解锁手机", en: "unlock the phone first", field: nil)
        }
        let dir = FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask)[0].appendingPathComponent("patrol")
        let font = Bundle.main.path(forResource: "patrol-cjk", ofType: "ttf")
            ?? ["/System/Library/Fonts/PingFang.ttc", "/System/Library/Fonts/Core/PingFang.ttc"].first { FileManager.default.fileExists(atPath: $0) }
        let opened: PatrolCore
        do {
            opened = try PatrolService.openCore(dataDir: dir, fontPath: font, storeKey: key)
        } catch let failure as PatrolFailure where failure.kind == .wrongStoreKey {
            // A key change a kill cut short: the store may be under the pending key.
            guard let pending = Keychain.pendingSecret() else { throw failure }
            opened = try PatrolService.openCore(dataDir: dir, fontPath: font, storeKey: pending)
            Keychain.promotePending()
        }
        core = opened
        return opened
    }
}

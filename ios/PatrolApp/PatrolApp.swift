// The app: opens the core in Application Support, keeps the per-install secret in the
// Keychain, registers the background sync, and shows sign-in or the four tabs.
import BackgroundTasks
import PatrolKit
import SwiftUI

@main
struct PatrolApp: App {
    @StateObject private var gate = LockGate()
    @Environment(\.scenePhase) private var phase

    // At launch, before any window: iOS may launch the app in the background only to run
    // a sync task, and the handlers must be registered before launching ends. They take
    // the core from AppCore, not from AppModel (made with the first window).
    init() { BackgroundSync.register() }

    var body: some Scene {
        WindowGroup {
            Group {
                if let app = gate.app, !gate.locked {
                    RootView().environmentObject(app)
                } else {
                    LockView(gate: gate)
                }
            }
            // A notice link from a WeCom / DingTalk / e-mail message: the universal link
            // https://<console host>/notices/<id> (associated domain, Patrol.entitlements)
            // or patrol://notice/<id> (Info.plist URL type). Kept until the app is open.
            .onOpenURL { gate.offer($0) }
        }
        .onChange(of: phase) { newPhase in
            if newPhase == .background { BackgroundSync.schedule(); gate.wentToBackground() }
            if newPhase == .active { gate.cameToForeground() }
        }
    }
}

/// The app lock and the link that waits for it. Without the lock, the app model exists
/// at once; with it, after the first unlock (the store key is in AppLockKeychain), and
/// the screens lock again after `AppLockKeychain.lockAfterSeconds` in the background.
@MainActor
final class LockGate: ObservableObject {
    @Published private(set) var app: AppModel?
    @Published private(set) var locked: Bool
    @Published private(set) var keyLost = false
    private var backgroundSince: TimeInterval?

    /// The console host(s) of the associated domain (Info.plist PatrolLinkHosts).
    static let linkHosts: [String] = (Bundle.main.object(forInfoDictionaryKey: "PatrolLinkHosts") as? [String]) ?? []

    init() {
        locked = AppLockKeychain.isEnabled
        if !locked { app = AppModel() }
    }

    func offer(_ url: URL) {
        guard let id = NoticeLink.route(url.absoluteString, hosts: Self.linkHosts) else { return }
        pendingNotice = id
        app?.linkedNotice = id
    }

    private var pendingNotice: String?

    func wentToBackground() { backgroundSince = ProcessInfo.processInfo.systemUptime }

    func cameToForeground() {
        guard AppLockKeychain.isEnabled, let since = backgroundSince else { return }
        backgroundSince = nil
        let now = ProcessInfo.processInfo.systemUptime
        if now < since || now - since >= AppLockKeychain.lockAfterSeconds { locked = true }
    }

    func unlock() async {
        let outcome = await Task.detached { AppLockKeychain.unlock() }.value
        switch outcome {
        case .key(let key, _):
            AppCore.provide(key)
            if app == nil { app = AppModel() }
            locked = false
            if let id = pendingNotice { app?.linkedNotice = id; pendingNotice = nil }
        case .cancelled: break
        case .keyLost: keyLost = true
        }
    }
}

struct LockView: View {
    @ObservedObject var gate: LockGate
    var body: some View {
        VStack(spacing: 16) {
            if gate.keyLost {
                Text(Lang.current == .en
                     ? "The passcode was removed, and with it the key to Patrol's records on this phone. Sign in again; records not yet synced cannot be recovered."
                     : "手机的锁屏密码已被移除，本机巡检记录的密钥随之失效。请重新登录；尚未同步的记录无法恢复。")
            } else {
                Text(Lang.current == .en ? "Unlock Patrol with Face ID, Touch ID or the passcode." : "请用面容、指纹或锁屏密码解锁巡检。")
                Button(Lang.current == .en ? "Unlock" : "解锁") { Task { await gate.unlock() } }
            }
        }
        .padding(32)
        .task { if !gate.keyLost { await gate.unlock() } }
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
    let faults: FaultsModel
    let sync: SyncModel
    let history: HistoryModel
    /// A notice a message link asked for; RootView shows it and clears this.
    @Published var linkedNotice: String?

    init() {
        // A core that cannot open its own directory leaves nothing to show: fail loudly.
        service = PatrolService(core: try! AppCore.get())
        session = SessionModel(service: service)
        today = TodayModel(service: service)
        run = RunModel(service: service)
        form = NoticeFormModel(service: service)
        inbox = InboxModel(service: service)
        faults = FaultsModel(service: service)
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

    /// The store key from the app lock (AppLockKeychain.unlock); the core opens with it.
    static func provide(_ key: Data) {
        shared.lock.lock()
        shared.providedKey = key
        shared.lock.unlock()
    }

    private var providedKey: Data?

    private func openOnce() throws -> PatrolCore {
        lock.lock()
        defer { lock.unlock() }
        if let core { return core }
        // The store key; without it (the Keychain unreadable before the first unlock)
        // the store is not opened: the next caller tries again.
        guard let key = providedKey ?? Keychain.deviceSecret() else {
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

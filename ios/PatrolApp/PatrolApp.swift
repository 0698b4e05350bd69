// The app: opens the core in Application Support, keeps the per-install secret in the
// Keychain, registers the background sync, and shows sign-in or the four tabs.
import BackgroundTasks
import PatrolKit
import SwiftUI

@main
struct PatrolApp: App {
    @StateObject private var app = AppModel()
    @Environment(\.scenePhase) private var phase

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
        // Made and kept now for encryption at rest; the core takes no key yet (see README).
        _ = Keychain.deviceSecret()
        let dir = FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask)[0].appendingPathComponent("patrol")
        let font = Bundle.main.path(forResource: "patrol-cjk", ofType: "ttf")
            ?? ["/System/Library/Fonts/PingFang.ttc", "/System/Library/Fonts/Core/PingFang.ttc"].first { FileManager.default.fileExists(atPath: $0) }
        // A core that cannot open its own directory leaves nothing to show: fail loudly.
        service = try! PatrolService(dataDir: dir, fontPath: font)
        BackgroundSync.core = service.core
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

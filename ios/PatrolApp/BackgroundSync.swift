// Background sync: an app-refresh task (short, frequent) and a processing task that
// needs the network (longer: photo uploads). The core uploads photos itself over its
// own HTTP client inside `sync`, so there is no background URLSession: uploads run
// while one of these tasks runs, are resumable (the server keeps the offset), and
// continue at the next task or the next time the app is open.
import BackgroundTasks
import PatrolKit

enum BackgroundSync {
    static let refreshId = "app.patrol.ios.sync"
    static let uploadId = "app.patrol.ios.upload"
    static var core: PatrolCore?

    static func register() {
        BGTaskScheduler.shared.register(forTaskWithIdentifier: refreshId, using: nil) { run($0) }
        BGTaskScheduler.shared.register(forTaskWithIdentifier: uploadId, using: nil) { run($0) }
    }

    static func schedule() {
        let refresh = BGAppRefreshTaskRequest(identifier: refreshId)
        refresh.earliestBeginDate = Date(timeIntervalSinceNow: 15 * 60)
        try? BGTaskScheduler.shared.submit(refresh)
        let upload = BGProcessingTaskRequest(identifier: uploadId)
        upload.requiresNetworkConnectivity = true
        upload.requiresExternalPower = false
        try? BGTaskScheduler.shared.submit(upload)
    }

    private static func run(_ task: BGTask) {
        schedule()
        guard let core else { task.setTaskCompleted(success: false); return }
        let cancel = SyncCancel()
        task.expirationHandler = { cancel.cancel() }
        Thread.detachNewThread {
            let outcome: BackgroundOutcome
            do {
                _ = try core.sync(listener: nil, cancel: cancel)
                outcome = .done
            } catch {
                outcome = PatrolFailure.from(error).kind == .signInAgain ? .stop : .retryLater
            }
            task.setTaskCompleted(success: outcome == .done)
        }
    }
}

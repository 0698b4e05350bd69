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

    /// Called from `PatrolApp.init`, at launch: iOS may launch the app only to run a task,
    /// before any window (and so before AppModel) exists.
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
        // The next tasks first: a task killed at its time limit has asked for them already.
        schedule()
        // The core opens here when no window opened it yet (a launch for this task alone).
        guard let core = try? AppCore.get() else { task.setTaskCompleted(success: false); return }
        let cancel = SyncCancel()
        task.expirationHandler = { cancel.cancel() }
        Thread.detachNewThread {
            // PatrolKit's rule (the same as Android's): a lost sign-in or an outdated app
            // stop until the person acts, so no more tasks are asked for (the app asks
            // again when it next goes to the background); any other failure, such as no
            // network, tries again at the next task.
            let outcome = backgroundSync(core, cancel: cancel)
            if outcome == .stop { BGTaskScheduler.shared.cancelAllTaskRequests() }
            task.setTaskCompleted(success: outcome == .done)
        }
    }
}

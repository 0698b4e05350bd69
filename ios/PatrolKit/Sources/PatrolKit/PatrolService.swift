// The app's one door to the core: every call runs off the main thread (the core does
// disk and network I/O), failures arrive as PatrolFailure, and every write bumps
// `revision` so the screens that show the data reload.
import Foundation

@MainActor
public final class PatrolService: ObservableObject {
    public let core: PatrolCore
    @Published public private(set) var revision = 0
    @Published public private(set) var siteOffsets: [String: Int32] = [:]

    public init(dataDir: URL, fontPath: String?, storeKey: Data?) throws {
        core = try PatrolService.openCore(dataDir: dataDir, fontPath: fontPath, storeKey: storeKey)
    }

    /// The service over a core the app already opened: the app opens its one core before
    /// any screen exists, because a background task may need it first.
    public init(core: PatrolCore) {
        self.core = core
    }

    /// Opens the core in `dataDir` (made if missing), its store encrypted with
    /// `storeKey` (32 bytes from the Keychain; nil only in tests of a plain store). The
    /// directory is kept out of backups and under data protection until the first unlock
    /// (the photos live there as files, protected by it: docs/mobile-core.md). Any
    /// thread: a background task opens it off the main actor.
    public nonisolated static func openCore(dataDir: URL, fontPath: String?, storeKey: Data?) throws -> PatrolCore {
        do {
            try FileManager.default.createDirectory(
                at: dataDir, withIntermediateDirectories: true,
                attributes: [.protectionKey: FileProtectionType.completeUntilFirstUserAuthentication])
            var dir = dataDir
            var values = URLResourceValues()
            values.isExcludedFromBackup = true
            try dir.setResourceValues(values)
        } catch {
            throw PatrolFailure(kind: .storage, zh: "无法创建数据目录：\(error.localizedDescription)",
                                en: "the data directory cannot be made: \(error.localizedDescription)", field: nil)
        }
        do {
            return try PatrolCore.open(config: CoreConfig(
                dataDir: dataDir.path, deviceId: nil, fontPath: fontPath, photoMaxLongEdge: nil, jpegQuality: nil,
                storeKey: storeKey))
        } catch {
            throw PatrolFailure.from(error)
        }
    }

    /// A read on a background thread.
    public func read<T>(_ body: @escaping (PatrolCore) throws -> T) async throws -> T {
        // The generated records are plain values; the box only tells the compiler so.
        let job = Unchecked(value: body)
        let core = self.core
        do {
            return try await Task.detached(priority: .userInitiated) { Unchecked(value: try job.value(core)) }.value.value
        } catch {
            throw PatrolFailure.from(error)
        }
    }

    /// A write on a background thread; the screens reload afterwards.
    public func write<T>(_ body: @escaping (PatrolCore) throws -> T) async throws -> T {
        defer { revision += 1 }
        return try await read(body)
    }

    public func offset(of siteId: String) -> Int32 { siteOffsets[siteId] ?? 480 }

    public func reloadSites() async {
        if let sites = try? await read({ try $0.sites() }) {
            siteOffsets = Dictionary(uniqueKeysWithValues: sites.map { ($0.id, $0.utcOffsetMinutes) })
        }
    }
}

struct Unchecked<T>: @unchecked Sendable { let value: T }

/// The core's progress callbacks (on the syncing thread) published on the main actor.
public final class ProgressRelay: SyncListener, @unchecked Sendable {
    private let onChange: @Sendable (SyncProgress) -> Void
    public init(_ onChange: @escaping @Sendable (SyncProgress) -> Void) { self.onChange = onChange }
    public func onProgress(progress: SyncProgress) { onChange(progress) }
}

public enum BackgroundOutcome { case done, retryLater, stop }

/// One sync from a background task: network failures retry later; a lost sign-in or an
/// outdated app stop until the person acts. The one rule, the same as Android's
/// `backgroundSync`; the app's BGTask handlers use it with the task's `cancel`.
public func backgroundSync(_ core: PatrolCore, cancel: SyncCancel? = nil) -> BackgroundOutcome {
    do {
        _ = try core.sync(listener: nil, cancel: cancel)
        return .done
    } catch {
        switch PatrolFailure.from(error).kind {
        case .signInAgain, .updateApp: return .stop
        default: return .retryLater
        }
    }
}

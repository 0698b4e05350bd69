// PatrolKit on a Mac or simulator: the bindings load, the core opens, and its typed
// errors arrive as PatrolFailure. The server stories run on the JVM (scripts/kotlin-test)
// with the same core; set PATROL_SERVER_URL and PATROL_PASSWORD to also sign in here.
import XCTest
@testable import PatrolKit

@MainActor
final class PatrolKitTests: XCTestCase {
    private func service() throws -> PatrolService {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("patrolkit-\(UUID().uuidString)")
        return try PatrolService(dataDir: dir, fontPath: nil, storeKey: Data(repeating: 7, count: 32))
    }

    func testAWrongStoreKeyIsRefusedAsWrongStoreKey() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("patrolkit-\(UUID().uuidString)")
        _ = try PatrolService(dataDir: dir, fontPath: nil, storeKey: Data(repeating: 7, count: 32))
        do {
            _ = try PatrolService(dataDir: dir, fontPath: nil, storeKey: Data(repeating: 8, count: 32))
            XCTFail("a wrong key opened the store")
        } catch let f as PatrolFailure {
            XCTAssertEqual(f.kind, .wrongStoreKey, "\(f)")
            XCTAssertTrue(f.zh.contains("密钥"), f.zh)
        }
    }

    func testAFreshPhoneHasNothingQueued() async throws {
        let s = try service()
        let q = try await s.read { try $0.queueStatus() }
        XCTAssertEqual(q.queuedRecords, 0)
        XCTAssertEqual(noticeStateNameZh(state: .acknowledged), "已签收")
    }

    func testNobodySignedInCannotStartARun() async throws {
        let s = try service()
        do {
            _ = try await s.write { try $0.startRun(routeId: "01890000-0000-7000-8000-000000000000") }
            XCTFail("refused")
        } catch let f as PatrolFailure {
            XCTAssertNotEqual(f.kind, .unknown, "\(f)")
        }
    }

    func testAnUnreachableServerIsOffline() async throws {
        let s = try service()
        do {
            _ = try await s.write { try $0.login(serverUrl: "http://127.0.0.1:9", login: "patrol", password: "x") }
            XCTFail("refused")
        } catch let f as PatrolFailure {
            XCTAssertEqual(f.kind, .offline)
            XCTAssertEqual(backgroundSync(s.core), .stop, "not signed in: stop, do not retry")
        }
    }

    func testTagSpellingAndSiteTimeWindows() {
        XCTAssertEqual(nfcSpelling("04:a2:10"), "04A210")
        XCTAssertEqual(nfcSpelling(Data([0x04, 0xA2, 0x10])), "04A210")
        XCTAssertEqual(Formats.window(1_767_225_600_000, 1_767_232_800_000, offsetMinutes: 480), "08:00–10:00")
    }

    func testSignInWhenAServerIsGiven() async throws {
        guard let url = ProcessInfo.processInfo.environment["PATROL_SERVER_URL"],
              let pw = ProcessInfo.processInfo.environment["PATROL_PASSWORD"] else {
            throw XCTSkip("set PATROL_SERVER_URL and PATROL_PASSWORD (login patrol) to run against a demo server")
        }
        let s = try service()
        let person = try await s.write { try $0.login(serverUrl: url, login: "patrol", password: pw) }
        XCTAssertFalse(person.displayName.isEmpty)
        let report = try await s.write { try $0.sync(listener: nil, cancel: nil) }
        XCTAssertTrue(report.referenceUpdated)
    }
}

/// The same table rules as DeepLinkRouterTest (Kotlin), in brief: not run here (no Swift
/// toolchain on the CI machines); `swift test` on a Mac runs it.
final class NoticeLinkTests: XCTestCase {
    func testGoodAndBadLinks() {
        let host = "patrol.jade-garden.cn"
        let id = UUID().uuidString.lowercased()
        for good in ["https://\(host)/notices/\(id)", "https://\(host.uppercased()):443/notices/\(id.uppercased())?from=wecom",
                     "patrol://notice/\(id)", "PATROL://NOTICE/\(id)#x"] {
            XCTAssertEqual(NoticeLink.route(good, hosts: [host]), id, good)
        }
        for bad in ["http://\(host)/notices/\(id)", "https://evil.cn/notices/\(id)", "https://\(host).evil.cn/notices/\(id)",
                    "https://\(host)@evil.cn/notices/\(id)", "https://\(host):8443/notices/\(id)",
                    "https://\(host)/notices/\(id)/", "https://\(host)/notices/\(id)/actions", "https://\(host)/notice/\(id)",
                    "https://\(host)/notices/\(id.dropLast())", "https://\(host)/notices/\(id.replacingOccurrences(of: "-", with: "%2D"))",
                    "patrol://notices/\(id)", "patrol://notice/\(id)/x", "patrol:notice/\(id)", " https://\(host)/notices/\(id)", ""] {
            XCTAssertNil(NoticeLink.route(bad, hosts: [host]), bad)
        }
    }
}
